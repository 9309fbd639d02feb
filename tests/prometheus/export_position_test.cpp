// The persisted export position: round trips, corruption, atomic replace, lock.
#include <catch2/catch.hpp>

#include <fstream>

#include "export_position.hpp"
#include "rondo/error.hpp"
#include "common/files.hpp"

using namespace rondo;
using namespace rondo::prometheus::detail;
using rondo::test::read_file;
using rondo::test::TempDir;

namespace {

ExportPosition sample_position() {
  ExportPosition p;
  p.cursor.set_next(0, 1'700'000'000'000'000'000ULL);
  p.cursor.set_next(2, 1'700'000'010'000'000'000ULL);
  p.partial[2] = PartialBucket{1'700'000'010'000'000'000ULL, std::string("m\0x\nkey", 7)};
  p.partial[5] = PartialBucket{1'700'000'020'000'000'000ULL, "other"};
  return p;
}

void write_all(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

ErrorCode error_code_of_load(const std::filesystem::path& file, std::size_t tier) {
  try {
    (void)load_position(file, tier);
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("load_position accepted a bad file");
  return ErrorCode::InvalidArgument;
}

}  // namespace

TEST_CASE("a missing position file means: start from the oldest bucket", "[position]") {
  TempDir dir;
  CHECK_FALSE(load_position(dir / "none.cursor", 0).has_value());
}

TEST_CASE("a saved position loads back equal, partial bucket included", "[position]") {
  TempDir dir;
  const auto file = dir / "p.cursor";
  const ExportPosition saved = sample_position();
  save_position(file, saved, 1, "http://127.0.0.1:9/api/v1/write");
  const auto loaded = load_position(file, 1);
  REQUIRE(loaded.has_value());
  CHECK(*loaded == saved);

  ExportPosition plain;
  plain.cursor.set_next(0, 42);
  save_position(file, plain, 1, "u");
  CHECK(*load_position(file, 1) == plain);
  CHECK_FALSE(std::filesystem::exists(dir / "p.cursor.tmp"));  // renamed into place
}

TEST_CASE("a damaged position file is refused and left untouched", "[position]") {
  TempDir dir;
  const auto file = dir / "p.cursor";
  save_position(file, sample_position(), 0, "u");
  const std::string good = read_file(file);

  SECTION("one changed character fails the checksum") {
    std::string bad = good;
    bad[bad.find("cursor ") + 9] ^= 1;
    write_all(file, bad);
    CHECK(error_code_of_load(file, 0) == ErrorCode::Corrupt);
    CHECK(read_file(file) == bad);
  }
  SECTION("a truncated file") {
    write_all(file, good.substr(0, good.size() / 2));
    CHECK(error_code_of_load(file, 0) == ErrorCode::Corrupt);
  }
  SECTION("something else entirely") {
    write_all(file, "{\"json\": true}\n");
    CHECK(error_code_of_load(file, 0) == ErrorCode::Corrupt);
  }
  SECTION("an empty file") {
    write_all(file, "");
    CHECK(error_code_of_load(file, 0) == ErrorCode::Corrupt);
  }
  SECTION("a position of another tier") {
    CHECK(error_code_of_load(file, 1) == ErrorCode::Corrupt);
    CHECK(read_file(file) == good);
  }
}

TEST_CASE("a stale temp file from a crash does not matter", "[position]") {
  TempDir dir;
  const auto file = dir / "p.cursor";
  save_position(file, sample_position(), 0, "u");
  write_all(dir / "p.cursor.tmp", "half written garb");  // a crash between write and rename
  CHECK(*load_position(file, 0) == sample_position());
  ExportPosition next;
  next.cursor.set_next(0, 7);
  save_position(file, next, 0, "u");
  CHECK(*load_position(file, 0) == next);
}

TEST_CASE("saving into a directory that does not exist is an Io error", "[position]") {
  TempDir dir;
  try {
    save_position(dir / "missing" / "p.cursor", sample_position(), 0, "u");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Io);
    CHECK(std::string(e.what()).find("missing") != std::string::npos);
  }
}

TEST_CASE("only one exporter at a time may own a position file", "[position]") {
  TempDir dir;
  const auto file = dir / "p.cursor";
  {
    PositionLock first(file);
    try {
      PositionLock second(file);
      FAIL("second lock granted");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Busy);
    }
  }
  PositionLock again(file);  // released with the first
}

TEST_CASE("hex and checksum helpers", "[position]") {
  const std::string bytes("\x00\x01\xfe\xff", 4);
  CHECK(to_hex(bytes) == "0001feff");
  CHECK(from_hex("0001feff") == bytes);
  CHECK_FALSE(from_hex("abc").has_value());
  CHECK_FALSE(from_hex("zz").has_value());
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
}

TEST_CASE("the position file's name rule: beside the store, per tier and receiver", "[position]") {
  const auto a = rondo::prometheus::position_file_path("/var/lib/vm7/metrics", "http://a/api/v1/write", 1);
  CHECK(a.parent_path() == "/var/lib/vm7");
  const std::string name = a.filename().string();
  CHECK(name.starts_with("metrics.export-tier1-"));
  CHECK(name.ends_with(".cursor"));
  CHECK(name.size() == std::string("metrics.export-tier1-").size() + 16 + std::string(".cursor").size());
  // A trailing slash names the same store; another tier or url another file.
  CHECK(rondo::prometheus::position_file_path("/var/lib/vm7/metrics/", "http://a/api/v1/write", 1) == a);
  CHECK(rondo::prometheus::position_file_path("/var/lib/vm7/metrics", "http://a/api/v1/write", 0) != a);
  CHECK(rondo::prometheus::position_file_path("/var/lib/vm7/metrics", "http://b/api/v1/write", 1) != a);
}

TEST_CASE("find_position_files lists only this store's position files", "[position]") {
  TempDir dir;
  const auto store = dir / "store";
  std::filesystem::create_directories(store);
  const auto tier1 = rondo::prometheus::position_file_path(store, "http://a/w", 1);
  const auto tier0 = rondo::prometheus::position_file_path(store, "http://b/w", 0);
  save_position(tier1, sample_position(), 1, "http://a/w");
  save_position(tier0, sample_position(), 0, "http://b/w");
  write_all(dir / "store.export-tier1-abc.cursor", "not the rule: 3 hex digits");
  write_all(dir / "other.export-tier1-0123456789abcdef.cursor", "another store's");
  write_all(tier1.string() + ".lock", "");
  const auto found = rondo::prometheus::find_position_files(store);
  CHECK(found == std::vector<std::filesystem::path>{tier0, tier1});
}

TEST_CASE("read_position_file gives tier, url and position, with the same checks as load", "[position]") {
  TempDir dir;
  const auto file = dir / "p.cursor";
  save_position(file, sample_position(), 3, "http://127.0.0.1:9/api/v1/write");
  const auto contents = rondo::prometheus::read_position_file(file);
  CHECK(contents.tier == 3);
  CHECK(contents.url == "http://127.0.0.1:9/api/v1/write");
  CHECK(contents.position == sample_position());

  std::string text = read_file(file);
  text[text.find("tier 3")] = 'T';  // any change fails the checksum
  write_all(file, text);
  CHECK_THROWS_WITH(rondo::prometheus::read_position_file(file), Catch::Contains("fails its checksum"));
  CHECK_THROWS_AS(rondo::prometheus::read_position_file(dir / "none.cursor"), Error);
}
