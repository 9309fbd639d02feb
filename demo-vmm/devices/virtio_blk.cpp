#include "virtio_blk.hpp"

#include <algorithm>
#include <cstring>

#include "clock.hpp"

namespace rondo::vmm {
namespace {

constexpr std::uint64_t kSector = 512;
constexpr std::uint64_t kHeaderBytes = 16;  // struct virtio_blk_outhdr

struct RequestHeader {
  std::uint32_t type;
  std::uint32_t ioprio;
  std::uint64_t sector;
};
static_assert(sizeof(RequestHeader) == kHeaderBytes);

// Appends to `iov` the host buffers behind bytes [skip, skip + len) of the
// chain's readable (or writable) stream. Segments were bounds-checked by the
// Virtqueue, so their host addresses are inside guest RAM.
void collect(const GuestMemory& memory, const DescriptorChain& chain, bool writable,
             std::uint64_t skip, std::uint64_t len, std::vector<iovec>& iov) {
  for (const BufferSegment& s : chain.segments) {
    if (s.device_writable != writable || len == 0) continue;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const std::uint64_t take = std::min<std::uint64_t>(s.len - skip, len);
    iov.push_back({memory.host_base() + s.gpa + skip, static_cast<std::size_t>(take)});
    len -= take;
    skip = 0;
  }
}

// Copies bytes out of / into the iovecs (short copies for tiny fields).
void gather(std::span<const iovec> iov, std::uint8_t* out) {
  for (const iovec& v : iov) {
    std::memcpy(out, v.iov_base, v.iov_len);
    out += v.iov_len;
  }
}
void scatter(std::span<const iovec> iov, const std::uint8_t* in) {
  for (const iovec& v : iov) {
    std::memcpy(v.iov_base, in, v.iov_len);
    in += v.iov_len;
  }
}

BlkOp op_of(std::uint32_t type) {
  switch (type) {
    case VIRTIO_BLK_T_IN:
      return BlkOp::Read;
    case VIRTIO_BLK_T_OUT:
      return BlkOp::Write;
    case VIRTIO_BLK_T_FLUSH:
      return BlkOp::Flush;
    case VIRTIO_BLK_T_GET_ID:
      return BlkOp::GetId;
    default:
      return BlkOp::Other;
  }
}

}  // namespace

VirtioBlk::VirtioBlk(const GuestMemory& memory, BlockFile file, std::string id,
                     BlkObserver* observer)
    : memory_(memory), file_(std::move(file)), id_(std::move(id)), observer_(observer) {
  config_.capacity = capacity_sectors();
  chain_.segments.reserve(kQueueSize);
  iov_.reserve(kQueueSize);
}

std::uint64_t VirtioBlk::features() const { return 1ull << VIRTIO_BLK_F_FLUSH; }

std::span<const std::uint8_t> VirtioBlk::config() const {
  return {reinterpret_cast<const std::uint8_t*>(&config_), sizeof(config_)};
}

bool VirtioBlk::process_queue(std::size_t /*index*/, Virtqueue& queue) {
  if (observer_) observer_->on_notify(queue.pending(), wall_clock_ns());
  bool used = false;
  // At most one ring's worth per notification: the guest is stopped while
  // we run, so nothing new can arrive, and a loop needs a bound.
  for (std::uint32_t i = 0; i < queue.size(); ++i) {
    if (queue.pop(chain_) != Virtqueue::Pop::Chain) break;
    queue.push_used(chain_.head, handle(chain_));
    used = true;
  }
  return used;
}

std::uint32_t VirtioBlk::handle(const DescriptorChain& chain) {
  const std::uint64_t start = observer_ ? wall_clock_ns() : 0;
  if (chain.error != ChainError::None || chain.writable_bytes == 0) {
    ++counters_.malformed;  // no status byte we could trust
    count(BlkOp::Other, BlkStatus::IoErr, 0, start);
    return 0;
  }
  RequestHeader header{};
  BlkOp op = BlkOp::Other;
  BlkStatus status = BlkStatus::IoErr;
  std::uint64_t bytes = 0, to_guest = 0;
  if (chain.readable_bytes >= kHeaderBytes) {
    iov_.clear();
    collect(memory_, chain, false, 0, kHeaderBytes, iov_);
    gather(iov_, reinterpret_cast<std::uint8_t*>(&header));
    op = op_of(header.type);
    status = execute(chain, op, header.sector, bytes, to_guest);
  }
  // The status is the last device-writable byte of the chain.
  iov_.clear();
  collect(memory_, chain, true, chain.writable_bytes - 1, 1, iov_);
  const auto status_byte = static_cast<std::uint8_t>(status);
  scatter(iov_, &status_byte);
  count(op, status, bytes, start);
  return static_cast<std::uint32_t>(to_guest + 1);
}

BlkStatus VirtioBlk::execute(const DescriptorChain& chain, BlkOp op, std::uint64_t sector,
                             std::uint64_t& bytes, std::uint64_t& to_guest) {
  // Data: for reads and get-id, the writable stream minus the status byte;
  // for writes, the readable stream after the header.
  const std::uint64_t in_len = chain.writable_bytes - 1;
  const std::uint64_t out_len = chain.readable_bytes - kHeaderBytes;
  iov_.clear();
  switch (op) {
    case BlkOp::Read:
    case BlkOp::Write: {
      const std::uint64_t len = op == BlkOp::Read ? in_len : out_len;
      const std::uint64_t sectors = capacity_sectors();
      if (len % kSector != 0 || sector > sectors || len / kSector > sectors - sector) {
        return BlkStatus::IoErr;
      }
      collect(memory_, chain, op == BlkOp::Read, op == BlkOp::Read ? 0 : kHeaderBytes, len, iov_);
      const int err = op == BlkOp::Read ? file_.read_at(iov_, sector * kSector)
                                        : file_.write_at(iov_, sector * kSector);
      if (err != 0) return BlkStatus::IoErr;
      bytes = len;
      if (op == BlkOp::Read) to_guest = len;
      return BlkStatus::Ok;
    }
    case BlkOp::Flush:
      return file_.sync() == 0 ? BlkStatus::Ok : BlkStatus::IoErr;
    case BlkOp::GetId: {
      char id[kIdBytes] = {};  // NUL-padded; not terminated when 20 bytes long
      std::memcpy(id, id_.data(), std::min(id_.size(), kIdBytes));
      const std::uint64_t n = std::min<std::uint64_t>(in_len, kIdBytes);
      collect(memory_, chain, true, 0, n, iov_);
      scatter(iov_, reinterpret_cast<const std::uint8_t*>(id));
      to_guest = n;
      return BlkStatus::Ok;
    }
    case BlkOp::Other:
      return BlkStatus::Unsupp;
  }
  return BlkStatus::Unsupp;
}

void VirtioBlk::count(BlkOp op, BlkStatus status, std::uint64_t bytes, std::uint64_t start_ns) {
  ++counters_.requests[static_cast<std::size_t>(op)];
  if (status == BlkStatus::IoErr) ++counters_.ioerr;
  if (status == BlkStatus::Unsupp) ++counters_.unsupp;
  if (status == BlkStatus::Ok && op == BlkOp::Read) counters_.bytes_read += bytes;
  if (status == BlkStatus::Ok && op == BlkOp::Write) counters_.bytes_written += bytes;
  if (observer_) observer_->on_request({op, status, bytes, start_ns, wall_clock_ns()});
}

}  // namespace rondo::vmm
