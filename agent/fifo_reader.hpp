// Reads one Firecracker metrics FIFO without ever blocking: opened
// O_RDWR|O_NONBLOCK as Firecracker itself opens it (so the open never
// waits for a writer and a writer that goes away is no EOF), the pipe
// raised to 1 MiB (F_SETPIPE_SZ) so that a slow agent second does not
// make Firecracker drop lines, and the bytes split into lines on '\n'.
// A line longer than kMaxLine cannot be a metrics line: it is dropped
// (counted) up to its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace rondo::agent {

class FifoReader {
 public:
  static constexpr std::size_t kMaxLine = 1 << 20;
  static constexpr int kPipeSize = 1 << 20;

  // Throws std::system_error when the path cannot be opened. A path that is
  // a regular file is read too (Firecracker accepts both).
  explicit FifoReader(const std::filesystem::path& path);
  ~FifoReader();
  FifoReader(const FifoReader&) = delete;
  FifoReader& operator=(const FifoReader&) = delete;

  int fd() const noexcept { return fd_; }
  // Everything readable now, one call per complete line (without '\n').
  // Returns the bytes read.
  std::size_t read_lines(const std::function<void(std::string_view)>& line);

  std::uint64_t oversized_lines() const noexcept { return oversized_; }
  int pipe_size() const noexcept { return pipe_size_; }  // 0: not a pipe, or unchanged
  std::size_t buffered() const noexcept { return partial_.size(); }  // a line not yet complete

 private:
  int fd_ = -1;
  int pipe_size_ = 0;
  std::string partial_;
  bool skipping_ = false;  // inside an oversized line
  std::uint64_t oversized_ = 0;
};

}  // namespace rondo::agent
