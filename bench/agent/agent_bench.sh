#!/usr/bin/env bash
# rondo-agent's cost at N Firecracker VMs flushing every second: CPU (% of
# one core, from /proc/<pid>/stat) and RSS (anonymous = beside the mapped
# stores, and total) of the agent process, measured over a window after a
# warm-up. The VMs are tests/agent's Firecracker emulator processes (the
# real field set, one drive, one NIC, ~7 KB lines); the agent sends each
# FlushMetrics every 1 s over its API socket, reads the FIFO, parses and
# records every field. No export (a remote-write pass every 30 s of the
# 5 min tier is negligible beside this).
#
#   bench/agent/agent_bench.sh BUILD_DIR [N...]      e.g. build/release 50 100 200
# Prints one Markdown table row per N. Needs ~22 MB of disk per VM in $TMPDIR.
set -euo pipefail
build=${1:?build dir}; shift
counts=("${@:-50 100 200}")
agent=${AGENT:-$build/agent/rondo-agent}  # AGENT=path: another build of it (before/after)
emulator=$build/tests/agent/rondo-firecracker-emulator
warmup=${WARMUP:-15}
window=${WINDOW:-30}
hz=$(getconf CLK_TCK)

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

echo "| VMs | agent CPU (% of one core) | RSS anon (MB) | RSS total (MB) | lines/s | parse failures |"
echo "| --- | --- | --- | --- | --- | --- |"
for n in ${counts[@]}; do
  dir=$(mktemp -d "${TMPDIR:-/tmp}/rondo-agent-bench.XXXXXX")
  mkdir -p "$dir/fc"
  port=$((20000 + RANDOM % 20000))
  "$agent" --store-dir "$dir/stores" --firecracker-dir "$dir/fc" --flush-interval 1s \
           --http "127.0.0.1:$port" > "$dir/agent.log" 2>&1 &
  agent_pid=$!
  pids=()
  for i in $(seq 1 "$n"); do
    mkfifo "$dir/fc/vm-$i.fifo"
    "$emulator" --fifo "$dir/fc/vm-$i.fifo" --socket "$dir/fc/vm-$i.sock" --totals "$dir/vm-$i.json" \
                --lines 1000000 --seed "$i" > /dev/null 2>&1 &
    pids+=($!)
  done
  sleep "$warmup"
  lines0=$(curl -s "127.0.0.1:$port/metrics" | awk '/^rondo_agent_lines_total/ { s += $2 } END { print s + 0 }')
  t0=$(ticks "$agent_pid"); s0=$(date +%s.%N)
  sleep "$window"
  t1=$(ticks "$agent_pid"); s1=$(date +%s.%N)
  lines1=$(curl -s "127.0.0.1:$port/metrics" | awk '/^rondo_agent_lines_total/ { s += $2 } END { print s + 0 }')
  failures=$(curl -s "127.0.0.1:$port/metrics" | awk '/^rondo_agent_parse_failures_total/ { s += $2 } END { print s + 0 }')
  anon=$(kb "$agent_pid" RssAnon); total=$(kb "$agent_pid" VmRSS)
  awk -v n="$n" -v dt="$(echo "$s1 - $s0" | bc)" -v dticks="$((t1 - t0))" -v hz="$hz" \
      -v anon="$anon" -v total="$total" -v lines="$((lines1 - lines0))" -v f="$failures" \
      'BEGIN { printf "| %d | %.2f | %.1f | %.1f | %.0f | %d |\n", n, 100 * dticks / hz / dt, anon / 1024, total / 1024, lines / dt, f }'
  kill "${pids[@]}" 2> /dev/null || true
  wait "${pids[@]}" 2> /dev/null || true
  kill "$agent_pid"; wait "$agent_pid" 2> /dev/null || true
  rm -rf "$dir"
done
