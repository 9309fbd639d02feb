#include "rondo/prometheus/fleet_exporter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "delivery.hpp"
#include "store_feed.hpp"

namespace rondo::prometheus {
namespace {

using detail::OutgoingSample;
using detail::SendOutcome;

// A store in the fleet. `mutex` is held whenever the feed touches the store,
// so that remove() can return once the store is no longer used.
struct Entry {
  Entry(const Store& store, StoreExportOptions options, const std::string& url)
      : feed(store, std::move(options), url) {}
  std::mutex mutex;
  detail::StoreFeed feed;
  bool removed = false;    // guarded by mutex
  bool finishing = false;  // finish() was called (guarded by mutex)
  std::vector<OutgoingSample> markers;  // the stale markers of a finished store, once caught up
};

}  // namespace

StoreExportOptions store_part(const ExporterOptions& o) {
  return StoreExportOptions{o.tier, o.functions, o.naming, o.extra_labels, o.max_buckets_per_drain, o.cursor_file};
}

DeliveryOptions delivery_part(const ExporterOptions& o) {
  return DeliveryOptions{o.url,         o.max_samples_per_request, o.retry,       o.stop_grace,
                         o.connect_timeout, o.request_timeout,         o.user_agent};
}

struct FleetExporter::Impl {
  explicit Impl(DeliveryOptions options) : delivery(std::move(options)) {}

  // The stores one pass works on: all of them, or just `only`.
  std::vector<std::shared_ptr<Entry>> snapshot(const std::string* only) const;
  PassResult pass(std::optional<std::chrono::nanoseconds> give_up_after, bool rethrow, const std::string* only);
  void run(std::chrono::nanoseconds interval);

  detail::Delivery delivery;

  mutable std::mutex feeds_mutex;
  std::map<std::string, std::shared_ptr<Entry>> feeds;  // guarded by feeds_mutex

  std::mutex pass_mutex;    // one pass at a time
  std::size_t rotation = 0;  // which store fills the next request first (guarded by pass_mutex)
  std::atomic<std::uint64_t> passes{0};
  std::thread worker;
};

std::vector<std::shared_ptr<Entry>> FleetExporter::Impl::snapshot(const std::string* only) const {
  std::lock_guard guard(feeds_mutex);
  std::vector<std::shared_ptr<Entry>> out;
  for (const auto& [name, entry] : feeds) {
    if (only == nullptr || name == *only) out.push_back(entry);
  }
  return out;
}

// Fills each request from the stores in turn (a different one first each
// time, so that a big backlog does not starve the others), sends it, then
// lets every store that contributed move its position past its part.
PassResult FleetExporter::Impl::pass(std::optional<std::chrono::nanoseconds> give_up_after, bool rethrow,
                                     const std::string* only) {
  std::lock_guard guard(pass_mutex);
  PassResult result;
  const std::vector<std::shared_ptr<Entry>> entries = snapshot(only);
  const std::size_t n = entries.size();
  std::vector<bool> done(n, false);  // caught up, removed or failed in this pass
  std::vector<bool> failed(n, false);
  std::exception_ptr first_error;
  // Runs f on store i with its lock held; an exception fails that store only.
  auto run_on = [&](std::size_t i, auto&& f) {
    try {
      f(entries[i]->feed);
    } catch (const std::exception& e) {
      spdlog::error("rondo exporter: {}: {}", entries[i]->feed.cursor_file().string(), e.what());
      entries[i]->feed.stats().last_error = e.what();
      if (!first_error) first_error = std::current_exception();
      done[i] = failed[i] = true;
    }
  };
  auto guarded = [&](std::size_t i, auto&& f) {
    std::lock_guard entry_guard(entries[i]->mutex);
    if (entries[i]->removed) {
      done[i] = true;
      return;
    }
    run_on(i, f);
  };
  for (std::size_t i = 0; i < n; ++i) {
    guarded(i, [](detail::StoreFeed& feed) {
      feed.stats().last_error.clear();
      feed.save_if_unsaved();
      feed.begin_pass();
    });
  }
  const std::size_t max = delivery.options().max_samples_per_request;
  for (;;) {
    if (delivery.stopping()) {
      result.outcome = PassOutcome::Stopped;
      break;
    }
    std::vector<OutgoingSample> batch;
    std::vector<std::pair<std::size_t, std::size_t>> parts;  // (entry, samples in the batch)
    std::vector<std::size_t> ending;  // entries whose stale markers are in the batch
    for (std::size_t k = 0; k < n && batch.size() < max; ++k) {
      const std::size_t i = (rotation + k) % n;
      if (done[i]) continue;
      guarded(i, [&](detail::StoreFeed& feed) {
        const std::span<const OutgoingSample> part = feed.pending(max - batch.size());
        if (!part.empty()) {
          batch.insert(batch.end(), part.begin(), part.end());
          parts.emplace_back(i, part.size());
          return;
        }
        done[i] = true;
        Entry& entry = *entries[i];
        if (entry.finishing && !feed.stats().ended) {
          // Caught up and ended: its series end here. (These may take the
          // request past max_samples_per_request; one store's markers go together.)
          entry.markers = feed.stale_markers();
          batch.insert(batch.end(), entry.markers.begin(), entry.markers.end());
          ending.push_back(i);
        }
      });
    }
    ++rotation;
    if (batch.empty()) break;  // caught up
    const SendOutcome outcome = delivery.send(batch, give_up_after, result.last_status, [&] {
      for (const auto& [i, count] : parts) guarded(i, [](detail::StoreFeed& feed) { feed.update_lag(); });
    });
    if (outcome != SendOutcome::Delivered && outcome != SendOutcome::Dropped) {
      result.outcome = detail::pass_outcome(outcome);  // every position stays before this batch
      break;
    }
    const bool delivered = outcome == SendOutcome::Delivered;
    (delivered ? result.samples_sent : result.samples_dropped) += batch.size();
    for (const std::size_t i : ending) {
      std::lock_guard entry_guard(entries[i]->mutex);
      entries[i]->feed.stats().ended = true;
    }
    for (const auto& [i, count] : parts) {
      // A removed store's position still moves: it only writes its file.
      std::lock_guard entry_guard(entries[i]->mutex);
      run_on(i, [&](detail::StoreFeed& feed) { feed.advance(count, delivered); });
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const bool caught_up = !failed[i] && result.outcome == PassOutcome::CaughtUp;
    guarded(i, [&](detail::StoreFeed& feed) {
      feed.update_lag();
      feed.stats().caught_up = caught_up;
    });
  }
  ++passes;
  if (rethrow && first_error) std::rethrow_exception(first_error);
  return result;
}

void FleetExporter::Impl::run(std::chrono::nanoseconds interval) {
  while (!delivery.stopping()) {
    try {
      pass(std::nullopt, false, nullptr);
    } catch (const std::exception& e) {
      spdlog::error("rondo exporter: pass failed: {}", e.what());
    }
    delivery.sleep(interval, true);
  }
}

FleetExporter::FleetExporter(DeliveryOptions options) {
  detail::check_delivery_options(options);
  impl_ = std::make_unique<Impl>(std::move(options));
}

FleetExporter::~FleetExporter() { stop(); }

void FleetExporter::add(const std::string& name, const Store& store, StoreExportOptions options) {
  detail::check_store_options(store, options);
  {
    std::lock_guard guard(impl_->feeds_mutex);
    if (impl_->feeds.contains(name)) {
      throw Error(ErrorCode::InvalidArgument, "exporter: a store named '" + name + "' is already exported");
    }
  }
  auto entry = std::make_shared<Entry>(store, std::move(options), impl_->delivery.options().url);
  std::lock_guard guard(impl_->feeds_mutex);
  if (!impl_->feeds.emplace(name, std::move(entry)).second) {
    throw Error(ErrorCode::InvalidArgument, "exporter: a store named '" + name + "' is already exported");
  }
}

bool FleetExporter::finish(const std::string& name) {
  const std::vector<std::shared_ptr<Entry>> found = impl_->snapshot(&name);
  if (found.empty()) return false;
  std::lock_guard guard(found.front()->mutex);
  found.front()->finishing = true;
  // The store was just sealed: its last bucket is lag from now on, not only
  // once the next pass ends (a caller waiting for lag 0 would stop too early).
  if (!found.front()->removed) found.front()->feed.update_lag();
  return true;
}

bool FleetExporter::remove(const std::string& name) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard guard(impl_->feeds_mutex);
    const auto found = impl_->feeds.find(name);
    if (found == impl_->feeds.end()) return false;
    entry = std::move(found->second);
    impl_->feeds.erase(found);
  }
  std::lock_guard entry_guard(entry->mutex);  // the store is no longer in use once we hold it
  entry->removed = true;
  return true;
}

std::vector<std::string> FleetExporter::names() const {
  std::lock_guard guard(impl_->feeds_mutex);
  std::vector<std::string> out;
  for (const auto& [name, entry] : impl_->feeds) out.push_back(name);
  return out;
}

PassResult FleetExporter::export_pending(std::optional<std::chrono::nanoseconds> give_up_after,
                                         bool rethrow_store_errors) {
  return impl_->pass(give_up_after, rethrow_store_errors, nullptr);
}

PassResult FleetExporter::export_store(const std::string& name,
                                       std::optional<std::chrono::nanoseconds> give_up_after) {
  return impl_->pass(give_up_after, false, &name);
}

void FleetExporter::start(std::chrono::nanoseconds interval) {
  if (impl_->worker.joinable()) throw Error(ErrorCode::InvalidArgument, "exporter: already running");
  impl_->delivery.clear_stop();
  impl_->worker = std::thread([impl = impl_.get(), interval] { impl->run(interval); });
}

void FleetExporter::wake() noexcept { impl_->delivery.wake(); }

void FleetExporter::stop() {
  if (!impl_) return;
  impl_->delivery.request_stop();
  if (impl_->worker.joinable()) impl_->worker.join();
  { std::lock_guard wait_for_pass(impl_->pass_mutex); }  // a pass on another thread has seen it
  impl_->delivery.clear_stop();
}

bool FleetExporter::running() const noexcept { return impl_->worker.joinable(); }

ExporterStats FleetExporter::stats() const {
  ExporterStats total = impl_->delivery.stats();
  total.passes = impl_->passes.load();
  for (const std::shared_ptr<Entry>& entry : impl_->snapshot(nullptr)) {
    std::lock_guard guard(entry->mutex);
    const StoreExportStats& s = entry->feed.stats();
    total.series_refused += s.series_refused;
    total.missed_buckets += s.missed_buckets;
    if (s.lag) total.lag = std::max(total.lag.value_or(std::chrono::nanoseconds(0)), *s.lag);
  }
  return total;
}

std::optional<StoreExportStats> FleetExporter::store_stats(const std::string& name) const {
  const std::vector<std::shared_ptr<Entry>> found = impl_->snapshot(&name);
  if (found.empty()) return std::nullopt;
  std::lock_guard guard(found.front()->mutex);
  return found.front()->feed.stats();
}

std::optional<std::filesystem::path> FleetExporter::cursor_file(const std::string& name) const {
  const std::vector<std::shared_ptr<Entry>> found = impl_->snapshot(&name);
  if (found.empty()) return std::nullopt;
  return found.front()->feed.cursor_file();
}

const DeliveryOptions& FleetExporter::options() const noexcept { return impl_->delivery.options(); }

}  // namespace rondo::prometheus
