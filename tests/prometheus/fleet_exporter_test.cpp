// Many stores through one FleetExporter: requests mix stores, every store's
// samples arrive exactly once under its own labels, each store keeps its own
// position, and stores come and go while the fleet runs.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <set>

#include "rondo/error.hpp"
#include "rondo/prometheus/fleet_exporter.hpp"
#include "support/compare.hpp"
#include "support/exporter_options.hpp"
#include "support/fake_receiver.hpp"
#include "support/sample_store.hpp"
#include "support/wait.hpp"

using namespace rondo;
using namespace rondo::prometheus;
using namespace rondo::prometheus::test;
using namespace std::chrono_literals;

namespace {

DeliveryOptions quick_delivery(const std::string& url, std::size_t batch) {
  ExporterOptions options = test_exporter_options(url, 0, batch);
  options.retry.min_backoff = 5ms;
  options.retry.max_backoff = 40ms;
  options.retry.jitter = 0.0;
  return delivery_part(options);
}

StoreExportOptions vm_options(const std::string& vm) {
  StoreExportOptions options;
  options.tier = 0;
  options.extra_labels = {{"vm_id", vm}};
  return options;
}

struct Fleet {
  explicit Fleet(int count, int seconds) {
    for (int i = 0; i < count; ++i) stores.push_back(make_filled_store(seconds));
  }
  std::string vm(std::size_t i) const { return "vm-" + std::to_string(i); }
  // What the receiver should hold for stores [0, n): each under its vm_id.
  SeriesById expected(std::size_t n) const {
    SeriesById all;
    for (std::size_t i = 0; i < n; ++i) all.merge(with_label(expected_export(stores[i]->store, 0), "vm_id", vm(i)));
    return all;
  }
  std::vector<std::unique_ptr<FilledStore>> stores;
};

// The vm_id labels present in one request.
std::set<std::string> vms_in(const ReceivedRequest& r) {
  std::set<std::string> vms;
  for (const auto& ts : r.request->timeseries()) {
    for (const auto& label : ts.labels()) {
      if (label.name() == "vm_id") vms.insert(label.value());
    }
  }
  return vms;
}

}  // namespace

TEST_CASE("a fleet sends every store's samples once, several stores per request, each under its labels",
          "[fleet]") {
  Fleet fleet(3, 30);
  FakeReceiver receiver;
  FleetExporter exporter(quick_delivery(receiver.write_url(), 100));
  for (std::size_t i = 0; i < 3; ++i) exporter.add(fleet.vm(i), fleet.stores[i]->store, vm_options(fleet.vm(i)));
  CHECK(exporter.names() == std::vector<std::string>{"vm-0", "vm-1", "vm-2"});

  const PassResult pass = exporter.export_pending();
  CHECK(pass.outcome == PassOutcome::CaughtUp);
  const SeriesById expected = fleet.expected(3);
  CHECK(pass.samples_sent == sample_count(expected));
  const auto requests = receiver.requests();
  const SeriesById got = received_samples(requests);
  CHECK(sample_count(got) == sample_count(expected));
  CHECK(describe_difference(got, expected) == "");
  // One stream: full requests, and requests that carry more than one store.
  CHECK(requests.size() == (sample_count(expected) + 99) / 100);
  CHECK(std::any_of(requests.begin(), requests.end(), [](const ReceivedRequest& r) { return vms_in(r).size() > 1; }));

  for (std::size_t i = 0; i < 3; ++i) {
    const auto stats = exporter.store_stats(fleet.vm(i));
    REQUIRE(stats.has_value());
    CHECK(stats->samples_acknowledged == sample_count(expected_export(fleet.stores[i]->store, 0)));
    CHECK(stats->caught_up);
    CHECK(stats->lag == std::chrono::nanoseconds(0));
    CHECK(std::filesystem::exists(*exporter.cursor_file(fleet.vm(i))));
  }
  CHECK(exporter.stats().samples_sent == sample_count(expected));
  CHECK(exporter.export_pending().samples_sent == 0);  // nothing new
}

TEST_CASE("each store keeps its own position: a restarted fleet sends only what was not acknowledged",
          "[fleet]") {
  Fleet fleet(3, 20);
  FakeReceiver receiver;
  const DeliveryOptions delivery = quick_delivery(receiver.write_url(), 70);
  {
    FleetExporter first(delivery);
    for (std::size_t i = 0; i < 3; ++i) first.add(fleet.vm(i), fleet.stores[i]->store, vm_options(fleet.vm(i)));
    receiver.script({204, 204});  // two requests, then an outage
    receiver.answer_always(503);
    CHECK(first.export_pending(100ms).outcome == PassOutcome::GaveUp);
  }
  receiver.answer_always(204);
  FleetExporter second(delivery);
  for (std::size_t i = 0; i < 3; ++i) second.add(fleet.vm(i), fleet.stores[i]->store, vm_options(fleet.vm(i)));
  CHECK(second.export_pending().outcome == PassOutcome::CaughtUp);
  const SeriesById got = received_samples(receiver.requests());
  const SeriesById expected = fleet.expected(3);
  CHECK(sample_count(got) == sample_count(expected));  // no repeats
  CHECK(describe_difference(got, expected) == "");
}

TEST_CASE("stores join and leave a running fleet, and export_store empties one store", "[fleet]") {
  Fleet fleet(2, 15);
  FakeReceiver receiver;
  FleetExporter exporter(quick_delivery(receiver.write_url(), 40));
  exporter.add(fleet.vm(0), fleet.stores[0]->store, vm_options(fleet.vm(0)));
  CHECK_THROWS_AS(exporter.add(fleet.vm(0), fleet.stores[0]->store, vm_options(fleet.vm(0))), Error);

  // export_store delivers that store only.
  CHECK(exporter.export_store(fleet.vm(0)).outcome == PassOutcome::CaughtUp);
  CHECK(sample_count(received_samples(receiver.requests())) == sample_count(fleet.expected(1)));

  exporter.start(20ms);
  exporter.add(fleet.vm(1), fleet.stores[1]->store, vm_options(fleet.vm(1)));
  exporter.wake();
  const std::size_t all = sample_count(fleet.expected(2));
  REQUIRE(wait_until([&] { return sample_count(received_samples(receiver.requests())) == all; }));
  CHECK(exporter.remove(fleet.vm(0)));
  CHECK_FALSE(exporter.remove(fleet.vm(0)));
  CHECK(exporter.names() == std::vector<std::string>{"vm-1"});
  exporter.stop();
  CHECK(describe_difference(received_samples(receiver.requests()), fleet.expected(2)) == "");
}

TEST_CASE("bad fleet options are clear errors", "[fleet]") {
  FakeReceiver receiver;
  DeliveryOptions delivery = quick_delivery(receiver.write_url(), 10);
  delivery.url = "ftp://x";
  CHECK_THROWS_AS(FleetExporter(delivery), Error);
  delivery = quick_delivery(receiver.write_url(), 10);
  FleetExporter exporter(delivery);
  auto filled = make_filled_store(3);
  StoreExportOptions options = vm_options("a");
  options.tier = 9;
  CHECK_THROWS_AS(exporter.add("a", filled->store, options), Error);
  CHECK(exporter.names().empty());
}

TEST_CASE("a finished store's series end with one stale marker each, after its last bucket, sent once",
          "[fleet]") {
  Fleet fleet(2, 10);
  FakeReceiver receiver;
  FleetExporter exporter(quick_delivery(receiver.write_url(), 1000));
  for (std::size_t i = 0; i < 2; ++i) exporter.add(fleet.vm(i), fleet.stores[i]->store, vm_options(fleet.vm(i)));
  CHECK(exporter.finish(fleet.vm(1)));
  CHECK_FALSE(exporter.finish("nope"));
  CHECK(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  CHECK(exporter.export_pending().samples_sent == 0);  // the markers went once

  const SeriesById expected = fleet.expected(2);
  std::map<std::string, std::int64_t> last_ms;  // per series id of vm-1
  for (const auto& [id, samples] : expected) {
    if (id.find("vm-1") != std::string::npos) last_ms[id] = samples.back().first;
  }
  REQUIRE(!last_ms.empty());
  std::map<std::string, std::vector<std::pair<std::int64_t, std::uint64_t>>> stale;  // name -> (ms, bits)
  for (const ReceivedRequest& r : receiver.requests()) {
    for (const auto& ts : r.request->timeseries()) {
      for (const auto& sample : ts.samples()) {
        if (!std::isnan(sample.value())) continue;
        std::string id = "?";
        for (const auto& label : ts.labels()) {
          if (label.name() == "__name__") id = label.value();
        }
        stale[id].emplace_back(sample.timestamp(), std::bit_cast<std::uint64_t>(sample.value()));
      }
    }
  }
  std::size_t markers = 0;
  for (const auto& [name, list] : stale) {
    for (const auto& [ms, bits] : list) {
      CHECK(bits == 0x7ff0000000000002ULL);
      ++markers;
    }
  }
  CHECK(markers == last_ms.size());  // one per series of vm-1, none for vm-0
  CHECK(exporter.store_stats(fleet.vm(1))->ended);
  CHECK_FALSE(exporter.store_stats(fleet.vm(0))->ended);
  // Every marker is one bucket (1 s) after the series' last sample.
  const std::int64_t newest = std::max_element(last_ms.begin(), last_ms.end(), [](auto& a, auto& b) {
                                return a.second < b.second;
                              })->second;
  for (const auto& [name, list] : stale) {
    for (const auto& [ms, bits] : list) CHECK(ms == newest + 1000);
  }
}
