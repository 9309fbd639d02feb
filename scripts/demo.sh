#!/usr/bin/env bash
# The main job: boots rondo-demo-vmm (a KVM VMM with an embedded rondo store)
# for a short while, queries it over HTTP while it runs, then looks at the
# store it left behind with the rondo CLI.
#   RONDO_DEMO_HTTP=127.0.0.1:8080  RONDO_DEMO_SECONDS=20  scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The Linux guest (built once, then cached): --guest auto boots it where this
# host's KVM runs 64-bit guests, and the micro guest elsewhere, saying why.
eval "$(guest/linux/build-guest.sh | tail -n 2)"
export RONDO_GUEST_KERNEL RONDO_GUEST_INITRAMFS
cmake --preset release >/dev/null
cmake --build --preset release --target rondo-demo-vmm rondo_cli

http=${RONDO_DEMO_HTTP:-127.0.0.1:8080}
seconds=${RONDO_DEMO_SECONDS:-20}
work=$(mktemp -d /tmp/rondo-demo.XXXXXX)
vmm=build/release/demo-vmm/rondo-demo-vmm
rondo=build/release/cli/rondo

echo "== booting the VM for ${seconds}s (store $work/store, guest console in $work/serial.log)"
echo "   open http://$http/ to watch it live"
"$vmm" --store "$work/store" --disk "$work/disk.img" --http "$http" --duration "$seconds" \
       --serial-log "$work/serial.log" &
vmm_pid=$!
trap 'kill $vmm_pid 2>/dev/null || true' EXIT
sleep $(( seconds / 2 ))

echo; echo "== while it runs: GET /metrics/query (block requests, last minute, per second)"
curl -fsS "http://$http/metrics/query?series=blk_requests_total&range=1m&tier=0&fn=sum"; echo
echo; echo "== GET /metrics (Prometheus text format), first lines"
curl -fsS "http://$http/metrics" | head -n 12

wait $vmm_pid
trap - EXIT
echo; echo "== the guest said:"; tail -n 5 "$work/serial.log"
echo; echo "== rondo info (after the VM is gone)"
"$rondo" info "$work/store"
echo; echo "== rondo query: exits per second by reason"
"$rondo" query "$work/store" 'vcpu_exits_total' --range 1m --tier 0 --fn sum --format table | head -n 40
echo; echo "== rondo query: block request latency, as a chart"
"$rondo" query "$work/store" 'blk_request_duration_ns' --range 1m --tier 0 --fn max --format chart
echo; echo "== rondo query: p99 of exit handling per second (a stored quantile of each bucket)"
"$rondo" query "$work/store" 'vcpu_exit_duration_ns' --range 1m --tier 0 --fn p99 --format table | head -n 20
