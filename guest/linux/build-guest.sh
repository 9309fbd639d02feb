#!/usr/bin/env bash
# Builds the rondo Linux guest: a bzImage from Debian's linux-source-6.1 package
# (tinyconfig + guest/linux/kernel.config) and a gzip'ed cpio initramfs holding
# busybox-static and guest/linux/init.sh as /init.
#
# Both are cached on the machine and built only when their inputs change:
#   <cache>/kernel/<key>/bzImage            key = config fragment, this script,
#                                           kernel source and gcc versions
#   <cache>/initramfs/<key>/initramfs.cpio.gz  key = init.sh, this script, busybox version
# <cache> is $RONDO_GUEST_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/rondo/guest-linux.
#
# Usage: guest/linux/build-guest.sh [--kernel-only|--initramfs-only] [--print]
#   --print   only print the paths the outputs have (or would have); build nothing
# On success the last two lines of stdout are, in this order:
#   RONDO_GUEST_KERNEL=<path to bzImage>
#   RONDO_GUEST_INITRAMFS=<path to initramfs.cpio.gz>
# so `eval "$(guest/linux/build-guest.sh | tail -n 2)"` sets both. Progress goes to stderr.
# Env: RONDO_GUEST_JOBS (default: nproc), RONDO_GUEST_NICE (default 10).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment="$here/kernel.config"
init_script="$here/init.sh"
self="$here/$(basename "${BASH_SOURCE[0]}")"
source_tarball=/usr/src/linux-source-6.1.tar.xz
busybox_bin=/bin/busybox
cache_root=${RONDO_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rondo/guest-linux}
jobs=${RONDO_GUEST_JOBS:-$(nproc)}
niceness=${RONDO_GUEST_NICE:-10}

want_kernel=1
want_initramfs=1
print_only=0
for arg in "$@"; do
  case "$arg" in
    --kernel-only) want_initramfs=0 ;;
    --initramfs-only) want_kernel=0 ;;
    --print) print_only=1 ;;
    -h|--help) sed -n '2,20p' "$self"; exit 0 ;;
    *) echo "build-guest: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "build-guest: $*" >&2; }
die() { log "error: $*"; exit 1; }

package_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null || die "package $1 is not installed (run scripts/setup.sh)"
}

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

[[ -r "$fragment" && -r "$init_script" ]] || die "missing $fragment or $init_script"
source_version=$(package_version linux-source-6.1)
busybox_version=$(package_version busybox-static)
gcc_version=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)

kernel_key=$(hash_of "$fragment" "$self" <(echo "linux-source-6.1 $source_version gcc $gcc_version"))
initramfs_key=$(hash_of "$init_script" "$self" <(echo "busybox-static $busybox_version"))
kernel_out="$cache_root/kernel/$kernel_key/bzImage"
initramfs_out="$cache_root/initramfs/$initramfs_key/initramfs.cpio.gz"

print_paths() {
  echo "RONDO_GUEST_KERNEL=$kernel_out"
  echo "RONDO_GUEST_INITRAMFS=$initramfs_out"
}
if [[ $print_only -eq 1 ]]; then print_paths; exit 0; fi

mkdir -p "$cache_root"
# One build at a time per cache (two engineers or a build and CI may race).
exec 9>"$cache_root/.lock"
flock 9

# Extracts the Debian kernel source once per source version (about a minute).
kernel_source_dir() {
  local dir="$cache_root/src/linux-source-6.1-$source_version"
  if [[ ! -f "$dir/.extracted" ]]; then
    [[ -r "$source_tarball" ]] || die "$source_tarball not found (apt-get install linux-source-6.1)"
    log "extracting $source_tarball into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    nice -n "$niceness" tar -xJf "$source_tarball" -C "$dir" --strip-components=1
    touch "$dir/.extracted"
  fi
  echo "$dir"
}

# Fails when an option of the fragment did not survive olddefconfig (a missing
# dependency would otherwise silently drop it).
check_config_applied() {
  local config="$1" missing=0 line
  while IFS= read -r line; do
    [[ "$line" =~ ^CONFIG_[A-Za-z0-9_]+= ]] || continue
    grep -qxF "$line" "$config" || { log "option not applied: $line"; missing=1; }
  done <"$fragment"
  [[ $missing -eq 0 ]] || die "the kernel config lacks options from $fragment"
}

build_kernel() {
  if [[ -s "$kernel_out" ]]; then log "kernel cached: $kernel_out"; return; fi
  local src obj started
  src=$(kernel_source_dir)
  obj="$cache_root/work/kernel-$kernel_key"
  started=$(date +%s)
  rm -rf "$obj"
  mkdir -p "$obj"
  local make_args=(-C "$src" O="$obj" ARCH=x86_64)
  log "configuring (tinyconfig + $fragment) in $obj"
  make "${make_args[@]}" tinyconfig >"$obj/build.log" 2>&1 || die "tinyconfig failed, see $obj/build.log"
  (cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$fragment") \
    >>"$obj/build.log" 2>&1 || die "merge_config failed, see $obj/build.log"
  make "${make_args[@]}" olddefconfig >>"$obj/build.log" 2>&1 || die "olddefconfig failed, see $obj/build.log"
  check_config_applied "$obj/.config"
  log "building bzImage with $jobs jobs at nice $niceness (a few minutes; log: $obj/build.log)"
  nice -n "$niceness" make "${make_args[@]}" -j"$jobs" bzImage >>"$obj/build.log" 2>&1 \
    || { tail -n 30 "$obj/build.log" >&2; die "kernel build failed, see $obj/build.log"; }
  mkdir -p "$(dirname "$kernel_out")"
  cp "$obj/.config" "$(dirname "$kernel_out")/config"
  cp "$obj/arch/x86/boot/bzImage" "$kernel_out.tmp"
  mv "$kernel_out.tmp" "$kernel_out"
  rm -rf "$obj"
  log "kernel built in $(( $(date +%s) - started )) s: $kernel_out ($(stat -c %s "$kernel_out") bytes)"
}

build_initramfs() {
  if [[ -s "$initramfs_out" ]]; then log "initramfs cached: $initramfs_out"; return; fi
  [[ -x "$busybox_bin" ]] || die "$busybox_bin not found (apt-get install busybox-static)"
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys"
  cp "$busybox_bin" "$stage/bin/busybox"
  cp "$init_script" "$stage/init"
  chmod 0755 "$stage/init" "$stage/bin/busybox"
  # /dev/console comes from the kernel's built-in initramfs (usr/default_cpio_list),
  # which is unpacked before this one, so no device node is needed here.
  mkdir -p "$(dirname "$initramfs_out")"
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9 -n) \
    >"$initramfs_out.tmp"
  rm -rf "$stage"
  mv "$initramfs_out.tmp" "$initramfs_out"
  log "initramfs built: $initramfs_out ($(stat -c %s "$initramfs_out") bytes)"
}

[[ $want_kernel -eq 1 ]] && build_kernel
[[ $want_initramfs -eq 1 ]] && build_initramfs
print_paths
