#include "fixture_store.hpp"

#include <algorithm>
#include <chrono>
#include <string>

namespace rondo::test {

using namespace std::chrono_literals;
using Fn = ConsolidationFn;

std::vector<SchemaConfig> fixture_schemas() {
  SchemaConfig vcpu;
  vcpu.name = "vcpu";
  vcpu.matcher = LabelMatcher().regex("__name__", "vcpu_.*");
  vcpu.tiers = {{1s, 10min, {Fn::Sum, Fn::Count, Fn::Max}}, {10s, 1h, {}}, {1min, 24h, {}}};
  vcpu.max_series = 16;

  SchemaConfig host;
  host.name = "host";
  host.matcher = LabelMatcher::any();
  host.tiers = {{1s, 10min, {}}, {1min, 1h, {Fn::Average, Fn::Min, Fn::Max}}};
  host.max_series = 8;
  return {vcpu, host};
}

namespace {
Store open_fixture(const std::filesystem::path& dir) {
  const auto schemas = fixture_schemas();
  return Store::open(dir, schemas);
}
}  // namespace

FixtureWriter::FixtureWriter(const std::filesystem::path& dir, std::uint32_t vcpus) : store_(open_fixture(dir)) {
  for (std::uint32_t v = 0; v < vcpus; ++v) {
    for (const char* reason : {"hlt", "io"}) {
      const std::vector<Label> labels{{"reason", reason}, {"vcpu", std::to_string(v)}};
      vcpu_.push_back(store_.register_series("vcpu_exits_total", labels));
    }
  }
  load_ = store_.register_series("host_load");
  const std::vector<Label> sensor{{"sensor", "cpu"}};
  temp_ = store_.register_series("host_temp", sensor);
}

void FixtureWriter::write_second(std::uint64_t k) {
  const Timestamp t = kFixtureStart + k * kSecond;
  for (std::uint64_t i = 0; i < 3; ++i) {
    for (SeriesHandle h : vcpu_) store_.record(h, static_cast<double>((k + i) % 5), t + (1 + 3 * i) * kSecond / 10);
  }
  store_.record(load_, host_load_value(k), t + kSecond / 2);
  store_.record(temp_, host_temp_value(k), t + kSecond / 2);
}

void write_fixture_store(const std::filesystem::path& dir, std::uint64_t seconds, std::uint32_t vcpus) {
  FixtureWriter writer(dir, vcpus);
  for (std::uint64_t k = 0; k < seconds; ++k) {
    writer.write_second(k);
    if (k % 10 == 9) writer.store().consolidate();
  }
  writer.store().consolidate();
  writer.store().flush();
}

}  // namespace rondo::test
