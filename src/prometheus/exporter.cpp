#include "rondo/prometheus/exporter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <tuple>

#include "counter_samples.hpp"
#include "export_position.hpp"
#include "http_client.hpp"
#include "retry.hpp"
#include "series_naming.hpp"
#include "write_request.hpp"

namespace rondo::prometheus {
namespace {

using detail::ExportedSeries;
using detail::ExportPosition;
using detail::OutgoingSample;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMillisecond = 1'000'000;

void check_options(const Store& store, const ExporterOptions& options) {
  auto fail = [](const std::string& why) { throw Error(ErrorCode::InvalidArgument, "exporter: " + why); };
  if (!options.url.starts_with("http://") && !options.url.starts_with("https://")) {
    fail("url must start with http:// or https:// (got '" + options.url + "')");
  }
  if (options.max_samples_per_request == 0) fail("max_samples_per_request must be at least 1");
  if (options.max_buckets_per_drain == 0) fail("max_buckets_per_drain must be at least 1");
  if (options.retry.min_backoff.count() <= 0) fail("retry.min_backoff must be positive");
  if (!(options.retry.jitter >= 0.0 && options.retry.jitter <= 1.0)) fail("retry.jitter must be in [0, 1]");
  bool any = false;
  for (const SchemaConfig& schema : store.schemas()) {
    if (options.tier >= schema.tiers.size()) continue;
    any = true;
    // Remote write counts in milliseconds: finer buckets would collide.
    const auto interval = static_cast<std::uint64_t>(schema.tiers[options.tier].interval.count());
    if (interval < kMillisecond) {
      fail("schema '" + schema.name + "' tier " + std::to_string(options.tier) +
           " has buckets shorter than 1 ms, which remote write (millisecond timestamps) cannot tell apart");
    }
  }
  if (!any) fail("no schema of the store has tier " + std::to_string(options.tier));
}

std::string describe_failure(const detail::HttpResponse& response) {
  if (response.status == 0) return "no response: " + response.error;
  std::string text = "HTTP " + std::to_string(response.status);
  if (!response.body.empty()) {
    std::string body = response.body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    text += ": " + body;
  }
  return text;
}

bool same_cursor(const ExportCursor& a, const ExportCursor& b, std::size_t schemas) {
  for (std::size_t s = 0; s < schemas; ++s) {
    if (a.next(s) != b.next(s)) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(PassOutcome outcome) noexcept {
  switch (outcome) {
    case PassOutcome::CaughtUp: return "caught up";
    case PassOutcome::Stopped: return "stopped";
    case PassOutcome::GaveUp: return "gave up";
    case PassOutcome::Misdirected: return "wrong endpoint";
  }
  return "?";
}

std::filesystem::path default_cursor_file(const Store& store, const std::string& url, std::size_t tier) {
  // Beside the store directory, not inside it: the store's directory holds
  // only the store's own files (info() lists them, open() checks them).
  // One position per receiver and tier: two receivers keep two cursors.
  std::filesystem::path dir = store.path();
  if (!dir.has_filename()) dir = dir.parent_path();  // "/x/store/" -> "/x/store"
  const std::uint64_t h = detail::fnv1a64(url);
  std::string digits(16, '0');
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) digits[static_cast<std::size_t>(i)] = kHex[(h >> (60 - 4 * i)) & 0xF];
  return dir.parent_path() /
         (dir.filename().string() + ".export-tier" + std::to_string(tier) + "-" + digits + ".cursor");
}

enum class SendOutcome { Delivered, Dropped, Stopped, GaveUp, Misdirected };

PassOutcome pass_outcome(SendOutcome outcome) {
  switch (outcome) {
    case SendOutcome::Stopped: return PassOutcome::Stopped;
    case SendOutcome::GaveUp: return PassOutcome::GaveUp;
    case SendOutcome::Misdirected: return PassOutcome::Misdirected;
    case SendOutcome::Delivered:
    case SendOutcome::Dropped: break;
  }
  return PassOutcome::CaughtUp;
}

struct Exporter::Impl {
  Impl(const Store& s, ExporterOptions o)
      : store(s),
        options(std::move(o)),
        file(options.cursor_file.empty() ? default_cursor_file(store, options.url, options.tier)
                                         : options.cursor_file),
        selection{options.tier, options.functions, options.naming, options.extra_labels},
        lock(file) {
    detail::validate(selection);
    if (auto loaded = detail::load_position(file, options.tier)) position = std::move(*loaded);
    headers = {"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
               "User-Agent: " + options.user_agent, "X-Prometheus-Remote-Write-Version: 0.1.0"};
  }

  PassResult pass(std::optional<std::chrono::nanoseconds> give_up_after);
  SendOutcome send(std::span<const OutgoingSample> batch, std::optional<std::chrono::nanoseconds> give_up_after,
                   int& last_status);
  void refresh_naming();
  std::vector<OutgoingSample> collect(const DrainResult& drained) const;
  ExportPosition position_after(std::span<const OutgoingSample> samples, std::size_t acked,
                                const ExportCursor& drained_to, const ExportPosition& before) const;
  void persist();
  void update_lag();
  bool sleep_unless_stopped(std::chrono::milliseconds wait);
  void run(std::chrono::nanoseconds interval);

  template <typename F>
  void with_stats(F f) {
    std::lock_guard guard(stats_mutex);
    f(stats);
  }

  const Store& store;
  ExporterOptions options;
  std::filesystem::path file;
  detail::SeriesSelection selection;
  detail::PositionLock lock;
  detail::HttpClient http;
  std::vector<std::string> headers;

  std::mutex pass_mutex;  // one pass at a time; guards everything below up to the stats
  ExportPosition position;
  bool unsaved = false;  // position advanced but not yet persisted (a failed save)
  std::size_t named_count = static_cast<std::size_t>(-1);
  detail::NamedSeries named;
  std::map<std::pair<std::size_t, std::uint32_t>, std::vector<const ExportedSeries*>> by_series;

  mutable std::mutex stats_mutex;
  ExporterStats stats;

  std::atomic<bool> stopping{false};
  detail::AbortSignal abort;  // ends a request in flight, stop_grace after stop()
  std::mutex sleep_mutex;
  std::condition_variable sleep_cv;
  bool wake_requested = false;  // guarded by sleep_mutex
  std::thread worker;
};

void Exporter::Impl::refresh_naming() {
  std::vector<SeriesInfo> all = store.series();
  if (all.size() == named_count) return;  // series are only ever added
  named = detail::name_series(all, store.schemas(), selection);
  named_count = all.size();
  by_series.clear();
  for (const ExportedSeries& series : named.exported) {
    by_series[{series.schema, series.handle.column()}].push_back(&series);
  }
  for (const detail::Refusal& refusal : named.refused) {
    spdlog::warn("rondo exporter: not exporting {}: {}", refusal.series, refusal.reason);
  }
  with_stats([&](ExporterStats& s) { s.series_refused = named.refused.size(); });
}

// Every sample of the drained buckets, for every exported aggregate, in
// delivery order: schema, bucket, series key. Samples an earlier pass
// already delivered (the partial bucket) are left out.
std::vector<OutgoingSample> Exporter::Impl::collect(const DrainResult& drained) const {
  std::vector<OutgoingSample> samples;
  auto add = [&](const ExportedSeries* series, const Point& p) {
    if (!std::isnan(p.value)) samples.push_back({series, p.time, p.value * series->scale});
  };
  // drain() yields each stored function of a series separately; the
  // buckets it returns are the same for all of them.
  std::map<std::pair<std::size_t, std::uint32_t>, const DrainedSeries*> buckets_of;
  for (const DrainedSeries& ds : drained.series) {
    if (ds.points.empty()) continue;
    const auto id = std::pair<std::size_t, std::uint32_t>(ds.handle.schema(), ds.handle.column());
    const auto found = by_series.find(id);
    if (found == by_series.end()) continue;
    buckets_of.emplace(id, &ds);
    for (const ExportedSeries* series : found->second) {
      if (series->fn != ds.fn) continue;
      const std::vector<Point> cumulative =
          series->cumulative ? detail::cumulative_points(store, *series, options.tier, ds.points) : ds.points;
      for (const Point& p : cumulative) add(series, p);
    }
  }
  // Aggregates the tier does not store as such (Average from Sum and Count):
  // ask the store for them over the drained buckets.
  for (const auto& [id, ds] : buckets_of) {
    for (const ExportedSeries* series : by_series.at(id)) {
      if (series->stored) continue;
      const std::vector<Point> values =
          store.query(ds->handle, options.tier, ds->points.front().time, ds->points.back().time, series->fn);
      auto want = ds->points.begin();
      for (const Point& p : values) {
        while (want != ds->points.end() && want->time < p.time) ++want;
        if (want == ds->points.end()) break;
        if (want->time == p.time) add(series, p);
      }
    }
  }
  std::sort(samples.begin(), samples.end(), [](const OutgoingSample& a, const OutgoingSample& b) {
    return std::tie(a.series->schema, a.time, a.series->key) < std::tie(b.series->schema, b.time, b.series->key);
  });
  if (!position.partial.empty()) {
    std::erase_if(samples, [&](const OutgoingSample& s) {
      const auto done = position.partial.find(s.series->schema);
      return done != position.partial.end() && s.time == done->second.time && s.series->key <= done->second.last_key;
    });
  }
  return samples;
}

// The position once samples[0, acked) are delivered (or dropped). Samples
// are ordered by schema: schemas before the next sample's are done with this
// drain; the next sample's schema stops at its bucket (partly, if some of
// that bucket went out); later schemas keep where they were, partial
// buckets included.
ExportPosition Exporter::Impl::position_after(std::span<const OutgoingSample> samples, std::size_t acked,
                                              const ExportCursor& drained_to,
                                              const ExportPosition& before) const {
  if (acked == samples.size()) return ExportPosition{drained_to, {}};
  const OutgoingSample& next = samples[acked];
  const std::size_t schema = next.series->schema;
  ExportPosition after{before.cursor, {}};
  for (std::size_t s = 0; s < schema; ++s) after.cursor.set_next(s, drained_to.next(s));
  after.cursor.set_next(schema, next.time);
  for (const auto& [s, partial] : before.partial) {
    if (s > schema) after.partial[s] = partial;
  }
  if (acked > 0 && samples[acked - 1].series->schema == schema && samples[acked - 1].time == next.time) {
    after.partial[schema] = detail::PartialBucket{next.time, samples[acked - 1].series->key};
  } else if (const auto old = before.partial.find(schema);
             old != before.partial.end() && old->second.time == next.time) {
    after.partial[schema] = old->second;  // this pass has not got further into that bucket yet
  }
  return after;
}

void Exporter::Impl::persist() {
  unsaved = true;
  detail::save_position(file, position, options.tier, options.url);
  unsaved = false;
}

void Exporter::Impl::update_lag() {
  StoreInfo info;
  try {
    info = store.info();
  } catch (const std::exception& e) {
    // info() lists the store's files; one renamed under it (a position
    // file being replaced) can make it fail. The lag just stays as it was.
    spdlog::debug("rondo exporter: no lag this time: {}", e.what());
    return;
  }
  const auto& schemas = store.schemas();
  std::uint64_t lag = 0;
  for (std::size_t s = 0; s < schemas.size() && s < info.schemas.size(); ++s) {
    if (options.tier >= schemas[s].tiers.size()) continue;
    const TierInfo& tier = info.schemas[s].tiers[options.tier];
    if (!tier.newest || !tier.oldest) continue;
    // Tier 0's newest bucket is still filling and not drainable yet.
    const auto interval = static_cast<std::uint64_t>(tier.interval.count());
    const Timestamp drainable_end = options.tier == 0 ? *tier.newest : *tier.newest + interval;
    const Timestamp from = std::max(position.cursor.next(s), *tier.oldest);
    if (drainable_end > from) lag = std::max(lag, drainable_end - from);
  }
  with_stats([&](ExporterStats& st) { st.lag = std::chrono::nanoseconds(lag); });
}

bool Exporter::Impl::sleep_unless_stopped(std::chrono::milliseconds wait) {
  std::unique_lock guard(sleep_mutex);
  sleep_cv.wait_for(guard, wait, [&] { return stopping.load(); });
  return !stopping.load();
}

SendOutcome Exporter::Impl::send(std::span<const OutgoingSample> batch,
                                 std::optional<std::chrono::nanoseconds> give_up_after, int& last_status) {
  const std::string body = detail::build_request_body(batch);
  detail::Backoff backoff(options.retry);
  const detail::HttpRequestOptions http_options{options.connect_timeout, options.request_timeout};
  const Clock::time_point began = Clock::now();
  for (;;) {
    if (stopping.load()) return SendOutcome::Stopped;
    const detail::HttpResponse response = http.post(options.url, headers, body, http_options, &abort);
    if (response.aborted) return SendOutcome::Stopped;
    const detail::Verdict verdict = detail::classify(response, options.retry.retry_on_429);
    last_status = response.status;
    with_stats([&](ExporterStats& s) { s.last_status = response.status; });
    switch (verdict) {
      case detail::Verdict::Delivered:
        with_stats([&](ExporterStats& s) {
          s.samples_sent += batch.size();
          ++s.requests_sent;
        });
        return SendOutcome::Delivered;
      case detail::Verdict::Drop: {
        const std::string why = describe_failure(response);
        spdlog::warn("rondo exporter: {} dropped {} samples: {}", options.url, batch.size(), why);
        with_stats([&](ExporterStats& s) {
          ++s.batches_dropped;
          s.samples_dropped += batch.size();
          s.last_error = why;
        });
        return SendOutcome::Dropped;
      }
      case detail::Verdict::Misdirected: {
        const std::string why = describe_failure(response);
        spdlog::error("rondo exporter: {} is not a remote-write endpoint we may use ({}); stopped, "
                      "nothing dropped, the position is kept", options.url, why);
        with_stats([&](ExporterStats& s) {
          ++s.misdirected;
          s.last_error = why;
        });
        return SendOutcome::Misdirected;
      }
      case detail::Verdict::Retry: {
        const std::string why = describe_failure(response);
        with_stats([&](ExporterStats& s) {
          ++s.retries;
          s.last_error = why;
        });
        update_lag();  // an outage is when the operator most wants to see it grow
        const std::chrono::milliseconds wait = backoff.next(response.retry_after);
        if (give_up_after && Clock::now() + wait - began > *give_up_after) return SendOutcome::GaveUp;
        if (!sleep_unless_stopped(wait)) return SendOutcome::Stopped;
        break;
      }
    }
  }
}

PassResult Exporter::Impl::pass(std::optional<std::chrono::nanoseconds> give_up_after) {
  std::lock_guard guard(pass_mutex);
  PassResult result;
  const std::size_t schema_count = store.schemas().size();
  if (unsaved) persist();
  for (bool done = false; !done;) {
    if (stopping.load()) {
      result.outcome = PassOutcome::Stopped;
      break;
    }
    const ExportPosition before = position;
    ExportCursor drained_to = position.cursor;
    const DrainResult drained = store.drain(options.tier, drained_to, options.max_buckets_per_drain);
    // After the drain: every series it returned is then known to series(),
    // also in a read-only view of a store another process keeps registering in.
    refresh_naming();
    if (drained.missed_buckets > 0) {
      spdlog::warn("rondo exporter: {} buckets of tier {} left the store before they were sent",
                   drained.missed_buckets, options.tier);
      with_stats([&](ExporterStats& s) { s.missed_buckets += drained.missed_buckets; });
    }
    const std::vector<OutgoingSample> samples = collect(drained);
    if (samples.empty()) {
      if (same_cursor(drained_to, position.cursor, schema_count)) break;  // caught up
      position = ExportPosition{drained_to, {}};
      persist();
      continue;
    }
    const std::span<const OutgoingSample> all(samples);
    for (std::size_t start = 0; start < all.size();) {
      const std::size_t count = std::min(options.max_samples_per_request, all.size() - start);
      const SendOutcome outcome = send(all.subspan(start, count), give_up_after, result.last_status);
      if (outcome != SendOutcome::Delivered && outcome != SendOutcome::Dropped) {
        result.outcome = pass_outcome(outcome);  // the position stays before this batch
        done = true;
        break;
      }
      (outcome == SendOutcome::Delivered ? result.samples_sent : result.samples_dropped) += count;
      start += count;
      position = position_after(all, start, drained_to, before);
      persist();
    }
  }
  update_lag();
  with_stats([](ExporterStats& s) { ++s.passes; });
  return result;
}

void Exporter::Impl::run(std::chrono::nanoseconds interval) {
  while (!stopping.load()) {
    try {
      pass(std::nullopt);
    } catch (const std::exception& e) {
      spdlog::error("rondo exporter: pass failed: {}", e.what());
      with_stats([&](ExporterStats& s) { s.last_error = e.what(); });
    }
    std::unique_lock guard(sleep_mutex);
    sleep_cv.wait_for(guard, interval, [&] { return stopping.load() || wake_requested; });
    wake_requested = false;
  }
}

Exporter::Exporter(const Store& store, ExporterOptions options) {
  check_options(store, options);
  impl_ = std::make_unique<Impl>(store, std::move(options));
}

Exporter::~Exporter() { stop(); }

PassResult Exporter::export_pending(std::optional<std::chrono::nanoseconds> give_up_after) {
  return impl_->pass(give_up_after);
}

void Exporter::start(std::chrono::nanoseconds interval) {
  if (impl_->worker.joinable()) throw Error(ErrorCode::InvalidArgument, "exporter: already running");
  impl_->stopping = false;
  impl_->worker = std::thread([impl = impl_.get(), interval] { impl->run(interval); });
}

void Exporter::wake() noexcept {
  {
    std::lock_guard guard(impl_->sleep_mutex);
    impl_->wake_requested = true;
  }
  impl_->sleep_cv.notify_all();
}

void Exporter::stop() {
  if (!impl_) return;
  {
    std::lock_guard guard(impl_->sleep_mutex);
    impl_->stopping = true;
  }
  impl_->abort.abort_after(impl_->options.stop_grace);
  impl_->sleep_cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  { std::lock_guard wait_for_pass(impl_->pass_mutex); }  // a pass on another thread has seen it
  impl_->abort.clear();
  impl_->stopping = false;
}

bool Exporter::running() const noexcept { return impl_->worker.joinable(); }

ExporterStats Exporter::stats() const {
  std::lock_guard guard(impl_->stats_mutex);
  return impl_->stats;
}

const ExporterOptions& Exporter::options() const noexcept { return impl_->options; }
const std::filesystem::path& Exporter::cursor_file() const noexcept { return impl_->file; }

}  // namespace rondo::prometheus
