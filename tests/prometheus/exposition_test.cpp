// The text format 0.0.4 writer: escaping, special values, families, and
// which bucket counts as the newest value.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <fstream>
#include <limits>
#include <set>
#include <thread>

#include "rondo/prometheus/exposition.hpp"
#include "common/raw_slab.hpp"
#include "common/shell.hpp"
#include "support/sample_store.hpp"

using namespace rondo;
using namespace rondo::prometheus;
using rondo::prometheus::test::demo_schemas;
using rondo::prometheus::test::TempDir;
using F = ConsolidationFn;

namespace {

constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp kT0 = 1'800'000'000ULL * kSecond;  // a multiple of 10 s

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t from = 0;
  while (from < text.size()) {
    const std::size_t nl = text.find('\n', from);
    lines.push_back(text.substr(from, nl - from));
    from = nl + 1;
  }
  return lines;
}

std::size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  std::size_t n = 0;
  for (const std::string& line : lines_of(text)) n += line.starts_with(prefix);
  return n;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const std::string& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("label values escape backslash, quote and newline, HELP escapes backslash and newline", "[exposition]") {
  CHECK(escape_label_value(R"(C:\dir)") == R"(C:\\dir)");
  CHECK(escape_label_value("say \"hi\"") == R"(say \"hi\")");
  CHECK(escape_label_value("two\nlines") == R"(two\nlines)");
  CHECK(escape_label_value("tab\there") == "tab\there");  // only those three
  CHECK(escape_help("a \"quoted\" \\ and\nmore") == "a \"quoted\" \\\\ and\\nmore");
}

TEST_CASE("values: NaN, +Inf, -Inf spelled as Prometheus does, doubles round-trip", "[exposition]") {
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(100) == "100");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(-2.5) == "-2.5");
  CHECK(format_value(1e21) == "1e+21");
  for (double v : {0.1 + 0.2, 1.0 / 3.0, 6.02214076e23, 5e-324, 1.7976931348623157e308}) {
    CHECK(std::strtod(format_value(v).c_str(), nullptr) == v);
  }
}

TEST_CASE("render_text: gauges show the newest sample, events a cumulative summary and the bucket max",
          "[exposition]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  const auto gauge = store.register_series("g_rss", std::vector<Label>{{"vm", "a"}});
  const auto event = store.register_series("e_exit_ns", std::vector<Label>{{"reason", "hlt"}});
  store.record(gauge, 10, kT0);
  store.record(gauge, 11, kT0 + kSecond);
  store.record(gauge, 12.5, kT0 + 2 * kSecond + 5);  // current bucket: still the newest sample
  store.record(event, 3, kT0 + kSecond);
  store.record(event, 4, kT0 + kSecond + 10);  // bucket kT0+1s: sum 7, count 2, max 4
  store.record(event, 100, kT0 + 2 * kSecond);  // current bucket: in the totals, not in the max

  const std::string text = render_text(store);
  INFO(text);
  CHECK(has_line(text, "g_rss{vm=\"a\"} 12.5"));
  CHECK(has_line(text, "# TYPE g_rss gauge"));
  CHECK(has_line(text, "# TYPE e_exit_seconds summary"));
  CHECK(has_line(text, "e_exit_seconds_sum{reason=\"hlt\"} " + format_value(107 * 1e-9)));
  CHECK(has_line(text, "e_exit_seconds_count{reason=\"hlt\"} 3"));
  CHECK(has_line(text, "e_exit_seconds_max{reason=\"hlt\"} " + format_value(4 * 1e-9)));
  CHECK(has_line(text, "# TYPE e_exit_seconds_max gauge"));
  CHECK(count_lines_starting(text, "# HELP ") == 3);
  CHECK(count_lines_starting(text, "# TYPE ") == 3);
  for (const std::string& line : lines_of(text)) {
    if (!line.starts_with("# HELP")) CHECK(line.find("_ns") == std::string::npos);  // base units only
  }
  CHECK(text.ends_with("\n"));

  SECTION("timestamps are the bucket start in ms, for per-bucket values only") {
    ExpositionOptions options;
    options.timestamps = true;
    const std::string stamped = render_text(store, options);
    const auto ms = [](Timestamp ns) { return std::to_string(ns / 1'000'000); };
    CHECK(has_line(stamped, "g_rss{vm=\"a\"} 12.5 " + ms(kT0 + 2 * kSecond)));
    CHECK(has_line(stamped, "e_exit_seconds_max{reason=\"hlt\"} " + format_value(4 * 1e-9) + " " + ms(kT0 + kSecond)));
    CHECK(has_line(stamped, "e_exit_seconds_count{reason=\"hlt\"} 3"));
  }
  SECTION("label naming, and average derived from sum and count") {
    ExpositionOptions options;
    options.naming.aggregate = AggregateNaming::Label;
    options.functions = {F::Average, F::Max};
    const std::string labelled = render_text(store, options);
    INFO(labelled);
    CHECK(has_line(labelled, "e_exit_seconds_aggregate{aggregate=\"avg\",reason=\"hlt\"} " + format_value(3.5 * 1e-9)));
    CHECK(has_line(labelled, "e_exit_seconds_aggregate{aggregate=\"max\",reason=\"hlt\"} " + format_value(4 * 1e-9)));
    CHECK(count_lines_starting(labelled, "# TYPE e_exit_seconds_aggregate gauge") == 1);
    // The gauge schema stores neither avg nor max in tier 0: it has nothing to show.
    CHECK(labelled.find("g_rss") == std::string::npos);
  }
  SECTION("tier 1 after consolidation") {
    store.record(gauge, 13, kT0 + 10 * kSecond);
    store.record(event, 1, kT0 + 10 * kSecond);
    store.consolidate();
    ExpositionOptions options;
    options.tier = 1;
    const std::string coarse = render_text(store, options);
    INFO(coarse);
    CHECK(has_line(coarse, "g_rss_max{vm=\"a\"} 12.5"));
    CHECK(has_line(coarse, "g_rss_min{vm=\"a\"} 10"));
    CHECK(has_line(coarse, "e_exit_seconds_max{reason=\"hlt\"} " + format_value(100 * 1e-9)));
    // The running totals do not depend on the tier: everything recorded.
    CHECK(has_line(coarse, "e_exit_seconds_sum{reason=\"hlt\"} " + format_value(108 * 1e-9)));
    CHECK(has_line(coarse, "e_exit_seconds_count{reason=\"hlt\"} 4"));
  }
}

TEST_CASE("render_text: a sealed store's last bucket is final, and shows", "[exposition]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  const auto event = store.register_series("e_exit_ns", std::vector<Label>{{"reason", "hlt"}});
  store.record(event, 3, kT0);
  store.record(event, 4, kT0 + kSecond);  // the newest bucket: still filling
  const std::string filling = render_text(store);
  INFO(filling);
  CHECK(has_line(filling, "e_exit_seconds_max{reason=\"hlt\"} " + format_value(3 * 1e-9)));

  // The VM exited: no record can change kT0+1s any more (Store::tier_state
  // says so), so it is the bucket shown, as drain() exports it.
  store.seal();
  REQUIRE(store.tier_state(1, 0).final_end == kT0 + 2 * kSecond);
  const std::string sealed = render_text(store);
  INFO(sealed);
  CHECK(has_line(sealed, "e_exit_seconds_max{reason=\"hlt\"} " + format_value(4 * 1e-9)));
  CHECK(has_line(sealed, "e_exit_seconds_count{reason=\"hlt\"} 2"));
}

TEST_CASE("render_text: counters are running totals that only grow, 0 before the first event", "[exposition]") {
  TempDir dir;
  std::vector<SchemaConfig> schemas = demo_schemas();
  schemas.insert(schemas.begin(), SchemaConfig{"counters", LabelMatcher::parse(R"({__name__=~".+_total"})"),
                                               {TierConfig{std::chrono::seconds(1), std::chrono::seconds(5), {F::Sum}}},
                                               4});
  Store store = Store::open(dir / "s", schemas);
  const auto exits = store.register_series("c_exits_total", std::vector<Label>{{"reason", "io"}});
  store.register_series("c_never_total");
  CHECK(has_line(render_text(store), "c_never_total 0"));
  double previous = -1;
  for (int s = 0; s < 20; ++s) {  // four times tier 0's retention
    store.record(exits, 1, kT0 + static_cast<Timestamp>(s) * kSecond);
    store.record(exits, 1, kT0 + static_cast<Timestamp>(s) * kSecond + 1);
    store.consolidate();
    const std::string text = render_text(store);
    REQUIRE(has_line(text, "c_exits_total{reason=\"io\"} " + std::to_string(2 * (s + 1))));
    CHECK(2.0 * (s + 1) > previous);
    previous = 2.0 * (s + 1);
  }
  const std::string text = render_text(store);
  INFO(text);
  CHECK(has_line(text, "# TYPE c_exits_total counter"));
  CHECK(count_lines_starting(text, "# HELP c_exits_total Running total") == 1);
}

TEST_CASE("render_text: a gauge with no current value disappears; registered help texts are used", "[exposition]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  const auto stale = store.register_series("g_stale");
  const auto fresh = store.register_series("g_fresh");
  const auto rare = store.register_series("e_rare");
  const auto busy = store.register_series("e_busy");
  store.record(stale, 1, kT0);
  store.record(rare, 5, kT0);
  for (int s = 0; s < 4; ++s) {
    store.record(fresh, s, kT0 + static_cast<Timestamp>(s) * kSecond);
    store.record(busy, s, kT0 + static_cast<Timestamp>(s) * kSecond);
  }
  ExpositionOptions options;
  options.help["g_fresh"] = "Bytes the VM holds\nnow";
  const std::string text = render_text(store, options);
  INFO(text);
  CHECK(has_line(text, "g_fresh 3"));
  CHECK(count_lines_starting(text, "g_stale") == 0);      // three buckets behind its schema
  CHECK(count_lines_starting(text, "e_rare_max") == 0);   // no event in the newest complete bucket
  CHECK(has_line(text, "e_rare_count 1"));                 // its totals stay
  CHECK(has_line(text, "e_busy_max 2"));
  CHECK(count_lines_starting(text, "# HELP g_fresh Bytes the VM holds\\nnow. Newest value") == 1);
}

TEST_CASE("render_text: families are contiguous, with one HELP and TYPE each", "[exposition]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  // Registration order interleaves two families.
  const auto a1 = store.register_series("g_a", std::vector<Label>{{"k", "1"}});
  const auto b1 = store.register_series("g_b", std::vector<Label>{{"k", "1"}});
  const auto a2 = store.register_series("g_a", std::vector<Label>{{"k", "2"}});
  for (auto h : {a1, b1, a2}) store.record(h, 1, kT0);
  const std::vector<std::string> lines = lines_of(render_text(store));
  const std::vector<std::string> expected_prefixes = {"# HELP g_a ", "# TYPE g_a ", "g_a{k=\"1\"}", "g_a{k=\"2\"}",
                                                      "# HELP g_b ", "# TYPE g_b ", "g_b{k=\"1\"}"};
  REQUIRE(lines.size() == expected_prefixes.size());
  for (std::size_t i = 0; i < lines.size(); ++i) CHECK(lines[i].starts_with(expected_prefixes[i]));
}

TEST_CASE("render_text: escaping, +Inf, sanitized names and refused series", "[exposition]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  store.record(store.register_series("g_path", std::vector<Label>{{"file", "C:\\tmp\\\"x\"\nnext"}}), 1, kT0);
  store.record(store.register_series("g_hot", std::vector<Label>{{"x", "y"}}),
               std::numeric_limits<double>::infinity(), kT0);
  store.record(store.register_series("g_cold", std::vector<Label>{{"x", "y"}}),
               -std::numeric_limits<double>::infinity(), kT0);
  store.record(store.register_series("g_dot.ted", std::vector<Label>{{"a-b", "1"}}), 2, kT0);
  store.record(store.register_series("g_dot_ted", std::vector<Label>{{"a_b", "1"}}), 3, kT0);  // same once sanitized
  store.record(store.register_series("g_bad", std::vector<Label>{{"v", "\xff"}}), 4, kT0);

  const std::string text = render_text(store);
  INFO(text);
  CHECK(has_line(text, R"(g_path{file="C:\\tmp\\\"x\"\nnext"} 1)"));
  CHECK(has_line(text, "g_hot{x=\"y\"} +Inf"));
  CHECK(has_line(text, "g_cold{x=\"y\"} -Inf"));
  CHECK(has_line(text, "g_dot_ted{a_b=\"1\"} 2"));  // the first claimant keeps the name
  CHECK(count_lines_starting(text, "g_dot_ted{") == 1);
  CHECK(count_lines_starting(text, "# rondo: not exported: g_dot_ted{a_b=\"1\"}") == 1);
  CHECK(count_lines_starting(text, "g_bad") == 0);
  CHECK(count_lines_starting(text, "# rondo: not exported: g_bad") == 1);
}

TEST_CASE("render_text: extra labels, and bad options are refused clearly", "[exposition]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  store.record(store.register_series("g_x", std::vector<Label>{{"vm", "own"}}), 1, kT0);
  ExpositionOptions options;
  options.extra_labels = {{"instance", "host-1"}, {"vm", "ignored"}};
  CHECK(has_line(render_text(store, options), "g_x{instance=\"host-1\",vm=\"own\"} 1"));
  options.extra_labels = {{"bad-name", "v"}};
  CHECK_THROWS_AS(render_text(store, options), Error);
}

TEST_CASE("mount_metrics serves the exposition with the 0.0.4 content type", "[exposition]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  store.record(store.register_series("g_up"), 1, kT0);
  httplib::Server server;
  mount_metrics(server, store, {}, "/metrics");
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread loop([&] { server.listen_after_bind(); });
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/metrics");
  server.stop();
  loop.join();
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == kTextContentType);
  CHECK(res->body == render_text(store));
}

namespace {

// The stored quantile the exposition must show, read with the store's own API.
std::string quantile_line(const Store& store, SeriesHandle h, const std::string& label, double q, Timestamp bucket) {
  const std::vector<Point> p = store.query(h, 0, bucket, bucket, Quantile{q});
  REQUIRE(p.size() == 1);
  return "e_exit_seconds{quantile=\"" + label + "\",reason=\"hlt\"} " + format_value(p[0].value * 1e-9);
}

}  // namespace

TEST_CASE("render_text: stored quantiles are the summary's quantile samples, from the newest final bucket that has them",
          "[exposition]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas(16, /*quantiles=*/true));
  const auto event = store.register_series("e_exit_ns", std::vector<Label>{{"reason", "hlt"}});
  for (int v = 1; v <= 100; ++v) store.record(event, 1000.0 * v, kT0 + kSecond + static_cast<Timestamp>(v));
  store.record(event, 7, kT0 + 2 * kSecond);  // kT0+1s is closed
  store.consolidate();                        // and has its quantiles

  const std::string text = render_text(store);
  INFO(text);
  CHECK(count_lines_starting(text, "# TYPE e_exit_seconds summary") == 1);
  CHECK(count_lines_starting(text, "# HELP e_exit_seconds ") == 1);
  CHECK(has_line(text, quantile_line(store, event, "0.5", 0.5, kT0 + kSecond)));
  CHECK(has_line(text, quantile_line(store, event, "0.9", 0.9, kT0 + kSecond)));
  CHECK(has_line(text, quantile_line(store, event, "0.99", 0.99, kT0 + kSecond)));
  CHECK(has_line(text, quantile_line(store, event, "0.999", 0.999, kT0 + kSecond)));
  // The rank-50 record is 50 µs: the store's bound (0.78 %), in seconds.
  CHECK(store.query(event, 0, kT0 + kSecond, kT0 + kSecond, Quantile{0.5}).at(0).value == Approx(50'000).epsilon(0.0078));
  // The summary's _sum and _count stay the running totals, the current bucket included.
  CHECK(has_line(text, "e_exit_seconds_sum{reason=\"hlt\"} " + format_value((1000.0 * 5050 + 7) * 1e-9)));
  CHECK(has_line(text, "e_exit_seconds_count{reason=\"hlt\"} 101"));
  CHECK(count_lines_starting(text, "e_exit_seconds{") == 4);

  SECTION("promtool's linter accepts the summary") {
    const std::filesystem::path file = dir / "metrics.txt";
    std::ofstream(file) << text;
    CHECK(rondo::test::run_shell("/usr/bin/promtool check metrics < " + file.string()) == "");
  }
  SECTION("a closed bucket without its quantiles yet: the one before is shown, then none") {
    store.record(event, 9, kT0 + 3 * kSecond);  // kT0+2s closed; consolidate() has not run since
    ExpositionOptions stamped;
    stamped.timestamps = true;
    const std::string waiting = render_text(store, stamped);
    INFO(waiting);
    const std::string ms = std::to_string((kT0 + kSecond) / 1'000'000);
    CHECK(has_line(waiting, quantile_line(store, event, "0.99", 0.99, kT0 + kSecond) + " " + ms));
    CHECK(has_line(waiting, "e_exit_seconds_max{reason=\"hlt\"} " + format_value(7 * 1e-9) + " " +
                                std::to_string((kT0 + 2 * kSecond) / 1'000'000)));
    store.record(event, 11, kT0 + 4 * kSecond);  // two final buckets without quantiles: kT0+1s is too old
    CHECK(count_lines_starting(render_text(store), "e_exit_seconds{") == 0);
    store.consolidate();
    const std::string caught_up = render_text(store);
    INFO(caught_up);
    CHECK(has_line(caught_up, quantile_line(store, event, "0.5", 0.5, kT0 + 3 * kSecond)));
    CHECK(count_lines_starting(caught_up, "e_exit_seconds{") == 4);
  }
  SECTION("a series that already has a quantile label keeps its other samples, not its quantiles") {
    const auto odd = store.register_series("e_odd_ns", std::vector<Label>{{"quantile", "x"}});
    store.record(odd, 5, kT0 + 2 * kSecond);
    const std::string refused = render_text(store);
    INFO(refused);
    CHECK(count_lines_starting(refused, "# rondo: not exported: e_odd_ns{quantile=\"x\"}: its stored quantiles") == 1);
    CHECK(has_line(refused, "e_odd_seconds_count{quantile=\"x\"} 1"));
  }
}

TEST_CASE("render_text: a page shows each record_batch() whole or not at all", "[exposition][batch]") {
  // A VM exit's counters, recorded as one batch per exit: on any page every
  // counter's total is the same, and so is every gauge's value.
  TempDir dir;
  std::vector<SchemaConfig> schemas = demo_schemas();
  schemas.insert(schemas.begin(), SchemaConfig{"counters", LabelMatcher::parse(R"({__name__=~".+_total"})"),
                                               {TierConfig{std::chrono::seconds(1), std::chrono::minutes(10), {F::Sum}}},
                                               8});
  Store store = Store::open(dir / "s", schemas);
  std::vector<std::pair<SeriesHandle, double>> batch;
  for (int i = 0; i < 8; ++i) {
    const std::vector<Label> labels = {{"reason", std::to_string(i)}};
    batch.emplace_back(store.register_series("c_exits_total", labels), 1.0);
    batch.emplace_back(store.register_series("g_last_exit", labels), 0.0);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> batches{0}, refused{0};
  std::thread writer([&] {  // no Catch assertion off the main thread
    for (int k = 1; !stop.load(); ++k) {
      for (std::size_t e = 1; e < batch.size(); e += 2) batch[e].second = k;  // the gauges: the exit's number
      if (store.record_batch(batch, kT0 + static_cast<Timestamp>(k) * 1'000'000) != WriteStatus::Ok) ++refused;
      batches.store(k);
      // Exits come with gaps. 5 ms: a page (about 1 ms under ASan on a loaded
      // machine) then fits between two batches within read_whole_batches()'s
      // 64 tries; with 100 us every try could overlap one and the page give up.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  while (batches.load() == 0) std::this_thread::yield();
  int mixed = 0;
  for (int page = 0; page < 2000; ++page) {
    std::set<std::string> totals, gauges;
    for (const std::string& line : lines_of(render_text(store))) {
      const std::string value = line.substr(line.rfind(' ') + 1);
      if (line.starts_with("c_exits_total{")) totals.insert(value);
      if (line.starts_with("g_last_exit{")) gauges.insert(value);
    }
    mixed += totals.size() != 1 || gauges.size() != 1;
  }
  stop.store(true);
  writer.join();
  INFO("batches " << batches.load());
  CHECK(refused.load() == 0);
  CHECK(mixed == 0);
}

TEST_CASE("render_text: a page it could not read clear of a batch says so", "[exposition][batch]") {
  TempDir dir;
  {
    Store store = Store::open(dir / "s", demo_schemas());
    const std::vector<std::pair<SeriesHandle, double>> batch{{store.register_series("g_a"), 1.0},
                                                             {store.register_series("g_b"), 5.0}};
    REQUIRE(store.record_batch(batch, kT0) == WriteStatus::Ok);
    CHECK(render_text(store).find(kPartialBatchesComment) == std::string::npos);
  }
  // What a writer killed inside a batch leaves: the batch counter (first
  // schema, tier 0) odd.
  {
    rondo::test::RawSlab raw(dir / "s" / "schema_0" / "tier_0.slab");
    rondo::detail::SlabState state = raw.state();
    REQUIRE(state.batch_seq % 2 == 0);
    state.batch_seq += 1;
    raw.set_state(state);
  }
  const Store reader = Store::open_read_only(dir / "s");
  const std::string page = render_text(reader);
  CHECK(page.find("g_b") != std::string::npos);  // the page is still served
  CHECK(page.ends_with(std::string(kPartialBatchesComment) + "\n"));
  // A writer's open evens the counter: whole pages again.
  const Store writer = Store::open(dir / "s", demo_schemas());
  CHECK(render_text(writer).find(kPartialBatchesComment) == std::string::npos);
}
