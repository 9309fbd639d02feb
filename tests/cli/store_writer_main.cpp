// rondo_test_store_writer: writes a fixture store (fixture_store.hpp) from a
// separate process, so tests can run `rondo` against a store that another
// process is writing at that moment.
//
//   rondo_test_store_writer <dir> <seconds> [<ms per simulated second>]
//
// Prints "ready" once the first second is written, then keeps writing (and
// consolidating) one simulated second every <ms> milliseconds; prints
// "done" and exits after <seconds> seconds of data.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <thread>

#include "fixture_store.hpp"

namespace {

bool parse(std::string_view text, std::uint64_t& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seconds = 0, pace_ms = 0;
  if (argc < 3 || !parse(argv[2], seconds) || (argc > 3 && !parse(argv[3], pace_ms))) {
    std::fprintf(stderr, "usage: rondo_test_store_writer <dir> <seconds> [<ms per simulated second>]\n");
    return 2;
  }
  try {
    rondo::test::FixtureWriter writer(argv[1], 2);
    for (std::uint64_t k = 0; k < seconds; ++k) {
      writer.write_second(k);
      writer.store().consolidate();
      if (k == 0) {
        std::puts("ready");
        std::fflush(stdout);
      }
      if (pace_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pace_ms));
    }
    writer.store().flush();
    std::puts("done");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rondo_test_store_writer: %s\n", e.what());
    return 1;
  }
  return 0;
}
