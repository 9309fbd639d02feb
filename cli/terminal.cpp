#include "terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace rondo::cli {

bool is_terminal(int fd) noexcept { return ::isatty(fd) == 1; }

int terminal_width(int fd, int fallback) noexcept {
  if (const char* columns = std::getenv("COLUMNS")) {
    int n = 0;
    const auto [ptr, ec] = std::from_chars(columns, columns + std::strlen(columns), n);
    if (ec == std::errc() && n > 0) return n;
  }
  winsize size{};
  if (is_terminal(fd) && ::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return fallback;
}

}  // namespace rondo::cli
