// The system calls the harness makes (temporary directories, files, UDP
// sockets), wrapped in one place. Setup failures throw std::system_error;
// the per-sample calls return their result so the timed loop stays plain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace rondo::bench {

// A fresh directory (mkdtemp) removed with everything in it on destruction.
class TempDir {
 public:
  TempDir(const std::filesystem::path& parent, std::string_view prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept;
  int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

// A regular file opened for appending, created or truncated.
class OutputFile {
 public:
  explicit OutputFile(const std::filesystem::path& path);
  // One write(2); returns false if it failed or was short.
  bool write(const char* data, std::size_t size) noexcept;

 private:
  Fd fd_;
};

// A UDP socket on 127.0.0.1.
class UdpSocket {
 public:
  UdpSocket();  // unbound, for sending
  // Binds 127.0.0.1 on a free port; recv() gives up after timeout_ms.
  static UdpSocket bound_receiver(int timeout_ms, int receive_buffer_bytes);
  std::uint16_t port() const;  // the bound port
  // One sendto(2) to 127.0.0.1:port; returns false if it failed.
  bool send_to(std::uint16_t port, const char* data, std::size_t size) const noexcept;
  // One recv(2); returns the bytes read, or -1 on timeout or error.
  long receive(char* buffer, std::size_t size) const noexcept;

 private:
  Fd fd_;
};

}  // namespace rondo::bench
