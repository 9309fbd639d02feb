// series_index.bin under damage: only the record a crash cut short may be
// dropped (and cut off by a writable open); a file that lost or damaged a
// counted record is refused, and never shortened.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <span>

#include "../../src/crc32c.hpp"

#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
namespace fs = std::filesystem;

namespace {

std::vector<SchemaConfig> schemas() { return {gauge_schema(8)}; }

std::string read_bytes(const fs::path& p) { return read_file(p); }
void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Three series; returns the index's bytes and where each record starts.
std::vector<std::size_t> make_store(const fs::path& dir) {
  auto s = schemas();
  Store store = Store::open(dir, s);
  std::vector<std::size_t> starts;
  for (const char* name : {"alpha", "beta", "gamma"}) {
    starts.push_back(fs::file_size(dir / "series_index.bin"));
    store.record(store.register_series(name), 1, kT0);
  }
  return starts;
}

void expect_refused(const fs::path& dir, const std::string& bytes) {
  auto s = schemas();
  CHECK_THROWS_WITH(Store::open_read_only(dir), Catch::Contains("series_index.bin"));
  CHECK_THROWS_WITH(Store::open(dir, s), Catch::Contains("series_index.bin"));
  CHECK(read_bytes(dir / "series_index.bin") == bytes);  // the writable open cut nothing
}

}  // namespace

TEST_CASE("a series index that lost whole records is refused, not silently shortened", "[index][corruption]") {
  TempDir dir;
  const auto starts = make_store(dir.path());
  const std::string pristine = read_bytes(dir / "series_index.bin");
  SECTION("cut at a record boundary") {
    const std::string cut = pristine.substr(0, starts[2]);
    write_bytes(dir / "series_index.bin", cut);
    expect_refused(dir.path(), cut);
  }
  SECTION("cut inside a counted record") {
    const std::string cut = pristine.substr(0, starts[1] + 5);
    write_bytes(dir / "series_index.bin", cut);
    expect_refused(dir.path(), cut);
  }
  SECTION("a bit flipped in the last record") {
    std::string bytes = pristine;
    bytes[bytes.size() - 2] ^= 0x10;
    write_bytes(dir / "series_index.bin", bytes);
    expect_refused(dir.path(), bytes);
  }
  SECTION("a bit flipped in a length field") {
    std::string bytes = pristine;
    bytes[starts[1] + 1] ^= 0x01;
    write_bytes(dir / "series_index.bin", bytes);
    expect_refused(dir.path(), bytes);
  }
  SECTION("garbage appended after the last record") {
    std::string bytes = pristine + std::string("\x0c\0\0\0garbage-bytes-here", 23);
    write_bytes(dir / "series_index.bin", bytes);
    expect_refused(dir.path(), bytes);
  }
}

TEST_CASE("the record a crash cut short is the only tail dropped, and only it is cut off", "[index][crash]") {
  TempDir dir;
  make_store(dir.path());
  const std::string pristine = read_bytes(dir / "series_index.bin");
  auto s = schemas();
  // What an interrupted register_series("delta") leaves: a prefix of its record.
  std::string next;
  {
    TempDir other;
    make_store(other.path());
    Store store = Store::open(other.path(), s);
    store.register_series("delta");
    const std::string grown = read_bytes(other / "series_index.bin");
    next = grown.substr(pristine.size());
  }
  REQUIRE(next.size() > 8);
  for (const std::string& tail : {next.substr(0, 3), next.substr(0, 10), next.substr(0, next.size() - 1),
                                  std::string(40, '\0')}) {
    write_bytes(dir / "series_index.bin", pristine + tail);
    CHECK(Store::open_read_only(dir.path()).series().size() == 3);
    {
      Store store = Store::open(dir.path(), s);
      CHECK(store.series().size() == 3);
    }
    CHECK(read_bytes(dir / "series_index.bin") == pristine);  // the torn bytes, and nothing else, are gone
  }
}

TEST_CASE("a crash between an appended record and its count keeps the record", "[index][crash]") {
  TempDir dir;
  make_store(dir.path());
  std::string bytes = read_bytes(dir / "series_index.bin");
  // The header as it was before the third append: count 2 (bytes 24..27),
  // CRC-32C over the header with the CRC field (bytes 12..15) zero.
  const std::uint32_t two = 2, zero = 0;
  bytes.replace(24, 4, reinterpret_cast<const char*>(&two), 4);
  bytes.replace(12, 4, reinterpret_cast<const char*>(&zero), 4);
  const std::uint32_t crc = rondo::detail::crc32c(std::as_bytes(std::span(bytes.data(), 32)));
  bytes.replace(12, 4, reinterpret_cast<const char*>(&crc), 4);
  write_bytes(dir / "series_index.bin", bytes);

  CHECK(Store::open_read_only(dir.path()).series().size() == 3);
  auto s = schemas();
  { Store store = Store::open(dir.path(), s); }  // rewrites the count
  const std::string after = read_bytes(dir / "series_index.bin");
  std::uint32_t count = 0;
  std::memcpy(&count, after.data() + 24, 4);
  CHECK(count == 3);
  CHECK(after.size() == bytes.size());
}
