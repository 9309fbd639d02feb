// Every VM's store seen as one PromQL sample source, each series labelled
// as the fleet export labels it (vm_id="<id>" plus the configured labels):
// a query against the agent means what it means against the fleet's
// Prometheus. Serves the agent's /api/v1/... (rondo/prometheus/query_api.hpp).
#pragma once

#include <cstdint>

#include "rondo/promql.hpp"
#include "vm_registry.hpp"

namespace rondo::agent {

class FleetSource final : public promql::SampleSource {
 public:
  explicit FleetSource(const VmRegistry& registry) : registry_(registry) {}
  promql::Selection select(const LabelMatcher& matcher, const promql::SelectHints& hints) const override;
  // A ref names the VM (its serial) and the series in the VM's own source;
  // a VM removed since select() has no samples.
  void samples(std::uint64_t ref, promql::Millis mint, promql::Millis maxt,
               std::vector<promql::Sample>& out) const override;

 private:
  const VmRegistry& registry_;
};

}  // namespace rondo::agent
