// virtio-blk (virtio 1.x section 5.2) over a BlockFile: read, write, flush
// and get-id; one request queue.
//
// A request is one descriptor chain: a 16-byte header (type, reserved,
// sector) in the device-readable part, data, and a 1-byte status as the
// last device-writable byte. Parsing treats the readable and writable parts
// as byte streams, so any split into descriptors works (Linux uses one data
// descriptor, other drivers several).
// Answers: sector range or data length not a multiple of 512 -> IOERR;
// unknown type -> UNSUPP; a chain the Virtqueue found malformed, or with no
// writable byte for the status, is returned with used length 0 (no status
// can be trusted there). Every non-OK request is counted.
// Thread-safety: vCPU thread only (requests run when the guest notifies).
#pragma once

#include <linux/virtio_blk.h>

#include <cstdint>
#include <string>
#include <vector>

#include "block_file.hpp"
#include "virtio_mmio.hpp"

namespace rondo::vmm {

enum class BlkOp : std::uint8_t { Read, Write, Flush, GetId, Other };
inline constexpr std::size_t kBlkOpCount = 5;
enum class BlkStatus : std::uint8_t { Ok = 0, IoErr = 1, Unsupp = 2 };

struct BlkRequest {
  BlkOp op;
  BlkStatus status;
  std::uint64_t bytes;     // data moved between guest and file
  std::uint64_t start_ns;  // wall clock, taken only when an observer is set
  std::uint64_t end_ns;
};

// What the metrics layer sees of the device. Called on the vCPU thread.
class BlkObserver {
 public:
  virtual ~BlkObserver() = default;
  // Entries waiting in the queue when the guest notified (wall clock at_ns).
  virtual void on_notify(std::uint32_t queue_depth, std::uint64_t at_ns) noexcept = 0;
  virtual void on_request(const BlkRequest& request) noexcept = 0;
};

class VirtioBlk : public VirtioDevice {
 public:
  static constexpr std::uint16_t kQueueSize = 256;
  static constexpr std::size_t kIdBytes = VIRTIO_BLK_ID_BYTES;  // 20

  struct Counters {
    std::uint64_t requests[kBlkOpCount] = {};
    std::uint64_t ioerr = 0;
    std::uint64_t unsupp = 0;
    std::uint64_t malformed = 0;  // returned without a status
    std::uint64_t bytes_read = 0;
    std::uint64_t bytes_written = 0;
  };

  // `id` is what GET_ID returns (at most 20 bytes are used).
  VirtioBlk(const GuestMemory& memory, BlockFile file, std::string id,
            BlkObserver* observer = nullptr);

  std::uint32_t device_id() const override { return kVirtioIdBlock; }
  std::uint64_t features() const override;
  std::size_t queue_count() const override { return 1; }
  std::uint16_t queue_max_size() const override { return kQueueSize; }
  std::span<const std::uint8_t> config() const override;
  bool process_queue(std::size_t index, Virtqueue& queue) override;

  const Counters& counters() const noexcept { return counters_; }
  std::uint64_t capacity_sectors() const noexcept { return file_.size() / 512; }

 private:
  static constexpr std::uint32_t kVirtioIdBlock = 2;  // virtio 1.x 5: block device
  // Handles one chain; returns the used length (bytes written to the guest).
  std::uint32_t handle(const DescriptorChain& chain);
  BlkStatus execute(const DescriptorChain& chain, BlkOp op, std::uint64_t sector,
                    std::uint64_t& bytes, std::uint64_t& to_guest);
  void count(BlkOp op, BlkStatus status, std::uint64_t bytes, std::uint64_t start_ns);

  const GuestMemory& memory_;
  BlockFile file_;
  std::string id_;
  BlkObserver* observer_;
  virtio_blk_config config_{};
  Counters counters_;
  DescriptorChain chain_;   // reused: no allocation per request
  std::vector<iovec> iov_;  // reused
};

}  // namespace rondo::vmm
