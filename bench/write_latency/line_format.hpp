// Formats one sample as a text line into a caller's buffer, without
// allocating: what a StatsD client or a log writer does per sample.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace rondo::bench {

inline constexpr std::size_t kLineBufferSize = 128;

// Appends text to buffer at pos; returns the new position (truncates at the end).
inline std::size_t append(char* buffer, std::size_t pos, std::string_view text) noexcept {
  const std::size_t n = text.size() < kLineBufferSize - pos ? text.size() : kLineBufferSize - pos;
  std::memcpy(buffer + pos, text.data(), n);
  return pos + n;
}

template <typename Number>
std::size_t append_number(char* buffer, std::size_t pos, Number value) noexcept {
  const auto result = std::to_chars(buffer + pos, buffer + kLineBufferSize, value);
  return result.ec == std::errc() ? static_cast<std::size_t>(result.ptr - buffer) : pos;
}

// "name:value|g": one StatsD gauge line.
inline std::size_t format_statsd_gauge(char* buffer, std::string_view name, double value) noexcept {
  std::size_t pos = append(buffer, 0, name);
  pos = append(buffer, pos, ":");
  pos = append_number(buffer, pos, value);
  return append(buffer, pos, "|g");
}

// "name value timestamp_ns\n": one line of a plain log file.
inline std::size_t format_log_line(char* buffer, std::string_view name, double value,
                                   std::uint64_t timestamp_ns) noexcept {
  std::size_t pos = append(buffer, 0, name);
  pos = append(buffer, pos, " ");
  pos = append_number(buffer, pos, value);
  pos = append(buffer, pos, " ");
  pos = append_number(buffer, pos, timestamp_ns);
  return append(buffer, pos, "\n");
}

}  // namespace rondo::bench
