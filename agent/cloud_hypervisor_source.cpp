#include "cloud_hypervisor_source.hpp"

#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "unix_http.hpp"

namespace rondo::agent {
namespace {

constexpr std::uint64_t kNoData = std::numeric_limits<std::uint64_t>::max();

bool is_latency(std::string_view counter) { return counter.find("_latency_") != std::string_view::npos; }

}  // namespace

bool record_vm_counters(Vm& vm, std::string_view text, Timestamp ns) {
  const nlohmann::json json = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) return false;
  VmStore& store = *vm.store;
  for (const auto& [device, counters] : json.items()) {
    if (!counters.is_object()) continue;
    for (const auto& [counter, value] : counters.items()) {
      if (!value.is_number_unsigned() && !value.is_number_integer()) continue;
      // By the counter's name, not by which others are present: an answer
      // may leave some out.
      const bool block = counter.starts_with("read_") || counter.starts_with("write_");
      const bool net = counter.starts_with("rx_") || counter.starts_with("tx_");
      const std::string group = block ? "block" : net ? "net" : "device";
      const std::vector<Label> labels = {{block ? "drive" : net ? "iface" : "device", device}};
      const std::uint64_t v = value.get<std::uint64_t>();
      if (is_latency(counter)) {
        // avg is derived from the same sentinel: no min means no data at all.
        const std::string min_key = counter.substr(0, counter.rfind('_')) + "_min";
        const bool no_data = v == kNoData || (counters.contains(min_key) &&
                                              counters[min_key].is_number_unsigned() &&
                                              counters[min_key].get<std::uint64_t>() == kNoData);
        if (!no_data) store.add("cloud_hypervisor_" + group + "_" + counter + "_us", labels, static_cast<double>(v), ns);
        continue;
      }
      const std::string key = device + "\x1f" + counter;
      const auto previous = vm.previous_counters.find(key);
      const double now = static_cast<double>(v);
      double increase = now;  // first sight: everything since the device was created
      if (previous != vm.previous_counters.end() && now >= previous->second) increase = now - previous->second;
      vm.previous_counters[key] = now;
      store.add("cloud_hypervisor_" + group + "_" + counter + "_total", labels, increase, ns);
    }
  }
  return true;
}

bool poll_cloud_hypervisor(Vm& vm, std::chrono::milliseconds timeout) {
  const UnixHttpResponse r = unix_http_request(vm.api_socket, "GET", "/api/v1/vm.counters", "", timeout);
  if (r.peer_pid && vm.pid.load() == 0) vm.pid = *r.peer_pid;
  const Timestamp ns = static_cast<Timestamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const bool ok = r.status == 200 && record_vm_counters(vm, r.body, ns);
  ++(ok ? vm.polls : vm.poll_failures);
  return ok;
}

}  // namespace rondo::agent
