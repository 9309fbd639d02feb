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
#include "support/temp_dir.hpp"
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
  // Every marker is one bucket (1 s) after its series' last sample (running
  // totals are stamped at their bucket's end, so theirs come a bucket later).
  std::map<std::string, std::int64_t> last_of_name;
  for (const auto& [id, ms] : last_ms) {
    std::int64_t& last = last_of_name[id.substr(0, id.find('{'))];
    last = std::max(last, ms);
  }
  for (const auto& [name, list] : stale) {
    REQUIRE(last_of_name.contains(name));
    for (const auto& [ms, bits] : list) CHECK(ms == last_of_name[name] + 1000);
  }
}

namespace {

// Four schemas as a rondo-agent VM store has them, with 1 s tier-0 buckets
// that keep the last value: "a" with data every second, "b" with a series
// that never records (its drains are always empty), "c" with data every
// third second only, "d" stamped by a clock 20 s behind the others.
std::vector<SchemaConfig> four_schemas() {
  std::vector<SchemaConfig> schemas;
  for (const char* name : {"a", "b", "c", "d"}) {
    schemas.push_back(SchemaConfig{name,
                                   LabelMatcher::parse(std::string("{__name__=~\"g_") + name + "_.*\"}"),
                                   {TierConfig{1s, 10min, {}}},
                                   16});
  }
  return schemas;
}

}  // namespace

TEST_CASE("a multi-schema store whose requests end inside one schema's part of a drain loses and repeats nothing",
          "[fleet]") {
  const std::size_t batch = GENERATE(1, 3, 5, 7, 11);
  const std::size_t buckets_per_drain = GENERATE(1, 2, 3, 64);
  CAPTURE(batch, buckets_per_drain);
  TempDir dir{"rondo-fleet-schemas"};
  Store store = Store::open(dir.path() / "store", four_schemas());
  std::vector<SeriesHandle> a, c, d;
  for (int i = 0; i < 3; ++i) a.push_back(store.register_series("g_a_x", std::vector<Label>{{"n", std::to_string(i)}}));
  store.register_series("g_b_x");
  for (int i = 0; i < 7; ++i) c.push_back(store.register_series("g_c_x", std::vector<Label>{{"n", std::to_string(i)}}));
  for (int i = 0; i < 2; ++i) d.push_back(store.register_series("g_d_x", std::vector<Label>{{"n", std::to_string(i)}}));

  FakeReceiver receiver;
  const DeliveryOptions delivery = quick_delivery(receiver.write_url(), batch);
  StoreExportOptions options = vm_options("vm-0");
  options.max_buckets_per_drain = buckets_per_drain;
  auto exporter = std::make_unique<FleetExporter>(delivery);
  exporter->add("vm-0", store, options);

  const Timestamp start = (wall_clock_now() - 120 * kNsPerSecond) / kNsPerSecond * kNsPerSecond;
  int second = 0;
  for (int round = 0; round < 6; ++round) {
    // The store grows between passes, as the agent's does while it exports.
    for (int k = 0; k < 7; ++k, ++second) {
      const Timestamp t = start + static_cast<Timestamp>(second) * kNsPerSecond;
      for (std::size_t i = 0; i < a.size(); ++i) store.record(a[i], second * 10.0 + static_cast<double>(i), t);
      if (second % 3 == 0) {
        for (std::size_t i = 0; i < c.size(); ++i) store.record(c[i], second * 100.0 + static_cast<double>(i), t);
      }
      for (std::size_t i = 0; i < d.size(); ++i) {
        store.record(d[i], second * 1000.0 + static_cast<double>(i), t - 20 * kNsPerSecond);
      }
    }
    REQUIRE(exporter->export_pending().outcome == PassOutcome::CaughtUp);
    if (round % 2 == 1) {  // a restart: the next exporter starts from the persisted position
      exporter.reset();
      exporter = std::make_unique<FleetExporter>(delivery);
      exporter->add("vm-0", store, options);
    }
  }
  REQUIRE(exporter->export_pending().outcome == PassOutcome::CaughtUp);

  const SeriesById expected = with_label(expected_export(store, 0), "vm_id", "vm-0");
  const SeriesById got = received_samples(receiver.requests());
  CHECK(sample_count(expected) == 3 * 41 + 7 * 13 + 2 * 41);  // every schema's closed buckets
  CHECK(sample_count(got) == sample_count(expected));          // nothing twice
  CHECK(describe_difference(got, expected) == "");             // nothing missing
}

TEST_CASE("a sealed store's last bucket counts as lag until it is delivered, and then arrives", "[fleet]") {
  Fleet fleet(1, 10);
  Store& store = fleet.stores[0]->store;
  FakeReceiver receiver;
  FleetExporter exporter(quick_delivery(receiver.write_url(), 1000));
  exporter.add(fleet.vm(0), store, vm_options(fleet.vm(0)));
  REQUIRE(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  CHECK(exporter.store_stats(fleet.vm(0))->lag == std::chrono::nanoseconds(0));  // the open bucket is not lag
  const std::size_t before = sample_count(received_samples(receiver.requests()));
  CHECK(before == sample_count(fleet.expected(1)));

  // The VM exits: its last bucket is final now, and still to be sent. An
  // operator (and rondo-agent's end-to-end test) waits for lag 0 to know
  // everything arrived, so it must not read 0 yet.
  store.seal();
  CHECK(exporter.finish(fleet.vm(0)));
  CHECK(exporter.store_stats(fleet.vm(0))->lag == std::chrono::nanoseconds(1s));

  REQUIRE(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  const auto stats = exporter.store_stats(fleet.vm(0));
  CHECK(stats->lag == std::chrono::nanoseconds(0));
  CHECK(stats->ended);
  // One more sample per series (the sealed bucket), then one stale marker each.
  std::size_t values = 0, markers = 0;
  for (const auto& [id, samples] : received_samples(receiver.requests())) {
    for (const auto& [ms, value] : samples) (std::isnan(value) ? markers : values) += 1;
  }
  const std::size_t series = fleet.expected(1).size();
  CHECK(values == before + series);
  CHECK(markers == series);
}
