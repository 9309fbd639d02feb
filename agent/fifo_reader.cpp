#include "fifo_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace rondo::agent {

FifoReader::FifoReader(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  // Best effort: beyond /proc/sys/fs/pipe-max-size (or for a regular file) it fails.
  const int size = ::fcntl(fd_, F_SETPIPE_SZ, kPipeSize);
  if (size > 0) pipe_size_ = size;
}

FifoReader::~FifoReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t FifoReader::read_lines(const std::function<void(std::string_view)>& line) {
  char buffer[64 * 1024];
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: empty for now; 0: a regular file's end
    total += static_cast<std::size_t>(n);
    std::string_view chunk(buffer, static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      const auto newline = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, newline);
      if (!skipping_) {
        if (partial_.size() + piece.size() > kMaxLine) {
          skipping_ = true;
          ++oversized_;
          partial_.clear();
        } else {
          partial_.append(piece);
        }
      }
      if (newline == std::string_view::npos) break;
      if (!skipping_) line(partial_);
      partial_.clear();
      skipping_ = false;
      chunk.remove_prefix(newline + 1);
    }
  }
  return total;
}

}  // namespace rondo::agent
