#!/usr/bin/env bash
# Installs every Debian package rondo needs, and nothing when they are already there.
# Usage: scripts/setup.sh            (everything: build, tests, demo, guest, benchmarks)
# Safe to run again and again; uses sudo only when not root.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ccache
  # libraries (the design card)
  libfmt-dev libspdlog-dev catch2 libbenchmark-dev libcli11-dev nlohmann-json3-dev
  libcpp-httplib-dev libcurl4-openssl-dev libprotobuf-dev protobuf-compiler libsnappy-dev
  libsimdjson-dev  # the agent's Firecracker lines: a sixth of nlohmann's parse time (docs/benchmarks.md)
  libre2-dev  # the =~ regex engine, Prometheus' own syntax (linear time, no recursion)
  # alternatives measured by the benchmarks
  prometheus-cpp-dev
  prometheus-node-exporter  # the conventional stack's host exporter in bench/fleet/run (Benchmark B)
  gnuplot-nox  # bench/fleet/plot draws docs/*.png from the fleet harnesses' JSON
  valgrind  # bench/record_instructions under callgrind (docs/benchmarks.md) and its smoke test
  # the Rust bindings (bindings/rust/): Debian's cargo/rustc 1.63, offline, no crates
  cargo
  # real servers for the integration tests
  prometheus victoria-metrics curl
  # browser test of the demo page
  chromium
  libpng-dev  # tests/vmm/web_page_test.cpp reads the page's screenshot
  # Linux guest build and its verification under emulation
  linux-source-6.1 bc flex bison libelf-dev libssl-dev cpio xz-utils busybox-static
  qemu-system-x86 linux-image-amd64
  strace  # tests/core/file_test.cpp checks the fsync/rename order of the real system calls
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
