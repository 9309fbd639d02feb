// The non-blocking FIFO reader (agent/fifo_reader.*).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/files.hpp"
#include "fifo_reader.hpp"

using namespace rondo::agent;

TEST_CASE("a FIFO is read without blocking, split into lines, a line cut across reads joined", "[agent]") {
  rondo::test::TempDir dir("rondo-fifo");
  const auto path = dir.path() / "vm.fifo";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  FifoReader reader(path);  // no writer yet: must not block
  CHECK(reader.pipe_size() == FifoReader::kPipeSize);
  std::vector<std::string> lines;
  auto collect = [&](std::string_view l) { lines.emplace_back(l); };
  CHECK(reader.read_lines(collect) == 0);

  const int writer = ::open(path.c_str(), O_RDWR | O_NONBLOCK);
  REQUIRE(writer >= 0);
  const std::string first = "{\"a\":1}\n{\"b\":";
  REQUIRE(::write(writer, first.data(), first.size()) == static_cast<ssize_t>(first.size()));
  reader.read_lines(collect);
  CHECK(lines == std::vector<std::string>{"{\"a\":1}"});
  CHECK(reader.buffered() == 5);
  const std::string rest = "2}\n\n";
  REQUIRE(::write(writer, rest.data(), rest.size()) == static_cast<ssize_t>(rest.size()));
  reader.read_lines(collect);
  CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", ""});

  // The writer goes away: no EOF, nothing lost, nothing blocks.
  ::close(writer);
  CHECK(reader.read_lines(collect) == 0);
}

TEST_CASE("a line longer than the limit is dropped up to its end and counted", "[agent]") {
  rondo::test::TempDir dir("rondo-fifo");
  const auto path = dir.path() / "vm.fifo";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  FifoReader reader(path);
  const int writer = ::open(path.c_str(), O_RDWR | O_NONBLOCK);
  REQUIRE(writer >= 0);
  std::vector<std::string> lines;
  const std::string chunk(64 * 1024, 'x');
  for (std::size_t written = 0; written <= FifoReader::kMaxLine;) {
    const ssize_t n = ::write(writer, chunk.data(), chunk.size());
    if (n > 0) written += static_cast<std::size_t>(n);
    reader.read_lines([&](std::string_view l) { lines.emplace_back(l); });
  }
  const std::string tail = "xx\nok\n";
  REQUIRE(::write(writer, tail.data(), tail.size()) == static_cast<ssize_t>(tail.size()));
  reader.read_lines([&](std::string_view l) { lines.emplace_back(l); });
  CHECK(lines == std::vector<std::string>{"ok"});
  CHECK(reader.oversized_lines() == 1);
  ::close(writer);
}
