#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the Linux guest
# (cached after the first time), builds everything with AddressSanitizer +
# UBSan (preset `asan`) and runs every test under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
guest/linux/build-guest.sh >/dev/null
cmake --workflow --preset asan
