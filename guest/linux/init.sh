#!/bin/busybox sh
# rondo guest workload: the seed's init script (CPU bursts from /dev/urandom,
# idle sleeps, writes to the virtio-blk disk /dev/vda), made to end by itself and
# reboot, so the VMM sees the guest's reset and exits cleanly.
#
# (The shebang names busybox itself: /bin/sh exists only after --install below.)
# Knobs come from the kernel command line: the kernel hands parameters it does not
# know (and that have no dot in their name) to init as environment variables.
#   rondo_seconds=N   stop starting new rounds after N s of uptime (0: no limit)
#   rondo_loops=N     stop after N rounds (0: no limit)
#   rondo_burst_kb=N  bytes of /dev/urandom per CPU burst, in KiB (seed: 51200)
#   rondo_idle_s=N    sleep after the burst (seed: 2)
#   rondo_io_blocks=N 4 KiB blocks written to /dev/vda per round (seed: 1000)
#   rondo_pause_s=N   sleep after the write (seed: 1)
# Each round writes its blocks after the previous round's (wrapping at the end of
# the disk), so the number of blocks written can be checked on the host.

/bin/busybox mkdir -p /proc /sys /dev /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

seconds=${rondo_seconds:-45}
loops=${rondo_loops:-0}
burst_kb=${rondo_burst_kb:-51200}
idle_s=${rondo_idle_s:-2}
io_blocks=${rondo_io_blocks:-1000}
pause_s=${rondo_pause_s:-1}

uptime_s() { cut -d. -f1 /proc/uptime; }
say() { echo "rondo-guest: $*"; }

disk_blocks=0
if [ -b /dev/vda ]; then
    disk_blocks=$(( $(cat /sys/block/vda/size) / 8 ))
fi
say "start seconds=$seconds loops=$loops burst_kb=$burst_kb io_blocks=$io_blocks disk_blocks=$disk_blocks uptime=$(uptime_s)"
[ "$disk_blocks" -gt 0 ] || say "no /dev/vda: skipping disk writes"

round=0
seek=0
written=0
while :; do
    [ "$loops" -gt 0 ] && [ "$round" -ge "$loops" ] && break
    [ "$seconds" -gt 0 ] && [ "$(uptime_s)" -ge "$seconds" ] && break
    round=$((round + 1))

    dd if=/dev/urandom of=/dev/null bs=1024 count="$burst_kb" 2>/dev/null
    say "round $round burst ${burst_kb}KiB done uptime=$(uptime_s)"
    sleep "$idle_s"

    if [ "$disk_blocks" -gt 0 ] && [ "$io_blocks" -gt 0 ]; then
        n=$io_blocks
        [ "$n" -gt "$disk_blocks" ] && n=$disk_blocks
        [ $((seek + n)) -gt "$disk_blocks" ] && seek=0
        if dd if=/dev/zero of=/dev/vda bs=4096 count="$n" seek="$seek" conv=fsync 2>/dev/null; then
            written=$((written + n))
            say "round $round wrote $n blocks at block $seek total=$written uptime=$(uptime_s)"
        else
            say "round $round write FAILED at block $seek"
        fi
        seek=$((seek + n))
    fi
    sleep "$pause_s"
done

sync
say "done rounds=$round blocks_written=$written uptime=$(uptime_s)"
reboot -f
