# Every external dependency, all from Debian packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(simdjson 3 REQUIRED)  # the agent's Firecracker lines (docs/benchmarks.md: parser chosen on measurement)
find_package(CLI11 REQUIRED)
find_package(CURL REQUIRED)
find_package(Protobuf REQUIRED)
find_package(Snappy REQUIRED)
find_package(Catch2 2 REQUIRED)
# prometheus-cpp: the conventional alternative that the benchmarks and the demo
# VMM's `--metrics prometheus-cpp` measure rondo against (the library never uses it).
find_package(prometheus-cpp CONFIG REQUIRED)
if(RONDO_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# RE2: the regex engine of PromQL's =~ (linear time, no recursion: hostile patterns cannot
# overflow the stack).
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
