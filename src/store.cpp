// Opening, creating and describing a store; registering series; consolidate and flush.
#include <algorithm>
#include <random>

#include "consolidation.hpp"
#include "rondo/series_kind.hpp"
#include "store_impl.hpp"

namespace rondo {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMetaFile = "meta.json";
constexpr const char* kIndexFile = "series_index.bin";

fs::path schema_dir(const fs::path& dir, std::size_t schema) { return dir / ("schema_" + std::to_string(schema)); }
fs::path slab_path(const fs::path& dir, std::size_t schema, std::size_t tier) {
  return schema_dir(dir, schema) / ("tier_" + std::to_string(tier) + ".slab");
}

fs::path quantile_path(const fs::path& dir, std::size_t schema, std::size_t tier) {
  return schema_dir(dir, schema) / ("tier_" + std::to_string(tier) + ".quantiles");
}

// The tier as both of its files' headers name it.
detail::TierIdentity tier_identity(const detail::StoreMeta& meta, std::size_t schema, std::size_t tier) {
  const SchemaConfig& s = meta.schemas[schema];
  const TierConfig& t = s.tiers[tier];
  return {meta.store_id,
          detail::schema_hash(s),
          static_cast<std::uint32_t>(schema),
          static_cast<std::uint32_t>(tier),
          static_cast<std::uint64_t>(t.interval.count()),
          static_cast<std::uint64_t>(t.duration.count() / t.interval.count()),
          s.max_series};
}

detail::QuantileIdentity quantile_identity(const detail::StoreMeta& meta, std::size_t schema, std::size_t tier) {
  return {tier_identity(meta, schema, tier), meta.schemas[schema].quantiles};
}

detail::SlabIdentity identity(const detail::StoreMeta& meta, std::size_t schema, std::size_t tier) {
  return {tier_identity(meta, schema, tier), stored_functions(meta.schemas[schema], tier)};
}

QuantileTierInfo quantile_info(const detail::QuantileFile& file) {
  QuantileTierInfo qi;
  const std::uint64_t next = file.next_bucket();
  if (next != detail::kNoBucket) qi.computed_until = next * file.interval();
  qi.lost_buckets = file.lost_buckets();
  qi.late_records = file.late_records();
  qi.dropped_records = file.dropped_records();
  qi.file = file.path();
  qi.file_bytes = file.size();
  return qi;
}

std::vector<std::uint32_t> max_series_of(const detail::StoreMeta& meta) {
  std::vector<std::uint32_t> out;
  for (const SchemaConfig& s : meta.schemas) out.push_back(s.max_series);
  return out;
}

void validate_all(std::span<const SchemaConfig> schemas) {
  if (schemas.empty()) throw Error(ErrorCode::InvalidArgument, "a store needs at least one schema");
  for (std::size_t i = 0; i < schemas.size(); ++i) {
    validate(schemas[i]);
    for (std::size_t j = 0; j < i; ++j) {
      if (schemas[j].name == schemas[i].name) {
        throw Error(ErrorCode::InvalidArgument, "two schemas are named '" + schemas[i].name + "'");
      }
    }
  }
}

// A directory without meta.json may hold what an interrupted create left
// (temporaries, and slabs and an index that nothing was ever written to):
// that we may overwrite. A slab that holds data or an index that names a
// series means meta.json was lost from a real store: creating the store
// afresh would wipe it, so it is refused. Anything else belongs to someone else.
void check_creatable(const fs::path& dir) {
  std::vector<std::string> data;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp") || name.starts_with(detail::kCounterTotalsFile)) continue;
    if (name.starts_with("schema_") && entry.is_directory()) {
      for (const auto& file : fs::directory_iterator(entry.path())) {
        const std::string inner = file.path().filename().string();
        if (inner.ends_with(".tmp")) continue;
        const bool untouched = inner.ends_with(".quantiles") ? detail::QuantileFile::never_written(file.path())
                                                              : detail::SlabFile::never_written(file.path());
        if (!file.is_regular_file() || !untouched) data.push_back(name + "/" + inner);
      }
    } else if (name == kIndexFile && entry.is_regular_file()) {
      if (!detail::SeriesIndex::holds_no_series(entry.path())) data.push_back(name);
    } else {
      throw Error(ErrorCode::NotAStore, dir.string() + " is not empty and is not a rondo store (found " + name + ")");
    }
  }
  if (data.empty()) return;
  std::sort(data.begin(), data.end());
  std::string list;
  for (const std::string& d : data) list += (list.empty() ? "" : ", ") + d;
  throw Error(ErrorCode::Corrupt, "store " + dir.string() + " has no meta.json but holds data (" + list +
                                      "): refusing to create a new store over it. Restore meta.json, or move the "
                                      "directory away to start afresh");
}

void create_files(const fs::path& dir, const detail::StoreMeta& meta) {
  // A totals file an earlier, unfinished create left names another store
  // id (check_creatable has made sure nothing was ever counted in it).
  fs::remove(dir / detail::kCounterTotalsFile);
  for (std::size_t s = 0; s < meta.schemas.size(); ++s) {
    fs::create_directories(schema_dir(dir, s));
    for (std::size_t t = 0; t < meta.schemas[s].tiers.size(); ++t) {
      detail::SlabFile::create(slab_path(dir, s, t), identity(meta, s, t));
      if (!meta.schemas[s].quantiles.empty()) {
        detail::QuantileFile::create(quantile_path(dir, s, t), quantile_identity(meta, s, t));
      }
    }
  }
  // Its directory fsync also makes the schema_N entries durable, before
  // meta.json can be.
  detail::SeriesIndex::create(dir / kIndexFile, meta.store_id);
  // meta.json last: its presence means the store is complete.
  detail::write_meta(dir / kMetaFile, meta);
}

std::uint32_t new_store_id() {
  std::random_device rd;
  std::uint32_t id = 0;
  while (id == 0) id = rd();
  return id;
}

std::vector<Label> sorted_labels(std::span<const Label> labels, std::string_view name) {
  std::vector<Label> out(labels.begin(), labels.end());
  std::sort(out.begin(), out.end());
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].name == out[i - 1].name) {
      throw Error(ErrorCode::InvalidArgument,
                  "series '" + std::string(name) + "' has label '" + out[i].name + "' twice");
    }
  }
  for (const Label& l : out) {
    if (l.name.empty() || l.name == "__name__") {
      throw Error(ErrorCode::InvalidArgument, "series '" + std::string(name) + "' has an invalid label name");
    }
  }
  return out;
}

std::string display_name(std::string_view name, std::span<const Label> labels) {
  std::string out(name);
  out += "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].name + "=\"" + labels[i].value + "\"";
  }
  return out + "}";
}

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) : id_(impl->meta.store_id), impl_(std::move(impl)) {
  if (impl_->writable) {
    for (auto& tiers : impl_->slabs) hot_.push_back(tiers[0].ring());
    hot_count_ = hot_.size();
    for (std::size_t s = 0; s < impl_->quantiles.size(); ++s) {
      detail::QuantileRecorder& recorder = quant_hot_.emplace_back();
      if (impl_->quantiles[s].empty()) continue;
      recorder.watch(&impl_->slabs[s][0].ring().state(), impl_->quantiles[s][0].recorder_view());
      hot_[s].keep_quantiles(recorder.active());
    }
  }
  impl_->adopt_new_entries(id_);
}

Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

std::unique_ptr<Store::Impl> Store::load(const fs::path& dir, bool writable) {
  auto impl = std::make_unique<Store::Impl>();
  impl->dir = dir;
  impl->writable = writable;
  impl->meta = detail::read_meta(dir / kMetaFile);
  for (std::size_t s = 0; s < impl->meta.schemas.size(); ++s) {
    auto& tiers = impl->slabs.emplace_back();
    for (std::size_t t = 0; t < impl->meta.schemas[s].tiers.size(); ++t) {
      const fs::path path = slab_path(dir, s, t);
      if (!fs::exists(path)) throw Error(ErrorCode::Corrupt, "store " + dir.string() + " is missing " + path.string());
      tiers.push_back(detail::SlabFile::open(path, identity(impl->meta, s, t), writable));
    }
    detail::check_positions(tiers);
    auto& quantiles = impl->quantiles.emplace_back();
    if (impl->meta.schemas[s].quantiles.empty()) continue;
    for (std::size_t t = 0; t < impl->meta.schemas[s].tiers.size(); ++t) {
      const fs::path path = quantile_path(dir, s, t);
      if (!fs::exists(path)) throw Error(ErrorCode::Corrupt, "store " + dir.string() + " is missing " + path.string());
      quantiles.push_back(detail::QuantileFile::open(path, quantile_identity(impl->meta, s, t), writable));
    }
  }
  const fs::path index = dir / kIndexFile;
  if (!fs::exists(index)) throw Error(ErrorCode::Corrupt, "store " + dir.string() + " is missing " + index.string());
  impl->index = detail::SeriesIndex::open(index, impl->meta.store_id, max_series_of(impl->meta), writable);
  impl->totals = detail::CounterTotals::open(dir, impl->meta.store_id, impl->meta.schemas, writable);
  return impl;
}

Store Store::open(const fs::path& dir, std::span<const SchemaConfig> schemas) {
  validate_all(schemas);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::Io, "cannot create store directory " + dir.string() + ": " + ec.message());
  if (!fs::is_directory(dir)) throw Error(ErrorCode::NotAStore, dir.string() + " is not a directory");

  detail::File lock(dir, detail::File::Mode::ReadOnly);
  if (!lock.try_lock()) throw Error(ErrorCode::Busy, "store " + dir.string() + " is open for writing by another process");

  if (fs::exists(dir / kMetaFile)) {
    const auto stored = detail::read_meta(dir / kMetaFile);
    const std::string diff = detail::describe_difference(stored.schemas, schemas);
    if (!diff.empty()) throw Error(ErrorCode::SchemaMismatch, "store " + dir.string() + ": " + diff);
  } else {
    check_creatable(dir);
    create_files(dir, {new_store_id(), {schemas.begin(), schemas.end()}});
  }
  auto impl = load(dir, true);
  impl->lock = std::move(lock);
  impl->update_totals();  // what a writer that ended left final
  return Store(std::move(impl));
}

Store Store::open_read_only(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error(ErrorCode::NotFound, "no store at " + dir.string());
  if (!fs::exists(dir / kMetaFile)) {
    throw Error(ErrorCode::NotAStore, dir.string() + " is not a rondo store (no meta.json)");
  }
  return Store(load(dir, false));
}

void Store::Impl::check(SeriesHandle handle, std::uint32_t store_id) const {
  if (handle.schema() >= slabs.size() || handle.column() >= slabs[handle.schema()][0].ring().max_series() ||
      !(handle == SeriesHandle(store_id, handle.schema(), handle.column()))) {
    throw Error(ErrorCode::NotFound, "series handle does not belong to store " + dir.string());
  }
}

const SchemaConfig& Store::Impl::check_tier(SeriesHandle handle, std::size_t tier, std::uint32_t store_id) const {
  check(handle, store_id);
  const SchemaConfig& config = meta.schemas[handle.schema()];
  if (tier >= config.tiers.size()) {
    throw Error(ErrorCode::NotFound, "schema '" + config.name + "' has no tier " + std::to_string(tier));
  }
  return config;
}

std::pair<const std::vector<detail::QuantileFile>*, std::uint32_t> Store::Impl::quantile_files(std::size_t schema,
                                                                                               Quantile q) const {
  const SchemaConfig& config = meta.schemas[schema];
  const int qi = quantile_index(config, q.q);
  if (qi < 0) {
    std::string kept;
    for (double x : config.quantiles) kept += (kept.empty() ? "" : ", ") + to_string(Quantile{x});
    throw Error(ErrorCode::NotFound, "schema '" + config.name + "' does not keep " + to_string(q) +
                                         (kept.empty() ? " (it keeps no quantiles)" : " (it keeps " + kept + ")"));
  }
  return {&quantiles[schema], static_cast<std::uint32_t>(qi)};
}

void Store::Impl::require_writable() const {
  if (!writable) throw Error(ErrorCode::InvalidArgument, "store " + dir.string() + " is open read-only");
}

void Store::Impl::refresh_series(std::uint32_t store_id) const {
  if (writable) return;
  std::unique_lock guard(series_mu);
  if (index.refresh()) adopt_new_entries(store_id);
}

void Store::Impl::adopt_new_entries(std::uint32_t store_id) const {
  for (std::size_t i = series.size(); i < index.entries().size(); ++i) {
    const auto& e = index.entries()[i];
    series.push_back({SeriesHandle(store_id, e.schema, e.column), e.name, e.labels, e.schema});
  }
}

SeriesHandle Store::register_series(std::string_view name, std::span<const Label> labels) {
  impl_->require_writable();
  if (name.empty()) throw Error(ErrorCode::InvalidArgument, "a series needs a name");
  std::vector<Label> sorted = sorted_labels(labels, name);
  if (auto found = find_series(name, sorted)) return *found;

  const auto& schemas = impl_->meta.schemas;
  auto match = std::find_if(schemas.begin(), schemas.end(),
                            [&](const SchemaConfig& s) { return s.matcher.matches(name, sorted); });
  if (match == schemas.end()) {
    throw Error(ErrorCode::NoMatchingSchema, "no schema accepts series " + display_name(name, sorted));
  }
  const auto schema = static_cast<std::uint32_t>(match - schemas.begin());
  const std::uint32_t column = impl_->index.count(schema);
  if (column >= match->max_series) {
    throw Error(ErrorCode::SchemaFull, "schema '" + match->name + "' is full (" + std::to_string(match->max_series) +
                                           " series); cannot add " + display_name(name, sorted));
  }
  std::unique_lock lock(impl_->series_mu);
  impl_->index.append({schema, column, std::string(name), sorted});
  const SeriesHandle handle(id_, schema, column);
  impl_->series.push_back({handle, std::string(name), std::move(sorted), schema});
  return handle;
}

std::optional<SeriesHandle> Store::find_series(std::string_view name, std::span<const Label> labels) const {
  impl_->refresh_series(id_);
  const std::vector<Label> sorted = sorted_labels(labels, name);
  std::shared_lock lock(impl_->series_mu);
  auto i = impl_->index.find(detail::series_key(name, sorted));
  if (!i) return std::nullopt;
  return impl_->series[*i].handle;
}

std::vector<SeriesInfo> Store::series() const {
  impl_->refresh_series(id_);
  std::shared_lock lock(impl_->series_mu);
  return impl_->series;
}

std::vector<SeriesInfo> Store::select(const LabelMatcher& matcher) const {
  impl_->refresh_series(id_);
  std::shared_lock lock(impl_->series_mu);
  std::vector<SeriesInfo> out;
  for (const SeriesInfo& s : impl_->series) {
    if (matcher.matches(s.name, s.labels)) out.push_back(s);
  }
  return out;
}

SeriesInfo Store::describe(SeriesHandle handle) const {
  impl_->refresh_series(id_);
  std::shared_lock lock(impl_->series_mu);
  for (const SeriesInfo& s : impl_->series) {
    if (s.handle == handle) return s;
  }
  throw Error(ErrorCode::NotFound, "no such series in store " + impl_->dir.string());
}

void Store::seal() {
  impl_->require_writable();
  for (detail::Ring& ring : hot_) ring.seal();
  // The buckets just closed get their checksums now: a sealed store (an
  // ephemeral VM at shutdown) is then verifiable in full.
  std::lock_guard guard(impl_->consolidate_mu);
  for (auto& tiers : impl_->slabs) tiers[0].ring().sum_closed();
}

void Store::finish() {
  seal();
  std::lock_guard guard(impl_->consolidate_mu);
  for (auto& tiers : impl_->slabs) detail::close_through_coarsest(tiers);
}

std::size_t Store::consolidate() {
  impl_->require_writable();
  std::lock_guard guard(impl_->consolidate_mu);
  std::size_t produced = 0;
  for (std::size_t s = 0; s < impl_->slabs.size(); ++s) {
    std::uint32_t count;
    {
      std::shared_lock lock(impl_->series_mu);
      count = impl_->index.count(static_cast<std::uint32_t>(s));
    }
    produced += detail::consolidate_schema(impl_->slabs[s], impl_->meta.schemas[s], count);
    detail::compute_quantiles(impl_->quantiles[s], impl_->slabs[s][0].ring(), count);  // not counted: no new bucket
    impl_->slabs[s][0].ring().sum_closed();  // tier 0's closed buckets get their checksums
  }
  impl_->update_totals();
  return produced;
}

void Store::Impl::update_totals() {
  for (std::size_t s = 0; s < slabs.size(); ++s) {
    if (!has_running_total(series_kind(meta.schemas[s]))) continue;
    std::uint32_t count;
    {
      std::shared_lock guard(series_mu);
      count = index.count(static_cast<std::uint32_t>(s));
    }
    totals.update(s, ring(s, 0), count);
  }
}

void Store::flush() {
  if (!impl_->writable) return;
  for (auto& tiers : impl_->slabs) {
    for (auto& slab : tiers) slab.sync();
  }
  for (auto& files : impl_->quantiles) {
    for (auto& file : files) file.sync();
  }
  impl_->totals.sync();
  std::shared_lock lock(impl_->series_mu);
  impl_->index.sync();
}

StoreInfo Store::info() const {
  impl_->refresh_series(id_);
  StoreInfo info;
  info.path = impl_->dir;
  info.store_id = id_;
  auto opt_time = [](std::uint64_t bucket, std::uint64_t interval) -> std::optional<Timestamp> {
    if (bucket == detail::kNoBucket) return std::nullopt;
    return bucket * interval;
  };
  for (std::size_t s = 0; s < impl_->slabs.size(); ++s) {
    const SchemaConfig& config = impl_->meta.schemas[s];
    SchemaInfo si{config.name, config.matcher.to_string(), 0, config.max_series, {}};
    {
      std::shared_lock lock(impl_->series_mu);
      si.series_count = impl_->index.count(static_cast<std::uint32_t>(s));
    }
    for (std::size_t t = 0; t < impl_->slabs[s].size(); ++t) {
      const detail::SlabFile& slab = impl_->slabs[s][t];
      const detail::Ring& ring = slab.ring();
      const std::uint64_t head = ring.head();
      TierInfo ti;
      ti.interval = config.tiers[t].interval;
      ti.duration = config.tiers[t].duration;
      ti.slots = ring.slots();
      for (std::uint32_t f = 0; f < ring.function_count(); ++f) ti.functions.push_back(ring.function(f));
      ti.xff = config.tiers[t].xff;
      ti.newest = opt_time(head, ring.interval());
      ti.oldest = head == detail::kNoBucket ? std::nullopt : opt_time(ring.oldest(head), ring.interval());
      if (head != detail::kNoBucket) {
        ti.held_from = opt_time(ring.held_from(head), ring.interval());
      }
      if (t > 0) ti.consolidated_until = opt_time(ring.next_bucket(), ring.interval());
      ti.lost_buckets = ring.lost_buckets();
      ti.late_records = ring.late_records();
      ti.refused_records = ring.refused_records();
      ti.file = slab.path();
      ti.file_bytes = slab.size();
      if (t < impl_->quantiles[s].size()) ti.quantiles = quantile_info(impl_->quantiles[s][t]);
      si.tiers.push_back(std::move(ti));
    }
    info.schemas.push_back(std::move(si));
  }
  // Other programs may create or rename files beside ours at any moment
  // (an exporter's position file, say): a file that vanishes is skipped.
  info.total_bytes = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(impl_->dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    const std::uintmax_t size = it->file_size(size_ec);
    if (size_ec) continue;
    info.files.emplace_back(it->path(), size);
    info.total_bytes += size;
  }
  std::sort(info.files.begin(), info.files.end());
  return info;
}

const std::vector<SchemaConfig>& Store::schemas() const { return impl_->meta.schemas; }
const fs::path& Store::path() const { return impl_->dir; }
bool Store::read_only() const noexcept { return !impl_->writable; }

}  // namespace rondo
