#include "rondo/prometheus/exporter.hpp"

#include "export_position.hpp"
#include "rondo/prometheus/fleet_exporter.hpp"

namespace rondo::prometheus {
namespace {

// The one store of a single-store Exporter, in its fleet of one.
const std::string kStore = "store";

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
  return position_file_path(store.path(), url, tier);  // the name rule: rondo/prometheus/export_position.hpp
}

// An Exporter is a FleetExporter with one store: one implementation of
// collecting, batching, retrying and persisting for the CLI, the demo VMM
// and the host agent.
struct Exporter::Impl {
  Impl(const Store& store, ExporterOptions o) : options(std::move(o)), fleet(delivery_part(options)) {
    fleet.add(kStore, store, store_part(options));
    file = *fleet.cursor_file(kStore);
  }
  ExporterOptions options;
  FleetExporter fleet;
  std::filesystem::path file;
};

Exporter::Exporter(const Store& store, ExporterOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}

Exporter::~Exporter() { stop(); }

PassResult Exporter::export_pending(std::optional<std::chrono::nanoseconds> give_up_after) {
  return impl_->fleet.export_pending(give_up_after, /*rethrow_store_errors=*/true);
}

void Exporter::start(std::chrono::nanoseconds interval) { impl_->fleet.start(interval); }
void Exporter::wake() noexcept { impl_->fleet.wake(); }

void Exporter::stop() {
  if (impl_) impl_->fleet.stop();
}

bool Exporter::running() const noexcept { return impl_->fleet.running(); }

ExporterStats Exporter::stats() const {
  ExporterStats stats = impl_->fleet.stats();
  // A store-side failure (the position could not be saved) is the news.
  if (const auto store = impl_->fleet.store_stats(kStore); store && !store->last_error.empty()) {
    stats.last_error = store->last_error;
  }
  return stats;
}

const ExporterOptions& Exporter::options() const noexcept { return impl_->options; }
const std::filesystem::path& Exporter::cursor_file() const noexcept { return impl_->file; }

}  // namespace rondo::prometheus
