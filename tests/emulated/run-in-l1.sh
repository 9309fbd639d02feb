#!/usr/bin/env bash
# Runs a command inside an emulated host ("L1") that has a working /dev/kvm.
#
# Why: this project's machines have a /dev/kvm that cannot boot Linux guests
# (see docs/linux-guest.md). QEMU's software emulator (TCG) emulates AMD SVM,
# so a Debian kernel booted under it can load kvm-amd with nested=1 and offer a
# /dev/kvm with hardware semantics. This script packs an initramfs with BusyBox,
# the KVM modules, the given programs (with the shared libraries ldd lists) and
# files, boots it with `qemu-system-x86_64 -accel tcg -cpu max`, runs the command
# with `sh -c` in /work, prints everything on the serial console and powers off.
#
# Usage: tests/emulated/run-in-l1.sh [options] -- 'shell command'
#   --bin PATH          program to put on L1's PATH (/usr/local/bin), with its libraries (repeatable);
#                       copied without debug info (strip --strip-debug): nothing in L1 can read
#                       it, and it would make the initramfs several times larger. Sanitizer
#                       reports show binary+offset; symbolize them against PATH on the host.
#   --file PATH[:NAME]  file to put in L1's /work as NAME (default: its base name) (repeatable)
#   --timeout SECONDS   give up on QEMU after this many seconds (default 600)
#   --memory MIB        L1 RAM (default 2048)
#   --smp N             L1 vCPUs (default 1)
#   --log FILE          also write the console to FILE (default: a temp file, printed path)
#   --l1-kernel PATH    L1 kernel (default: newest /boot/vmlinuz-*; modules from /lib/modules/<its version>)
# Output: the L1 console on stdout, then "run-in-l1: ..." summary lines on stderr.
# Exit status: the command's exit status inside L1; 124 on timeout; 125 when L1
# could not be set up (no KVM in L1, missing packages, ...).
set -euo pipefail

bins=()
files=()
timeout_s=600
memory_mib=2048
smp=1
log=""
l1_kernel=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bins+=("$2"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --memory) memory_mib="$2"; shift 2 ;;
    --smp) smp="$2"; shift 2 ;;
    --log) log="$2"; shift 2 ;;
    --l1-kernel) l1_kernel="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "run-in-l1: unknown option '$1' (see --help)" >&2; exit 125 ;;
  esac
done
[[ $# -ge 1 ]] || { echo "run-in-l1: no command given (see --help)" >&2; exit 125; }
command_text="$*"

say() { echo "run-in-l1: $*" >&2; }
die() { say "error: $*"; exit 125; }

for tool in qemu-system-x86_64 cpio gzip strip /bin/busybox; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs qemu-system-x86, cpio, busybox-static)"
done
if [[ -z "$l1_kernel" ]]; then
  l1_kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
fi
[[ -r "$l1_kernel" ]] || die "no readable L1 kernel (/boot/vmlinuz-*; package linux-image-amd64)"
l1_version=${l1_kernel##*/vmlinuz-}
module_dir=/lib/modules/$l1_version/kernel
[[ -d "$module_dir" ]] || die "no modules for $l1_version in $module_dir"

work=$(mktemp -d)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,dev,proc,sys,tmp,work,lib/rondo-l1}
cp /bin/busybox "$root/bin/busybox"

# KVM for AMD, in load order; modules may ship compressed.
modules=(virt/lib/irqbypass arch/x86/kvm/kvm drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd)
for m in "${modules[@]}"; do
  name=$(basename "$m")
  if [[ -r "$module_dir/$m.ko" ]]; then cp "$module_dir/$m.ko" "$root/lib/rondo-l1/$name.ko"
  elif [[ -r "$module_dir/$m.ko.xz" ]]; then xz -dc "$module_dir/$m.ko.xz" >"$root/lib/rondo-l1/$name.ko"
  elif [[ -r "$module_dir/$m.ko.zst" ]]; then zstd -qdc "$module_dir/$m.ko.zst" >"$root/lib/rondo-l1/$name.ko"
  elif [[ -r "$module_dir/$m.ko.gz" ]]; then gzip -dc "$module_dir/$m.ko.gz" >"$root/lib/rondo-l1/$name.ko"
  else die "module $m not found under $module_dir"
  fi
done

# Programs and the shared libraries they need, at the same paths as here.
copy_with_parents() { mkdir -p "$root$(dirname "$1")"; cp -L "$1" "$root$1"; }
for bin in "${bins[@]}"; do
  [[ -x "$bin" ]] || die "--bin $bin is not an executable file"
  strip --strip-debug -o "$root/usr/local/bin/$(basename "$bin")" "$bin" \
    || die "cannot copy $bin without its debug info (strip, from binutils)"
  if ldd_out=$(ldd "$bin" 2>/dev/null); then
    while read -r lib; do
      [[ -n "$lib" && ! -e "$root$lib" ]] && copy_with_parents "$lib"
    done < <(echo "$ldd_out" | grep -oE '/[^ ]+' | sort -u)
  fi
done
for spec in "${files[@]}"; do
  src=${spec%%:*}
  name=$(basename "$src")
  [[ "$spec" == *:* ]] && name=${spec#*:}
  [[ -r "$src" ]] || die "--file $src is not readable"
  mkdir -p "$(dirname "$root/work/$name")"
  cp -L "$src" "$root/work/$name"
done
printf '%s\n' "$command_text" >"$root/lib/rondo-l1/command"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
up() { cut -d' ' -f1 /proc/uptime; }
echo "rondo-l1: booted, uptime $(up) s"
insmod /lib/rondo-l1/irqbypass.ko && insmod /lib/rondo-l1/kvm.ko && insmod /lib/rondo-l1/ccp.ko &&
  insmod /lib/rondo-l1/kvm-amd.ko nested=1
if [ ! -c /dev/kvm ]; then
  echo "rondo-l1: SETUP FAILED: no /dev/kvm after loading kvm-amd (does QEMU emulate SVM? -cpu max)"
  poweroff -f
fi
echo "rondo-l1: /dev/kvm ready (kvm_amd nested=$(cat /sys/module/kvm_amd/parameters/nested)), uptime $(up) s"
cd /work
start=$(up)
echo "rondo-l1: running: $(cat /lib/rondo-l1/command)"
sh -c "$(cat /lib/rondo-l1/command)"
status=$?
echo "rondo-l1: command exit status $status after $(echo "$(up) $start" | awk '{printf "%.2f", $1 - $2}') s"
sync
poweroff -f
EOF
chmod 0755 "$root/init" "$root/bin/busybox"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -1) >"$work/initramfs.gz"
say "L1 kernel $l1_kernel, initramfs $(( $(stat -c %s "$work/initramfs.gz") / 1024 )) KiB; booting under TCG"

[[ -n "$log" ]] || log=$(mktemp --suffix=.l1-console.log)
started=$(date +%s.%N)
set +e
timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -smp "$smp" -m "$memory_mib" \
  -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
  -kernel "$l1_kernel" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 reboot=t panic=-1 quiet rdinit=/init" </dev/null | tee "$log"
statuses=("${PIPESTATUS[@]}")
set -e
elapsed=$(echo "$(date +%s.%N) $started" | awk '{printf "%.1f", $1 - $2}')
qemu_status=${statuses[0]}
say "QEMU exited with status $qemu_status after $elapsed s; console log: $log"
if [[ $qemu_status -eq 124 ]]; then say "error: timed out after $timeout_s s"; exit 124; fi
if grep -q 'rondo-l1: SETUP FAILED' "$log"; then die "L1 had no /dev/kvm"; fi
status_line=$(grep -a 'rondo-l1: command exit status' "$log" | tail -n 1 | tr -d '\r')
[[ -n "$status_line" ]] || die "L1 never reported the command's exit status (crash? see $log)"
status=$(echo "$status_line" | sed -E 's/.*exit status ([0-9]+).*/\1/')
say "command exit status $status"
exit "$status"
