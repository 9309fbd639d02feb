#include "line_targets.hpp"

namespace rondo::bench {
namespace {

std::vector<std::string> series_names(std::string_view prefix, std::uint32_t series) {
  std::vector<std::string> names;
  for (std::uint32_t k = 0; k < series; ++k) names.push_back(std::string(prefix) + std::to_string(k));
  return names;
}

}  // namespace

StatsdTarget::StatsdTarget(std::uint32_t series)
    : receiver_(UdpSocket::bound_receiver(/*timeout_ms=*/50, /*receive_buffer_bytes=*/4 << 20)),
      port_(receiver_.port()),
      names_(series_names("bench.vcpu", series)),
      cursor_(series),
      drainer_([this] { drain(); }) {}

StatsdTarget::~StatsdTarget() {
  stop_.store(true, std::memory_order_relaxed);
  drainer_.join();
}

void StatsdTarget::drain() {
  char buffer[2048];
  while (!stop_.load(std::memory_order_relaxed)) {
    if (receiver_.receive(buffer, sizeof buffer) > 0) received_.fetch_add(1, std::memory_order_relaxed);
  }
}

FileWriteTarget::FileWriteTarget(const std::filesystem::path& dir, std::uint32_t series)
    : file_(dir / "samples.log"), names_(series_names("bench_vcpu", series)), cursor_(series) {}

}  // namespace rondo::bench
