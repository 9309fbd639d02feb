// VirtioBlk over a real file: requests laid out in guest memory the way a
// driver does, well-formed and hostile.
#include "virtio_blk.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "virtq_driver.hpp"

namespace {

using namespace rondo::vmm;
using testing::kDescNext;
using testing::kDescWrite;
using testing::TempDir;
using testing::VirtqDriver;

constexpr std::uint64_t kHeader = 0x80000, kData = 0x90000, kStatus = 0xa0000;
constexpr std::uint64_t kDiskBytes = 64 * 512;

struct Observed : BlkObserver {
  std::vector<BlkRequest> requests;
  std::vector<std::uint32_t> depths;
  void on_notify(std::uint32_t depth, std::uint64_t) noexcept override { depths.push_back(depth); }
  void on_request(const BlkRequest& r) noexcept override { requests.push_back(r); }
};

struct Fixture {
  TempDir dir;
  GuestMemory mem = GuestMemory::allocate(2 << 20);
  Observed observed;
  VirtioBlk blk{mem, BlockFile::open(dir / "disk.img", kDiskBytes), "test-disk-id", &observed};
  VirtqDriver driver{mem, 64};
  Virtqueue queue{mem, VirtioBlk::kQueueSize};
  std::uint16_t next_used = 0;

  Fixture() {
    driver.configure(queue);
    REQUIRE(queue.activate());
  }
  void header(std::uint32_t type, std::uint64_t sector) const {
    mem.write_obj<std::uint32_t>(kHeader, type);
    mem.write_obj<std::uint32_t>(kHeader + 4, 0);
    mem.write_obj<std::uint64_t>(kHeader + 8, sector);
    mem.write_obj<std::uint8_t>(kStatus, 0xee);  // not a status: shows whether it was written
  }
  // header(16) -> data(len, direction by type) -> status(1), as Linux sends them.
  void request(std::uint32_t type, std::uint64_t sector, std::uint32_t len) {
    header(type, sector);
    const std::uint16_t data_flags = kDescNext | (type == VIRTIO_BLK_T_OUT ? 0 : kDescWrite);
    driver.set_desc(0, kHeader, 16, kDescNext, 1);
    driver.set_desc(1, kData, len, data_flags, 2);
    driver.set_desc(2, kStatus, 1, kDescWrite);
    driver.publish(0);
  }
  std::uint32_t run() {
    CHECK(blk.process_queue(0, queue));
    REQUIRE(driver.used_idx() == static_cast<std::uint16_t>(next_used + 1));
    return driver.used_len(next_used++);
  }
  std::uint8_t status() const { return *mem.read_obj<std::uint8_t>(kStatus); }
};

}  // namespace

TEST_CASE("VirtioBlk writes to the file and reads it back", "[vmm][virtio_blk]") {
  Fixture f;
  std::vector<std::uint8_t> pattern(1024);
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<std::uint8_t>(i * 3);
  f.mem.write(kData, pattern);
  f.request(VIRTIO_BLK_T_OUT, 4, 1024);
  CHECK(f.run() == 1);  // nothing written to the guest but the status
  CHECK(f.status() == VIRTIO_BLK_S_OK);

  const std::string file = testing::read_file(f.dir / "disk.img");
  REQUIRE(file.size() == kDiskBytes);
  CHECK(std::memcmp(file.data() + 4 * 512, pattern.data(), pattern.size()) == 0);

  std::vector<std::uint8_t> zeros(1024, 0);
  f.mem.write(kData, zeros);
  f.request(VIRTIO_BLK_T_IN, 4, 1024);
  CHECK(f.run() == 1025);
  CHECK(f.status() == VIRTIO_BLK_S_OK);
  std::vector<std::uint8_t> back(1024);
  f.mem.read(kData, back);
  CHECK(back == pattern);

  const auto& c = f.blk.counters();
  CHECK(c.requests[static_cast<int>(BlkOp::Write)] == 1);
  CHECK(c.requests[static_cast<int>(BlkOp::Read)] == 1);
  CHECK(c.bytes_written == 1024);
  CHECK(c.bytes_read == 1024);
  REQUIRE(f.observed.requests.size() == 2);
  CHECK(f.observed.requests[0].op == BlkOp::Write);
  CHECK(f.observed.requests[0].bytes == 1024);
  CHECK(f.observed.requests[0].end_ns >= f.observed.requests[0].start_ns);
  CHECK(f.observed.depths == std::vector<std::uint32_t>{1, 1});
}

TEST_CASE("VirtioBlk answers flush and get-id", "[vmm][virtio_blk]") {
  Fixture f;
  f.header(VIRTIO_BLK_T_FLUSH, 0);
  f.driver.set_desc(0, kHeader, 16, kDescNext, 2);
  f.driver.set_desc(2, kStatus, 1, kDescWrite);
  f.driver.publish(0);
  CHECK(f.run() == 1);
  CHECK(f.status() == VIRTIO_BLK_S_OK);

  f.request(VIRTIO_BLK_T_GET_ID, 0, 20);
  CHECK(f.run() == 21);
  char id[21] = {};
  f.mem.read(kData, std::span(reinterpret_cast<std::uint8_t*>(id), 20));
  CHECK(std::string(id) == "test-disk-id");
  CHECK(f.blk.counters().requests[static_cast<int>(BlkOp::Flush)] == 1);
  CHECK(f.blk.counters().requests[static_cast<int>(BlkOp::GetId)] == 1);
}

TEST_CASE("VirtioBlk refuses sectors past the end and partial sectors with IOERR",
          "[vmm][virtio_blk]") {
  Fixture f;
  SECTION("last sector + 1") { f.request(VIRTIO_BLK_T_IN, kDiskBytes / 512, 512); }
  SECTION("straddles the end") { f.request(VIRTIO_BLK_T_OUT, kDiskBytes / 512 - 1, 1024); }
  SECTION("sector number that overflows") { f.request(VIRTIO_BLK_T_OUT, UINT64_MAX / 256, 512); }
  SECTION("not a multiple of 512") { f.request(VIRTIO_BLK_T_OUT, 0, 100); }
  CHECK(f.run() == 1);
  CHECK(f.status() == VIRTIO_BLK_S_IOERR);
  CHECK(f.blk.counters().ioerr == 1);
  REQUIRE(f.observed.requests.size() == 1);
  CHECK(f.observed.requests[0].status == BlkStatus::IoErr);
  CHECK(testing::read_file(f.dir / "disk.img") == std::string(kDiskBytes, '\0'));
}

TEST_CASE("VirtioBlk answers unknown request types with UNSUPP", "[vmm][virtio_blk]") {
  Fixture f;
  f.request(11 /* DISCARD, not offered */, 0, 512);
  CHECK(f.run() == 1);
  CHECK(f.status() == VIRTIO_BLK_S_UNSUPP);
  CHECK(f.blk.counters().unsupp == 1);
}

TEST_CASE("VirtioBlk returns malformed chains without touching memory", "[vmm][virtio_blk]") {
  Fixture f;
  f.header(VIRTIO_BLK_T_IN, 0);
  SECTION("no writable byte for the status") {
    f.driver.set_desc(0, kHeader, 16, kDescNext, 1);
    f.driver.set_desc(1, kData, 512, 0);
  }
  SECTION("data buffer outside guest memory") {
    f.driver.set_desc(0, kHeader, 16, kDescNext, 1);
    f.driver.set_desc(1, (2 << 20) - 256, 512, kDescNext | kDescWrite, 2);
    f.driver.set_desc(2, kStatus, 1, kDescWrite);
  }
  SECTION("a loop") {
    f.driver.set_desc(0, kHeader, 16, kDescNext, 1);
    f.driver.set_desc(1, kData, 512, kDescNext | kDescWrite, 1);
  }
  f.driver.publish(0);
  CHECK(f.run() == 0);
  CHECK(f.status() == 0xee);
  CHECK(f.blk.counters().malformed == 1);
  CHECK(f.blk.counters().ioerr == 1);
}

TEST_CASE("VirtioBlk header shorter than 16 bytes is an IOERR", "[vmm][virtio_blk]") {
  Fixture f;
  f.header(VIRTIO_BLK_T_OUT, 0);
  f.driver.set_desc(0, kHeader, 8, kDescNext, 2);
  f.driver.set_desc(2, kStatus, 1, kDescWrite);
  f.driver.publish(0);
  CHECK(f.run() == 1);
  CHECK(f.status() == VIRTIO_BLK_S_IOERR);
}

TEST_CASE("VirtioBlk accepts any split of header and data into descriptors", "[vmm][virtio_blk]") {
  Fixture f;
  std::vector<std::uint8_t> pattern(1024);
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<std::uint8_t>(255 - i);
  f.header(VIRTIO_BLK_T_OUT, 2);
  f.mem.write(kData, pattern);
  // header split 10 + 6, data in three pieces of 100, 412 and 512 bytes
  f.driver.set_desc(7, kHeader, 10, kDescNext, 3);
  f.driver.set_desc(3, kHeader + 10, 6, kDescNext, 4);
  f.driver.set_desc(4, kData, 100, kDescNext, 5);
  f.driver.set_desc(5, kData + 100, 412, kDescNext, 6);
  f.driver.set_desc(6, kData + 512, 512, kDescNext, 8);
  f.driver.set_desc(8, kStatus, 1, kDescWrite);
  f.driver.publish(7);
  CHECK(f.run() == 1);
  CHECK(f.status() == VIRTIO_BLK_S_OK);
  CHECK(f.driver.used_id(0) == 7);
  const std::string file = testing::read_file(f.dir / "disk.img");
  CHECK(std::memcmp(file.data() + 2 * 512, pattern.data(), pattern.size()) == 0);
}

TEST_CASE("VirtioBlk processes a batch and reports the queue depth", "[vmm][virtio_blk]") {
  Fixture f;
  f.header(VIRTIO_BLK_T_FLUSH, 0);
  for (std::uint16_t k = 0; k < 5; ++k) {
    f.driver.set_desc(2 * k, kHeader, 16, kDescNext, 2 * k + 1);
    f.driver.set_desc(2 * k + 1, kStatus + k, 1, kDescWrite);
    f.driver.publish(2 * k);
  }
  CHECK(f.blk.process_queue(0, f.queue));
  CHECK(f.driver.used_idx() == 5);
  CHECK(f.observed.depths == std::vector<std::uint32_t>{5});
  CHECK(f.observed.requests.size() == 5);
}

// A hostile driver: descriptor tables, rings and headers full of random
// bytes, notified again and again. GuestMemory sits between guard regions,
// so any access outside guest RAM would crash this test (and ASan watches
// the host side). Everything must be answered or refused, nothing more.
TEST_CASE("VirtioBlk survives random rings and descriptors", "[vmm][virtio_blk][hostile]") {
  Fixture f;
  std::mt19937_64 rng(20261121);
  const std::uint64_t ram = f.mem.size();
  auto random_addr = [&] {
    switch (rng() % 4) {
      case 0:
        return rng();  // anywhere
      case 1:
        return ram - rng() % 4096;  // at the end of RAM
      default:
        return rng() % ram;  // inside
    }
  };
  for (int round = 0; round < 2000; ++round) {
    // Half the rounds are pure noise; the other half are nearly plausible
    // (buffers in RAM, short chains), so that parsing gets past the ring.
    const bool plausible = round % 2 == 0;
    for (std::uint16_t i = 0; i < f.driver.size(); ++i) {
      if (plausible) {  // header -> data (random size and direction) -> status
        const std::uint32_t lens[] = {512, 1024, 20, 7, 4096};
        const auto next = static_cast<std::uint16_t>(i + 1);
        if (i % 4 == 0) f.driver.set_desc(i, kHeader, 16, kDescNext, next);
        if (i % 4 == 1) {
          f.driver.set_desc(i, kData + (rng() % 64) * 512, lens[rng() % 5],
                            kDescNext | (rng() % 2 ? kDescWrite : 0), next);
        }
        if (i % 4 >= 2) f.driver.set_desc(i, kStatus, 1, kDescWrite);
        continue;
      }
      const auto flags = static_cast<std::uint16_t>(rng() % 8);
      const auto len = static_cast<std::uint32_t>(rng() % 3 == 0 ? rng() : rng() % 8192);
      f.driver.set_desc(i, random_addr(), len, flags, static_cast<std::uint16_t>(rng() % 80));
    }
    const std::uint32_t types[] = {0, 1, 4, 8, 11, static_cast<std::uint32_t>(rng())};
    f.header(types[rng() % 6], rng() % 3 == 0 ? rng() : rng() % 80);
    const int n = static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) {
      f.driver.publish(static_cast<std::uint16_t>(plausible ? 4 * (rng() % 16) : rng() % 70));
    }
    if (rng() % 50 == 0) f.driver.set_avail_idx(static_cast<std::uint16_t>(rng()));
    f.blk.process_queue(0, f.queue);
    if (f.queue.broken()) {  // what the transport does on DEVICE_NEEDS_RESET + driver reset
      f.queue.reset();
      f.driver.restart();
      f.driver.configure(f.queue);
      REQUIRE(f.queue.activate());
    }
  }
  const auto& c = f.blk.counters();
  std::uint64_t answered = 0;
  for (auto n : c.requests) answered += n;
  INFO("answered " << answered << ", ioerr " << c.ioerr << ", unsupp " << c.unsupp << ", malformed "
                   << c.malformed);
  CHECK(answered > 1000);
  CHECK(c.malformed > 0);
  CHECK(c.ioerr > c.malformed);  // some got as far as a status byte
  CHECK(c.unsupp > 0);
  CHECK(answered > c.ioerr + c.unsupp);  // and some were plain valid requests
  CHECK(std::filesystem::file_size(f.dir / "disk.img") == kDiskBytes);  // never grew
}
