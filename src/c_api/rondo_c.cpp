// The C API (include/rondo/rondo.h) over rondo::Store. Every cold-path entry
// point runs its body inside guarded(), which turns any exception into a
// status code and this thread's message, so none crosses the C ABI.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "c_handles.hpp"
#include "meta.hpp"
#include "rondo/rondo.h"

using rondo::c_api::to_c;
using rondo::c_api::to_handle;

namespace {

static_assert(static_cast<int>(rondo::WriteStatus::Ok) == RONDO_WRITE_OK);
static_assert(static_cast<int>(rondo::WriteStatus::TooOld) == RONDO_WRITE_TOO_OLD);
static_assert(static_cast<int>(rondo::WriteStatus::InvalidHandle) == RONDO_WRITE_INVALID_HANDLE);
static_assert(static_cast<int>(rondo::WriteStatus::NotANumber) == RONDO_WRITE_NOT_A_NUMBER);
static_assert(static_cast<int>(rondo::ConsolidationFn::Count) == RONDO_FN_COUNT);

// A fixed buffer: recording a failure must not itself fail or allocate.
thread_local char last_message[1024] = "";

int fail(int status, const char* message) noexcept {
  std::snprintf(last_message, sizeof(last_message), "%s", message);
  return status;
}

// Explicit, so that the C values stay put whatever happens to ErrorCode's order.
int status_of(rondo::ErrorCode code) noexcept {
  using rondo::ErrorCode;
  switch (code) {
    case ErrorCode::InvalidArgument: return RONDO_ERR_INVALID_ARGUMENT;
    case ErrorCode::NotFound: return RONDO_ERR_NOT_FOUND;
    case ErrorCode::NotAStore: return RONDO_ERR_NOT_A_STORE;
    case ErrorCode::Corrupt: return RONDO_ERR_CORRUPT;
    case ErrorCode::SchemaMismatch: return RONDO_ERR_SCHEMA_MISMATCH;
    case ErrorCode::SchemaFull: return RONDO_ERR_SCHEMA_FULL;
    case ErrorCode::NoMatchingSchema: return RONDO_ERR_NO_MATCHING_SCHEMA;
    case ErrorCode::Busy: return RONDO_ERR_BUSY;
    case ErrorCode::Io: return RONDO_ERR_IO;
  }
  return RONDO_ERR_INTERNAL;
}

// Runs body (which returns a status) and converts whatever it throws.
template <class Body>
int guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const rondo::Error& e) {
    return fail(status_of(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(RONDO_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(RONDO_ERR_IO, e.what());
  } catch (const std::exception& e) {
    return fail(RONDO_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(RONDO_ERR_INTERNAL, "unknown exception");
  }
}

int null_argument(const char* what) noexcept {
  char message[128];
  std::snprintf(message, sizeof(message), "%s must not be NULL", what);
  return fail(RONDO_ERR_INVALID_ARGUMENT, message);
}

int too_small(const char* what, std::size_t needed, std::size_t capacity) noexcept {
  char message[160];
  std::snprintf(message, sizeof(message), "%s: %zu needed, the buffer holds %zu", what, needed, capacity);
  return fail(RONDO_ERR_BUFFER_TOO_SMALL, message);
}

// RONDO_FN_DEFAULT becomes nullopt; anything outside the enum is an error.
std::optional<rondo::ConsolidationFn> function_of(int fn) {
  if (fn == RONDO_FN_DEFAULT) return std::nullopt;
  if (fn < 0 || fn >= rondo::kConsolidationFnCount) {
    throw rondo::Error(rondo::ErrorCode::InvalidArgument, "no consolidation function " + std::to_string(fn));
  }
  return static_cast<rondo::ConsolidationFn>(fn);
}

rondo::QueryOptions options_of(unsigned flags) {
  if ((flags & ~RONDO_QUERY_INCLUDE_MISSING) != 0) {
    throw rondo::Error(rondo::ErrorCode::InvalidArgument, "unknown query flags " + std::to_string(flags));
  }
  return rondo::QueryOptions{.include_missing = (flags & RONDO_QUERY_INCLUDE_MISSING) != 0};
}

void copy_points(const std::vector<rondo::Point>& from, rondo_point* to) noexcept {
  for (std::size_t i = 0; i < from.size(); ++i) to[i] = rondo_point{from[i].time, from[i].value};
}

std::vector<rondo::Label> labels_of(const char* const* labels, std::size_t pairs) {
  std::vector<rondo::Label> out;
  for (std::size_t i = 0; i < pairs; ++i) {
    if (labels[2 * i] == nullptr || labels[2 * i + 1] == nullptr) {
      throw rondo::Error(rondo::ErrorCode::InvalidArgument, "label " + std::to_string(i) + " has a NULL string");
    }
    out.push_back(rondo::Label{labels[2 * i], labels[2 * i + 1]});
  }
  return out;
}

nlohmann::json optional_time(const std::optional<rondo::Timestamp>& t) {
  return t ? nlohmann::json(*t) : nlohmann::json(nullptr);
}

nlohmann::json tier_json(const rondo::TierInfo& t) {
  nlohmann::json functions = nlohmann::json::array();
  for (rondo::ConsolidationFn fn : t.functions) functions.push_back(std::string(rondo::to_string(fn)));
  return {{"interval_ns", t.interval.count()},     {"duration_ns", t.duration.count()},
          {"slots", t.slots},                       {"functions", functions},
          {"xff", t.xff},                           {"oldest_ns", optional_time(t.oldest)},
          {"newest_ns", optional_time(t.newest)},   {"consolidated_until_ns", optional_time(t.consolidated_until)},
          {"lost_buckets", t.lost_buckets},         {"late_records", t.late_records},
          {"file", t.file.string()},                {"file_bytes", t.file_bytes}};
}

std::string info_json(const rondo::StoreInfo& info) {
  nlohmann::json schemas = nlohmann::json::array();
  for (const rondo::SchemaInfo& s : info.schemas) {
    nlohmann::json tiers = nlohmann::json::array();
    for (const rondo::TierInfo& t : s.tiers) tiers.push_back(tier_json(t));
    schemas.push_back({{"name", s.name},
                       {"matcher", s.matcher},
                       {"series_count", s.series_count},
                       {"max_series", s.max_series},
                       {"tiers", tiers}});
  }
  return nlohmann::json{{"path", info.path.string()},
                        {"store_id", info.store_id},
                        {"schemas", schemas},
                        {"total_bytes", info.total_bytes}}
      .dump();
}

}  // namespace

extern "C" {

const char* rondo_error_message(void) noexcept { return last_message; }

const char* rondo_status_string(int status) noexcept {
  switch (status) {
    case RONDO_OK: return "ok";
    case RONDO_ERR_INVALID_ARGUMENT: return "invalid argument";
    case RONDO_ERR_NOT_FOUND: return "not found";
    case RONDO_ERR_NOT_A_STORE: return "not a store";
    case RONDO_ERR_CORRUPT: return "corrupt";
    case RONDO_ERR_SCHEMA_MISMATCH: return "schema mismatch";
    case RONDO_ERR_SCHEMA_FULL: return "schema full";
    case RONDO_ERR_NO_MATCHING_SCHEMA: return "no matching schema";
    case RONDO_ERR_BUSY: return "busy";
    case RONDO_ERR_IO: return "i/o error";
    case RONDO_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case RONDO_ERR_OUT_OF_MEMORY: return "out of memory";
    case RONDO_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
  }
}

const char* rondo_write_status_string(int status) noexcept {
  if (status < RONDO_WRITE_OK || status > RONDO_WRITE_NOT_A_NUMBER) return "unknown write status";
  return rondo::to_string(static_cast<rondo::WriteStatus>(status)).data();
}

int rondo_open(const char* dir, const char* schemas_json, rondo_store** out) noexcept {
  if (dir == nullptr) return null_argument("dir");
  if (schemas_json == nullptr) return null_argument("schemas_json");
  if (out == nullptr) return null_argument("out");
  return guarded([&]() -> int {
    const std::vector<rondo::SchemaConfig> schemas = rondo::detail::parse_schemas_json(schemas_json);
    *out = new rondo_store{rondo::Store::open(dir, schemas)};
    return RONDO_OK;
  });
}

int rondo_open_read_only(const char* dir, rondo_store** out) noexcept {
  if (dir == nullptr) return null_argument("dir");
  if (out == nullptr) return null_argument("out");
  return guarded([&]() -> int {
    *out = new rondo_store{rondo::Store::open_read_only(dir)};
    return RONDO_OK;
  });
}

void rondo_close(rondo_store* store) noexcept { delete store; }

int rondo_register(rondo_store* store, const char* name, const char* const* labels, size_t label_pairs,
                   rondo_series* out) noexcept {
  if (store == nullptr) return null_argument("store");
  if (name == nullptr) return null_argument("name");
  if (labels == nullptr && label_pairs != 0) return null_argument("labels");
  if (out == nullptr) return null_argument("out");
  return guarded([&]() -> int {
    const std::vector<rondo::Label> parsed = labels_of(labels, label_pairs);
    const rondo::SeriesHandle handle = store->store.register_series(name, parsed);
    const rondo_series series = to_c(handle);
    if (series.schema != handle.schema() || series.column != handle.column()) {
      return fail(RONDO_ERR_INTERNAL, "rondo_series no longer matches SeriesHandle's layout");
    }
    *out = series;
    return RONDO_OK;
  });
}

// The hot path: one branch, then Store::record inlined (ring.hpp). No
// allocation and no system call; tests/c_api/ checks both.
int rondo_record(rondo_store* store, rondo_series series, double value, uint64_t ts_ns) noexcept {
  if (store == nullptr) [[unlikely]] return RONDO_WRITE_INVALID_HANDLE;
  return static_cast<int>(store->store.record(to_handle(series), value, ts_ns));
}

// C callers have rondo_entry arrays, Store::record_batch takes pairs: hand
// it the entries in stack-sized chunks (no allocation), keeping its "first
// status that was not Ok" across chunks.
int rondo_record_batch(rondo_store* store, const rondo_entry* entries, size_t count, uint64_t ts_ns) noexcept {
  if (store == nullptr || (entries == nullptr && count != 0)) [[unlikely]] return RONDO_WRITE_INVALID_HANDLE;
  constexpr std::size_t kChunk = 64;
  std::pair<rondo::SeriesHandle, double> chunk[kChunk];
  rondo::WriteStatus result = rondo::WriteStatus::Ok;
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = count - done < kChunk ? count - done : kChunk;
    for (std::size_t i = 0; i < n; ++i) chunk[i] = {to_handle(entries[done + i].series), entries[done + i].value};
    const rondo::WriteStatus s = store->store.record_batch(std::span(chunk, n), ts_ns);
    if (result == rondo::WriteStatus::Ok) result = s;
    done += n;
  }
  return static_cast<int>(result);
}

int rondo_seal(rondo_store* store) noexcept {
  if (store == nullptr) return null_argument("store");
  return guarded([&]() -> int {
    store->store.seal();
    return RONDO_OK;
  });
}

int rondo_finish(rondo_store* store) noexcept {
  if (store == nullptr) return null_argument("store");
  return guarded([&]() -> int {
    store->store.finish();
    return RONDO_OK;
  });
}

int rondo_consolidate(rondo_store* store, size_t* produced) noexcept {
  if (store == nullptr) return null_argument("store");
  return guarded([&]() -> int {
    const std::size_t n = store->store.consolidate();
    if (produced != nullptr) *produced = n;
    return RONDO_OK;
  });
}

int rondo_flush(rondo_store* store) noexcept {
  if (store == nullptr) return null_argument("store");
  return guarded([&]() -> int {
    store->store.flush();
    return RONDO_OK;
  });
}

int rondo_query(const rondo_store* store, rondo_series series, size_t tier, int fn, uint64_t start_ns,
                uint64_t end_ns, unsigned flags, rondo_point* points, size_t capacity, size_t* count) noexcept {
  if (store == nullptr) return null_argument("store");
  if (count == nullptr) return null_argument("count");
  if (points == nullptr && capacity != 0) return null_argument("points");
  return guarded([&]() -> int {
    const std::optional<rondo::ConsolidationFn> f = function_of(fn);
    const rondo::QueryOptions options = options_of(flags);
    const rondo::SeriesHandle h = to_handle(series);
    const std::vector<rondo::Point> result = f ? store->store.query(h, tier, start_ns, end_ns, *f, options)
                                               : store->store.query(h, tier, start_ns, end_ns, options);
    *count = result.size();
    if (result.size() > capacity) return too_small("rondo_query points", result.size(), capacity);
    copy_points(result, points);
    return RONDO_OK;
  });
}

int rondo_query_auto(const rondo_store* store, rondo_series series, int fn, uint64_t start_ns, uint64_t end_ns,
                     unsigned flags, rondo_point* points, size_t capacity, size_t* count, rondo_tier_span* plan,
                     size_t plan_capacity, size_t* plan_count) noexcept {
  if (store == nullptr) return null_argument("store");
  if (count == nullptr) return null_argument("count");
  if (points == nullptr && capacity != 0) return null_argument("points");
  if (plan == nullptr && plan_capacity != 0) return null_argument("plan");
  return guarded([&]() -> int {
    const std::optional<rondo::ConsolidationFn> f = function_of(fn);
    if (!f) return fail(RONDO_ERR_INVALID_ARGUMENT, "rondo_query_auto needs a function (not RONDO_FN_DEFAULT)");
    const rondo::QueryResult result = store->store.query_auto(to_handle(series), start_ns, end_ns, *f, options_of(flags));
    *count = result.points.size();
    if (plan_count != nullptr) *plan_count = result.plan.size();
    if (result.points.size() > capacity) return too_small("rondo_query_auto points", result.points.size(), capacity);
    if (plan != nullptr && result.plan.size() > plan_capacity) {
      return too_small("rondo_query_auto plan", result.plan.size(), plan_capacity);
    }
    copy_points(result.points, points);
    if (plan != nullptr) {
      for (std::size_t i = 0; i < result.plan.size(); ++i) {
        plan[i] = rondo_tier_span{result.plan[i].tier, result.plan[i].start, result.plan[i].end};
      }
    }
    return RONDO_OK;
  });
}

int rondo_read_whole_batches(const rondo_store* store, int (*read)(void* context), void* context,
                             int* whole) noexcept {
  if (store == nullptr) return null_argument("store");
  if (read == nullptr) return null_argument("read");
  return guarded([&]() -> int {
    int status = 0;
    // After a failed run the remaining ones do nothing: the caller's status stands.
    const bool ok = store->store.read_whole_batches([&] {
      if (status == 0) status = read(context);
    });
    if (status != 0) return status;
    if (whole != nullptr) *whole = ok ? 1 : 0;
    return RONDO_OK;
  });
}

int rondo_describe(const rondo_store* store, rondo_series series, char* buffer, size_t capacity, size_t* length,
                   size_t* label_pairs) noexcept {
  if (store == nullptr) return null_argument("store");
  if (length == nullptr) return null_argument("length");
  if (buffer == nullptr && capacity != 0) return null_argument("buffer");
  return guarded([&]() -> int {
    // describe() copies under the store's lock (a concurrent register_series
    // may grow the list), and throws NotFound for a handle it does not know.
    std::optional<rondo::SeriesInfo> found;
    try {
      found = store->store.describe(to_handle(series));
    } catch (const rondo::Error& e) {
      if (e.code() != rondo::ErrorCode::NotFound) throw;
      return fail(RONDO_ERR_NOT_FOUND, "rondo_describe: no such series in this store");
    }
    std::string packed = found->name;
    packed += '\0';
    for (const rondo::Label& label : found->labels) {
      packed += label.name;
      packed += '\0';
      packed += label.value;
      packed += '\0';
    }
    *length = packed.size();
    if (label_pairs != nullptr) *label_pairs = found->labels.size();
    if (packed.size() > capacity) return too_small("rondo_describe bytes", packed.size(), capacity);
    std::memcpy(buffer, packed.data(), packed.size());
    return RONDO_OK;
  });
}

int rondo_info_json(const rondo_store* store, char* buffer, size_t capacity, size_t* length) noexcept {
  if (store == nullptr) return null_argument("store");
  if (length == nullptr) return null_argument("length");
  if (buffer == nullptr && capacity != 0) return null_argument("buffer");
  return guarded([&]() -> int {
    const std::string text = info_json(store->store.info());
    *length = text.size();
    if (text.size() + 1 > capacity) return too_small("rondo_info_json bytes", text.size() + 1, capacity);
    std::memcpy(buffer, text.c_str(), text.size() + 1);
    return RONDO_OK;
  });
}

int rondo_cursor_new(rondo_cursor** out) noexcept {
  if (out == nullptr) return null_argument("out");
  return guarded([&]() -> int {
    *out = new rondo_cursor{};
    return RONDO_OK;
  });
}

int rondo_cursor_deserialize(const void* bytes, size_t length, rondo_cursor** out) noexcept {
  if (bytes == nullptr && length != 0) return null_argument("bytes");
  if (out == nullptr) return null_argument("out");
  return guarded([&]() -> int {
    const std::string_view view(static_cast<const char*>(bytes), length);
    *out = new rondo_cursor{rondo::ExportCursor::deserialize(view)};
    return RONDO_OK;
  });
}

int rondo_cursor_clone(const rondo_cursor* cursor, rondo_cursor** out) noexcept {
  if (cursor == nullptr) return null_argument("cursor");
  if (out == nullptr) return null_argument("out");
  return guarded([&]() -> int {
    *out = new rondo_cursor{*cursor};
    return RONDO_OK;
  });
}

int rondo_cursor_serialize(const rondo_cursor* cursor, void* buffer, size_t capacity, size_t* length) noexcept {
  if (cursor == nullptr) return null_argument("cursor");
  if (length == nullptr) return null_argument("length");
  if (buffer == nullptr && capacity != 0) return null_argument("buffer");
  return guarded([&]() -> int {
    const std::string bytes = cursor->cursor.serialize();
    *length = bytes.size();
    if (bytes.size() > capacity) return too_small("rondo_cursor_serialize bytes", bytes.size(), capacity);
    std::memcpy(buffer, bytes.data(), bytes.size());
    return RONDO_OK;
  });
}

void rondo_cursor_free(rondo_cursor* cursor) noexcept { delete cursor; }

int rondo_drain(const rondo_store* store, size_t tier, rondo_cursor* cursor, size_t max_buckets,
                rondo_drain_result** out) noexcept {
  if (store == nullptr) return null_argument("store");
  if (cursor == nullptr) return null_argument("cursor");
  if (out == nullptr) return null_argument("out");
  return guarded([&]() -> int {
    // Drain into a copy and adopt it only with the result, so a failure
    // leaves the caller's cursor where it was.
    rondo::ExportCursor advanced = cursor->cursor;
    auto result = std::make_unique<rondo_drain_result>();
    result->result = store->store.drain(tier, advanced, max_buckets);
    for (const rondo::DrainedSeries& s : result->result.series) {
      std::vector<rondo_point>& points = result->points.emplace_back(s.points.size());
      copy_points(s.points, points.data());
    }
    cursor->cursor = std::move(advanced);
    *out = result.release();
    return RONDO_OK;
  });
}

size_t rondo_drain_series_count(const rondo_drain_result* result) noexcept {
  return result == nullptr ? 0 : result->result.series.size();
}

int rondo_drain_series(const rondo_drain_result* result, size_t index, rondo_drained_series* out) noexcept {
  if (result == nullptr) return null_argument("result");
  if (out == nullptr) return null_argument("out");
  if (index >= result->result.series.size()) {
    char message[128];
    std::snprintf(message, sizeof(message), "drained series %zu of %zu", index, result->result.series.size());
    return fail(RONDO_ERR_INVALID_ARGUMENT, message);
  }
  const rondo::DrainedSeries& s = result->result.series[index];
  const std::vector<rondo_point>& points = result->points[index];
  *out = rondo_drained_series{to_c(s.handle), static_cast<int>(s.fn), points.data(), points.size()};
  return RONDO_OK;
}

uint64_t rondo_drain_missed_buckets(const rondo_drain_result* result) noexcept {
  return result == nullptr ? 0 : result->result.missed_buckets;
}

void rondo_drain_free(rondo_drain_result* result) noexcept { delete result; }

}  // extern "C"
