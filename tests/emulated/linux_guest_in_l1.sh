#!/bin/sh
# Runs inside the emulated host (L1) for the Linux-guest harness
# (linux_guest_in_l1_test.cpp, through run-in-l1.sh): boots the Linux guest with the
# real rondo-demo-vmm, then looks at what it left behind, printing everything
# between "rondo-harness: begin NAME" and "rondo-harness: end NAME status=S"
# lines (the end line also gives L1's uptime, for the timings), which the host
# side parses:
#   vmm           the guest's serial console and the VMM's log
#   disk-scan     zero/fill blocks of the disk image (rondo-disk-scan)
#   info-json     rondo info --json
#   exits-json    vcpu_exits_total, tier 0, per second (json)
#   uptime-json   vmm_uptime_seconds, tier 0, per second (json)
#   blk-csv       blk_requests_total and blk_request_errors_total (csv)
#   bytes-csv     blk_bytes_total (csv)
# Usage, in L1's /work (busybox sh): sh linux_guest_in_l1.sh SECONDS BURST_KB IO_BLOCKS FILL_BYTE
set -u
seconds=$1
burst_kb=$2
io_blocks=$3
fill=$4

# L1's own kernel messages would land in the middle of the output parsed on the host.
dmesg -n 1
set -o pipefail

mark() { echo "rondo-harness: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# section NAME COMMAND...: the command's output between the two markers.
section() {
  name=$1
  shift
  mark "begin $name"
  "$@"
  mark "end $name status=$? uptime=$(uptime_s)"
}

mark "start uptime=$(uptime_s)"

# stderr through the pipe too: one stream, in order, and no colours (not a tty).
# The guest stops itself after ~20 s; --duration only bounds a run that hangs.
mark "begin vmm"
rondo-demo-vmm --guest linux --kernel bzImage --initrd initramfs.cpio.gz \
  --store store --disk disk.img --http off --duration 90 \
  --guest-seconds "$seconds" --guest-burst-kb "$burst_kb" --guest-io-blocks "$io_blocks" 2>&1 | cat
mark "end vmm status=$? uptime=$(uptime_s)"

section disk-scan rondo-disk-scan disk.img "$fill"
section info-json rondo info store --json
section exits-json rondo query store vcpu_exits_total --tier 0 --fn sum --range 10m --format json
section uptime-json rondo query store vmm_uptime_seconds --tier 0 --fn last --range 10m --format json
section blk-csv rondo query store '{__name__=~"blk_requests_total|blk_request_errors_total"}' \
  --tier 0 --fn sum --range 10m --format csv
section bytes-csv rondo query store blk_bytes_total --tier 0 --fn sum --range 10m --format csv
