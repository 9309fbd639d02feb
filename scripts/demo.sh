#!/usr/bin/env bash
# The main job: builds rondo (release) and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target record_and_query
store=$(mktemp -d)/store
./build/release/examples/record_and_query "$store"
