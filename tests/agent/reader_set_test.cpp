// The epoll set of FIFOs the agent's loop waits on (agent/reader_set.*).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "common/files.hpp"
#include "reader_set.hpp"

using namespace rondo::agent;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<Vm> fifo_vm(const std::filesystem::path& fifo) {
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto vm = std::make_shared<Vm>();
  vm->id = fifo.stem().string();
  vm->reader = std::make_unique<FifoReader>(fifo);
  return vm;
}

void write_to(const std::filesystem::path& fifo, const std::string& text) {
  std::ofstream out(fifo);  // a second writer beside the reader's own O_RDWR
  out << text;
}

bool has(const ReaderSet::Ready& ready, const std::shared_ptr<Vm>& vm) {
  for (const auto& v : ready.vms) {
    if (v == vm) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the reader set reports the FIFOs that have data, and follows readers that come and go", "[agent]") {
  rondo::test::TempDir dir("rondo-reader-set");
  std::map<std::string, std::shared_ptr<Vm>> vms;
  vms["a"] = fifo_vm(dir / "a.fifo");
  vms["b"] = fifo_vm(dir / "b.fifo");
  ReaderSet set;
  set.sync(vms);
  CHECK(set.wait(0ms).vms.empty());

  write_to(dir / "b.fifo", "x\n");
  ReaderSet::Ready ready = set.wait(1000ms);
  CHECK(ready.vms.size() == 1);
  CHECK(has(ready, vms["b"]));
  vms["b"]->reader->read_lines([](std::string_view) {});
  CHECK(set.wait(0ms).vms.empty());

  // a's reader closes and c's opens, likely on the very fd number a had: c is watched, a is not.
  vms["a"]->reader.reset();
  vms["c"] = fifo_vm(dir / "c.fifo");
  set.sync(vms);
  write_to(dir / "c.fifo", "y\n");
  ready = set.wait(1000ms);
  CHECK(ready.vms.size() == 1);
  CHECK(has(ready, vms["c"]));
}

TEST_CASE("the reader set counts a file epoll refuses as always ready, and reports its extra descriptor", "[agent]") {
  rondo::test::TempDir dir("rondo-reader-set");
  std::ofstream(dir / "plain.fifo") << "{}\n";  // a regular file where a FIFO was expected
  std::map<std::string, std::shared_ptr<Vm>> vms;
  auto vm = std::make_shared<Vm>();
  vm->reader = std::make_unique<FifoReader>(dir / "plain.fifo");
  vms["plain"] = vm;
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  ReaderSet set;
  set.add_watch(pipe_fds[0]);
  set.sync(vms);
  ReaderSet::Ready ready = set.wait(1000ms);
  CHECK(has(ready, vm));
  CHECK_FALSE(ready.watch);
  REQUIRE(::write(pipe_fds[1], "e", 1) == 1);
  ready = set.wait(1000ms);
  CHECK(ready.watch);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}
