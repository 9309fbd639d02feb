#include "block_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vmm_error.hpp"

namespace rondo::vmm {
namespace {

// Moves `done` bytes forward in an iovec array that we may modify.
void advance(std::span<iovec> iov, std::size_t& first, std::size_t done) noexcept {
  while (done > 0 && first < iov.size()) {
    const std::size_t step = std::min(done, iov[first].iov_len);
    iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + step;
    iov[first].iov_len -= step;
    done -= step;
    if (iov[first].iov_len == 0) ++first;
  }
}

std::size_t total(std::span<const iovec> iov) noexcept {
  std::size_t n = 0;
  for (const iovec& v : iov) n += v.iov_len;
  return n;
}

}  // namespace

BlockFile BlockFile::open(const std::filesystem::path& path, std::uint64_t create_size) {
  int flags = O_RDWR | O_CLOEXEC;
  if (create_size > 0) flags |= O_CREAT;
  UniqueFd fd(::open(path.c_str(), flags, 0644));
  if (!fd) throw_errno("open disk " + path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("fstat disk " + path.string(), errno);
  if (!S_ISREG(st.st_mode)) throw VmmError("disk " + path.string() + " is not a regular file");
  std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0 && create_size > 0) {
    if (create_size % 512 != 0) throw VmmError("disk size must be a multiple of 512 bytes");
    if (::ftruncate(fd.get(), static_cast<off_t>(create_size)) != 0) {
      throw_errno("ftruncate disk " + path.string(), errno);
    }
    size = create_size;
  }
  if (size == 0 || size % 512 != 0) {
    throw VmmError("disk " + path.string() + " has size " + std::to_string(size) +
                   ", not a positive multiple of 512 bytes");
  }
  return BlockFile(std::move(fd), size);
}

int BlockFile::read_at(std::span<iovec> left, std::uint64_t offset) const noexcept {
  std::size_t first = 0;
  std::size_t remaining = total(left);
  while (remaining > 0) {
    const ssize_t n = ::preadv(fd_.get(), left.data() + first,
                               static_cast<int>(left.size() - first), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) {  // end of file: the rest reads as zeros
      for (std::size_t i = first; i < left.size(); ++i)
        std::memset(left[i].iov_base, 0, left[i].iov_len);
      return 0;
    }
    advance(left, first, static_cast<std::size_t>(n));
    remaining -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return 0;
}

int BlockFile::write_at(std::span<iovec> left, std::uint64_t offset) const noexcept {
  std::size_t first = 0;
  std::size_t remaining = total(left);
  while (remaining > 0) {
    const ssize_t n = ::pwritev(fd_.get(), left.data() + first,
                                static_cast<int>(left.size() - first), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    advance(left, first, static_cast<std::size_t>(n));
    remaining -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return 0;
}

int BlockFile::sync() const noexcept { return ::fdatasync(fd_.get()) == 0 ? 0 : errno; }

}  // namespace rondo::vmm
