#include "fleet_source.hpp"

#include <algorithm>
#include <stdexcept>

namespace rondo::agent {
namespace {

constexpr int kSerialShift = 32;  // a VM's own refs are indices, far below 2^32

std::uint64_t fleet_ref(std::uint32_t serial, std::uint64_t ref) {
  if (ref >> kSerialShift) throw std::length_error("a VM's query source ran out of refs");
  return (static_cast<std::uint64_t>(serial) << kSerialShift) | ref;
}

}  // namespace

promql::Selection FleetSource::select(const LabelMatcher& matcher, const promql::SelectHints& hints) const {
  promql::Selection out;
  for (const std::shared_ptr<Vm>& vm : registry_.vms()) {
    if (!vm->query_source) continue;
    promql::Selection one = vm->query_source->select(matcher, hints);
    for (promql::SourceSeries& s : one.series) out.series.push_back({std::move(s.labels), fleet_ref(vm->serial, s.ref)});
    // Tier notes repeat per VM (every store has the same tiers): keep each once.
    for (std::string& note : one.notes) {
      if (std::find(out.notes.begin(), out.notes.end(), note) == out.notes.end()) out.notes.push_back(std::move(note));
    }
  }
  return out;
}

void FleetSource::samples(std::uint64_t ref, promql::Millis mint, promql::Millis maxt,
                          std::vector<promql::Sample>& out) const {
  const std::shared_ptr<Vm> vm = registry_.find_serial(static_cast<std::uint32_t>(ref >> kSerialShift));
  if (!vm || !vm->query_source) return;
  vm->query_source->samples(ref & ((std::uint64_t{1} << kSerialShift) - 1), mint, maxt, out);
}

}  // namespace rondo::agent
