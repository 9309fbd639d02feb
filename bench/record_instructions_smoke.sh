#!/usr/bin/env bash
# Smoke test of the callgrind driver (docs/benchmarks.md, "Instructions per
# call"): every shape runs under callgrind with the documented options, and
# the collected loop must have cost instructions. A loop function renamed or
# inlined away would leave --toggle-collect matching nothing: 0 instructions,
# and a published count that silently means nothing.
# Usage: record_instructions_smoke.sh <valgrind> <record_instructions> [records]
set -euo pipefail
valgrind=$1
driver=$2
records=${3:-20000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for shape in floor last sum-count-max batch; do
  "$valgrind" --tool=callgrind --toggle-collect='*rondo_bench_loop*' --callgrind-out-file="$out/$shape.out" \
    "$driver" "$shape" "$records" >"$out/$shape.log" 2>&1 || { cat "$out/$shape.log"; exit 1; }
  grep -Eq "^$shape: [0-9]+ calls" "$out/$shape.log" || { echo "$shape: the driver did not finish"; exit 1; }
  # "summary: <Ir>" is the cost collected inside the toggled functions.
  ir=$(awk '/^summary:/ {print $2}' "$out/$shape.out")
  if [[ -z "$ir" || "$ir" -eq 0 ]]; then
    echo "$shape: callgrind collected no instructions (no function matched *rondo_bench_loop*)"
    exit 1
  fi
  awk -v s="$shape" -v ir="$ir" -v n="$records" 'BEGIN {printf "%s: %.1f instructions per call\n", s, ir / n}'
done
