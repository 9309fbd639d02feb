#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds everything with
# AddressSanitizer + UBSan (preset `asan`) and runs every test under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --workflow --preset asan
