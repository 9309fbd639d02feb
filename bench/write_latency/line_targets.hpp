// The syscall-per-sample alternatives: a StatsD gauge line sent with
// sendto(2) to a UDP socket on 127.0.0.1 (a thread drains it, as a local
// agent would), and write(2) of one line per sample to a log file.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "line_format.hpp"
#include "posix_io.hpp"
#include "series_cursor.hpp"

namespace rondo::bench {

class StatsdTarget {
 public:
  explicit StatsdTarget(std::uint32_t series);
  ~StatsdTarget();  // stops the receiver
  StatsdTarget(const StatsdTarget&) = delete;
  StatsdTarget& operator=(const StatsdTarget&) = delete;

  // Format the line and send it: what an unbatched StatsD client does.
  void write(std::uint64_t i) noexcept {
    char line[kLineBufferSize];
    const std::size_t n = format_statsd_gauge(line, names_[cursor_.next()], sample_value(i));
    if (!sender_.send_to(port_, line, n)) [[unlikely]] ++failures_;
  }

  std::uint64_t failures() const noexcept { return failures_; }
  // Datagrams the receiver read so far (it may still be catching up).
  std::uint64_t received() const noexcept { return received_.load(std::memory_order_relaxed); }

 private:
  void drain();

  UdpSocket receiver_;
  UdpSocket sender_;
  std::uint16_t port_;
  std::vector<std::string> names_;
  SeriesCursor cursor_;
  std::uint64_t failures_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> received_{0};
  std::thread drainer_;
};

class FileWriteTarget {
 public:
  // Appends to a fresh file inside `dir` (removed with the directory).
  FileWriteTarget(const std::filesystem::path& dir, std::uint32_t series);

  void write(std::uint64_t i) noexcept {
    char line[kLineBufferSize];
    now_ += 1000;
    const std::size_t n = format_log_line(line, names_[cursor_.next()], sample_value(i), now_);
    if (!file_.write(line, n)) [[unlikely]] ++failures_;
  }

  std::uint64_t failures() const noexcept { return failures_; }

 private:
  OutputFile file_;
  std::vector<std::string> names_;
  SeriesCursor cursor_;
  std::uint64_t now_ = 1'700'000'000'000'000'000;
  std::uint64_t failures_ = 0;
};

}  // namespace rondo::bench
