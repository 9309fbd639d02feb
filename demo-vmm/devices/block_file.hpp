// BlockFile: the host file behind a virtio-blk disk. The only place the
// VMM does file I/O for the guest (open, fstat, ftruncate, preadv, pwritev,
// fdatasync). I/O calls return 0 or an errno; they never throw.
// Thread-safety: positional I/O only, so calls from several threads are
// safe, but the VMM uses it from the vCPU thread alone.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <filesystem>
#include <span>

#include "unique_fd.hpp"

namespace rondo::vmm {

class BlockFile {
 public:
  // Opens `path` read-write. If it does not exist and create_size > 0, it
  // is created with that size (sparse). The size must be a multiple of 512.
  // Throws VmmError.
  static BlockFile open(const std::filesystem::path& path, std::uint64_t create_size = 0);

  std::uint64_t size() const noexcept { return size_; }
  // Reads/writes exactly the iovecs' total at `offset`, retrying short
  // transfers; the iovecs are used up (advanced) in the process. A read past
  // the end of a file that shrank meanwhile fills zeros.
  int read_at(std::span<iovec> iov, std::uint64_t offset) const noexcept;
  int write_at(std::span<iovec> iov, std::uint64_t offset) const noexcept;
  int sync() const noexcept;

 private:
  BlockFile(UniqueFd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}
  UniqueFd fd_;
  std::uint64_t size_;
};

}  // namespace rondo::vmm
