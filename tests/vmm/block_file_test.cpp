// BlockFile: creation, size rules, and positional scatter/gather I/O.
#include "block_file.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <string>

#include "test_support.hpp"
#include "vmm_error.hpp"

using rondo::vmm::BlockFile;
using rondo::vmm::VmmError;
using rondo::vmm::testing::TempDir;

TEST_CASE("BlockFile creates a missing file at the requested size", "[vmm][block_file]") {
  TempDir dir;
  const BlockFile f = BlockFile::open(dir / "disk.img", 8192);
  CHECK(f.size() == 8192);
  CHECK(std::filesystem::file_size(dir / "disk.img") == 8192);
  // Reopening keeps the existing size, whatever size is asked for.
  CHECK(BlockFile::open(dir / "disk.img", 4096).size() == 8192);
}

TEST_CASE("BlockFile refuses what cannot be a disk", "[vmm][block_file]") {
  TempDir dir;
  CHECK_THROWS_AS(BlockFile::open(dir / "missing.img"), VmmError);
  CHECK_THROWS_WITH(BlockFile::open(dir / "odd.img", 1000), Catch::Contains("multiple of 512"));
  std::ofstream(dir / "short.img") << "abc";
  CHECK_THROWS_WITH(BlockFile::open(dir / "short.img"), Catch::Contains("not a positive multiple"));
  CHECK_THROWS_WITH(BlockFile::open("/dev/null"), Catch::Contains("not a regular file"));
  CHECK_THROWS_AS(BlockFile::open(dir.path()), VmmError);
}

TEST_CASE("BlockFile writes and reads across several buffers", "[vmm][block_file]") {
  TempDir dir;
  const BlockFile f = BlockFile::open(dir / "disk.img", 4096);
  char a[3] = {'a', 'b', 'c'}, b[5] = {'d', 'e', 'f', 'g', 'h'};
  iovec out[2] = {{a, 3}, {b, 5}};
  REQUIRE(f.write_at(out, 1000) == 0);
  char x[4] = {}, y[4] = {};
  iovec in[2] = {{x, 4}, {y, 4}};
  REQUIRE(f.read_at(in, 1000) == 0);
  CHECK(std::string(x, 4) == "abcd");
  CHECK(std::string(y, 4) == "efgh");
  CHECK(f.sync() == 0);
}

TEST_CASE("BlockFile reads zeros past the end of a file that shrank", "[vmm][block_file]") {
  TempDir dir;
  const BlockFile f = BlockFile::open(dir / "disk.img", 4096);
  std::filesystem::resize_file(dir / "disk.img", 512);
  char buf[1024];
  std::memset(buf, 'x', sizeof buf);
  iovec in[1] = {{buf, sizeof buf}};
  REQUIRE(f.read_at(in, 0) == 0);
  CHECK(buf[0] == 0);
  CHECK(buf[1023] == 0);
}
