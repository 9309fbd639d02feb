#include "posix_io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace rondo::bench {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

TempDir::TempDir(const std::filesystem::path& parent, std::string_view prefix) {
  std::string pattern = (parent / (std::string(prefix) + "XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) throw_errno("mkdtemp " + pattern);
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

OutputFile::OutputFile(const std::filesystem::path& path)
    : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) {
  if (fd_.get() < 0) throw_errno("open " + path.string());
}

bool OutputFile::write(const char* data, std::size_t size) noexcept {
  return ::write(fd_.get(), data, size) == static_cast<ssize_t>(size);
}

UdpSocket::UdpSocket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP)) {
  if (fd_.get() < 0) throw_errno("socket");
}

UdpSocket UdpSocket::bound_receiver(int timeout_ms, int receive_buffer_bytes) {
  UdpSocket s;
  const sockaddr_in addr = loopback(0);
  if (::bind(s.fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw_errno("bind 127.0.0.1");
  }
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  if (::setsockopt(s.fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    throw_errno("setsockopt SO_RCVTIMEO");
  }
  // Best effort: a bigger buffer drops fewer datagrams if the receiver lags.
  ::setsockopt(s.fd_.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
  return s;
}

std::uint16_t UdpSocket::port() const {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname");
  return ntohs(addr.sin_port);
}

bool UdpSocket::send_to(std::uint16_t port, const char* data, std::size_t size) const noexcept {
  const sockaddr_in addr = loopback(port);
  return ::sendto(fd_.get(), data, size, 0, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) ==
         static_cast<ssize_t>(size);
}

long UdpSocket::receive(char* buffer, std::size_t size) const noexcept {
  return ::recv(fd_.get(), buffer, size, 0);
}

}  // namespace rondo::bench
