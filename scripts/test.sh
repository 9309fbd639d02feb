#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the Linux guest
# (cached after the first time), builds everything with AddressSanitizer +
# UBSan (preset `asan`) and runs every test under ctest. Compiles go
# through ccache (~/.cache/ccache), so a second run, in any clone, rebuilds
# only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
guest/linux/build-guest.sh >/dev/null
export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true  # hits across clones at other paths
cmake --workflow --preset asan
