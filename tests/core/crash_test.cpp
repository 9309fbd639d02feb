// The durability and concurrency contract of store.hpp, tested with real
// processes: a writer killed with SIGKILL, a write cut in half, and a reader
// in another process while the writer runs.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "rondo/detail/cell_store.hpp"
#include "rondo/detail/quantile_format.hpp"
#include "rondo/detail/slab_format.hpp"
#include "common/raw_slab.hpp"
#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;

namespace {

// Runs fn in a child process; returns its pid. The child never returns into Catch.
template <typename Fn>
pid_t spawn(Fn fn) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int rc = 0;
    try {
      fn();
    } catch (...) {
      rc = 3;
    }
    ::_exit(rc);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// Shared memory the child writes its progress into, surviving its death.
struct Progress {
  std::atomic<std::int64_t> returned{-1};  // index of the last record() that returned Ok
  std::atomic<bool> started{false};
};

Progress* shared_progress() {
  void* p = ::mmap(nullptr, sizeof(Progress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  return new (p) Progress();
}

// How record() publishes a tier-0 cell depends on the function set and on
// the widest store the CPU has (ring.hpp, CellWriter). Every test below runs
// each way: one store of 16 bytes ({Last}), of 32 ({Sum, Count, Max} folded
// in registers; {Sum, Count} through the generic fold), of 64 (six
// functions, AVX-512), and word by word with an undo copy (as on a CPU
// without AVX, simulated here by limiting the store width).
struct WriterCase {
  const char* name;
  std::vector<F> tier0;
  unsigned store_width;  // bytes: 64 = whatever this CPU has
};

std::vector<WriterCase> writer_cases() {
  return {{"sum,count,max in registers, one 32-byte store", {F::Sum, F::Count, F::Max}, 64},
          {"sum,count generic fold, one 32-byte store", {F::Sum, F::Count}, 64},
          {"six functions, one 64-byte store", {F::Sum, F::Count, F::Max, F::Min, F::Last, F::Average}, 64},
          {"sum,count,max with no wide store: undo copy", {F::Sum, F::Count, F::Max}, 16}};
}

}  // namespace

TEST_CASE("a writer killed with SIGKILL loses no record that had returned", "[crash]") {
  const WriterCase c = writer_cases().at(GENERATE(range(0, 4)));
  INFO(c.name);
  // 1000 records per 1 s bucket, each of value 1; a ring of 10 hours never
  // wraps here. A second schema keeps only the last value (16-byte cells):
  // record i writes value i there.
  const std::vector<SchemaConfig> schemas = {
      {"events", LabelMatcher::parse("{__name__=\"n\"}"), {TierConfig{1s, 10h, c.tier0}}, 2},
      {"gauges", LabelMatcher::any(), {TierConfig{1s, 10h, {F::Last}}}, 2}};
  std::mt19937 rng(12345);
  Progress* progress = shared_progress();
  for (int round = 0; round < 10; ++round) {
    TempDir dir;
    progress->returned = -1;
    progress->started = false;
    const pid_t child = spawn([&] {
      detail::limit_cell_store_width_for_testing(c.store_width);
      Store store = Store::open(dir.path(), schemas);
      SeriesHandle n = store.register_series("n");
      SeriesHandle g = store.register_series("g");
      progress->started = true;
      for (std::int64_t i = 0;; ++i) {
        const Timestamp ts = kT0 + static_cast<Timestamp>(i) * 1'000'000;
        if (store.record(n, 1.0, ts) == WriteStatus::Ok &&
            store.record(g, static_cast<double>(i), ts) == WriteStatus::Ok) {
          progress->returned.store(i, std::memory_order_release);
        }
      }
    });
    while (progress->returned.load() < 0) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(100, 40'000)(rng)));
    ::kill(child, SIGKILL);
    wait_for(child);
    const std::int64_t returned = progress->returned.load();
    REQUIRE(returned >= 0);

    Store store = Store::open(dir.path(), schemas);  // reopens cleanly, repairing if needed
    SeriesHandle n = store.register_series("n");
    SeriesHandle g = store.register_series("g");
    double count = 0, sum = 0;
    for (const Point& p : store.query(n, 0, 0, ~Timestamp{0}, F::Count)) count += p.value;
    for (const Point& p : store.query(n, 0, 0, ~Timestamp{0}, F::Sum)) sum += p.value;
    INFO("round " << round << ": " << returned + 1 << " records returned, " << count << " found");
    CHECK(count >= static_cast<double>(returned + 1));  // nothing that returned is lost
    CHECK(count <= static_cast<double>(returned + 2));  // at most the one in flight also made it
    CHECK(sum == count);                                // and no cell is half-updated
    // Every bucket before the last holds exactly its 1000 records.
    auto counts = store.query(n, 0, 0, ~Timestamp{0}, F::Count);
    for (std::size_t i = 0; i + 1 < counts.size(); ++i) CHECK(counts[i].value == 1000);
    // The last value is the last record that returned or the one after it,
    // in that record's own bucket (value and stamp are one store).
    const auto last = store.latest(g, 0, F::Last);
    REQUIRE(last.has_value());
    CHECK(last->value >= static_cast<double>(returned));
    CHECK(last->value <= static_cast<double>(returned + 1));
    const auto i = static_cast<Timestamp>(last->value);
    CHECK(last->time == (kT0 + i * 1'000'000) / kSecond * kSecond);
  }
}

TEST_CASE("a write cut short between its seqlock stores reopens whole, old or new", "[crash]") {
  // One store publishes the cell, so a crash leaves it as it was before the
  // record or as it is after it, with the slot's counter odd. Both reopen.
  const bool store_done = GENERATE(false, true);
  INFO((store_done ? "killed after the cell store" : "killed before the cell store"));
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count});
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("x");
    store.record(h, 5, kT0);
  }
  const std::uint64_t bucket = kT0 / kSecond;
  {
    RawSlab raw(dir / "schema_0/tier_0.slab");
    const std::uint64_t slot = bucket % raw.header().slot_count;
    raw.set_seq(0, slot, 7);
    if (store_done) {  // the record of 2 went in: {stamp, 7, 2}
      raw.set_value(0, slot, 0, 7);
      raw.set_value(0, slot, 1, 2);
    }
  }
  {
    // A reader meanwhile does not hang on the odd slot; it reports it missing.
    Store reader = Store::open_read_only(dir.path());
    CHECK(reader.query(reader.find_series("x").value(), 0, 0, ~Timestamp{0}).empty());
  }
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle x = store.register_series("x");
  CHECK(store.query(x, 0, kT0, kT0, F::Sum).at(0).value == (store_done ? 7 : 5));
  CHECK(store.query(x, 0, kT0, kT0, F::Count).at(0).value == (store_done ? 2 : 1));
  CHECK(store.record(x, 2, kT0) == WriteStatus::Ok);
  CHECK(store.query(x, 0, kT0, kT0, F::Sum).at(0).value == (store_done ? 9 : 7));
}

TEST_CASE("reopening undoes a word-by-word write that a crash cut in half", "[crash]") {
  // The fallback for a CPU without a store as wide as the cell.
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count});
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("x");
    store.record(h, 5, kT0);
  }
  const std::uint64_t bucket = kT0 / kSecond;
  std::uint64_t slot = 0;
  {
    // The state a crash in the middle of the next record() leaves: the undo
    // record saved, the slot's seq odd, the cell half-changed.
    RawSlab raw(dir / "schema_0/tier_0.slab");
    slot = bucket % raw.header().slot_count;
    detail::SlabState state = raw.state();
    CHECK(state.undo.column == detail::kNoColumn);  // the open disarmed it
    state.undo = {};
    state.undo.slot = slot;
    state.undo.column = 0;
    state.undo.stamp = bucket;
    state.undo.values[0] = 5;
    state.undo.values[1] = 1;
    raw.set_state(state);
    raw.set_seq(0, slot, 7);
    raw.set_value(0, slot, 0, 12);  // sum updated, count not yet
  }
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle x = store.register_series("x");
    CHECK(store.query(x, 0, kT0, kT0, F::Sum).at(0).value == 5);
    CHECK(store.query(x, 0, kT0, kT0, F::Count).at(0).value == 1);
    CHECK(store.record(x, 2, kT0) == WriteStatus::Ok);
    CHECK(store.query(x, 0, kT0, kT0, F::Sum).at(0).value == 7);
  }
  // Disarmed again: a later odd slot (a one-store write cut short) is not
  // "restored" from the old copy.
  RawSlab raw(dir / "schema_0/tier_0.slab");
  CHECK(raw.state().undo.column == detail::kNoColumn);
  CHECK(raw.seq(0, slot) % 2 == 0);
}

TEST_CASE("a reader in another process never sees a torn cell or a wrong timestamp", "[crash][concurrency]") {
  // Each writer case of tier 0, plus the last-value cell (16 bytes).
  std::vector<WriterCase> cases = writer_cases();
  cases.push_back({"last value, one 16-byte store, no seqlock", {F::Last}, 64});
  cases.push_back({"last value without AVX: inside the seqlock", {F::Last}, 16});
  const WriterCase c = cases.at(GENERATE(range(0, 6)));
  INFO(c.name);
  TempDir dir;
  // Each record of bucket b has value b, so any consistent cell satisfies
  // sum == count * b, max == last == b, with b derived from the point's time.
  SchemaConfig schema{"events", LabelMatcher::any(),
                      {TierConfig{1s, 600s, c.tier0},
                       TierConfig{10s, 3600s, {F::Sum, F::Count, F::Min, F::Max}}},
                      4};
  { Store store = Store::open(dir.path(), std::span(&schema, 1)); store.register_series("a"); store.register_series("b"); }
  Progress* progress = shared_progress();
  const pid_t writer = spawn([&] {
    detail::limit_cell_store_width_for_testing(c.store_width);
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle a = store.register_series("a");
    SeriesHandle b = store.register_series("b");
    std::atomic<bool> stop{false};
    std::thread maintenance([&] {  // consolidate() concurrently with record(), as the contract allows
      while (!stop) store.consolidate();
    });
    progress->started = true;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(900);
    for (std::uint64_t bucket = 1; std::chrono::steady_clock::now() < until; ++bucket) {
      for (int k = 0; k < 500; ++k) {
        const Timestamp ts = kT0 + bucket * kSecond + static_cast<Timestamp>(k);
        store.record(a, static_cast<double>(bucket), ts);
        store.record(b, static_cast<double>(bucket), ts);
      }
    }
    stop = true;
    maintenance.join();
  });
  while (!progress->started) std::this_thread::yield();

  Store reader = Store::open_read_only(dir.path());
  std::uint64_t cells = 0, bad = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  while (std::chrono::steady_clock::now() < until) {
    for (std::size_t tier : {0, 1}) {
      ExportCursor fresh;
      DrainResult r = reader.drain(tier, fresh);
      // Group the functions of one cell back together by (series, time).
      std::map<std::pair<std::uint32_t, Timestamp>, std::map<F, double>> cellmap;
      for (const auto& d : r.series) {
        for (const Point& p : d.points) cellmap[{d.handle.column(), p.time}][d.fn] = p.value;
      }
      for (auto& [key, v] : cellmap) {
        ++cells;
        const double first = static_cast<double>((key.second - kT0) / kSecond);
        if (tier == 0) {
          // Every function this tier keeps must agree with the bucket.
          bool ok = true;
          for (const auto& [fn, value] : v) {
            if (fn == F::Sum) ok = ok && v.contains(F::Count) && value == v.at(F::Count) * first;
            if (fn == F::Count) ok = ok && value >= 1;
            if (fn == F::Max || fn == F::Min || fn == F::Last || fn == F::Average) ok = ok && value == first;
          }
          bad += !ok;
        } else {
          // Ten 1 s buckets (first .. first+9) fold into one 10 s bucket.
          const bool ok = v[F::Min] >= first && v[F::Max] <= first + 9 && v[F::Min] <= v[F::Max] &&
                          v[F::Sum] >= v[F::Count] * v[F::Min] && v[F::Sum] <= v[F::Count] * v[F::Max];
          bad += !ok;
        }
      }
    }
  }
  const int status = wait_for(writer);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  INFO(cells << " cells read");
  CHECK(cells > 1000);
  CHECK(bad == 0);
}

namespace {

struct HistogramRead {
  std::uint64_t bucket = detail::kNoBucket;  // the bucket its head names
  std::uint64_t merged = detail::kNoBucket;  // coarser tiers: the newest tier-0 bucket merged in
  std::int64_t total = 0;                    // sum of its counts
};

// A histogram of series `column` in a quantile file, read straight from the
// file: tier 0's for `bucket`, a coarser tier's accumulator (bucket unused).
HistogramRead read_histogram(const std::filesystem::path& file, std::uint32_t column, std::uint64_t bucket) {
  std::ifstream f(file, std::ios::binary);
  detail::QuantileHeader h{};
  f.read(reinterpret_cast<char*>(&h), sizeof(h));
  std::uint64_t index = 0;
  if (h.hist_ring != 0) {
    index = column * h.hist_ring + bucket % h.hist_ring;
  } else {
    f.seekg(static_cast<std::streamoff>(h.hist_index_offset + column * 8));
    f.read(reinterpret_cast<char*>(&index), sizeof(index));
  }
  f.seekg(static_cast<std::streamoff>(h.hist_offset + index * h.hist_stride));
  detail::HistogramHead head{};
  f.read(reinterpret_cast<char*>(&head), sizeof(head));
  std::vector<std::uint32_t> counts(h.hist_buckets);
  f.read(reinterpret_cast<char*>(counts.data()), static_cast<std::streamsize>(counts.size() * 4));
  REQUIRE(f);
  HistogramRead out{head.bucket, head.merged, 0};
  for (std::uint32_t c : counts) out.total += c;
  return out;
}

// Total count in tier 0's histogram of `bucket` of series `column`; 0 when
// that histogram holds an older bucket (none of this bucket's records reached it yet).
std::int64_t histogram_total(const std::filesystem::path& file, std::uint32_t column, std::uint64_t bucket) {
  const HistogramRead r = read_histogram(file, column, bucket);
  if (r.bucket != bucket) {
    CHECK((r.bucket < bucket || r.bucket == detail::kNoBucket));
    return 0;
  }
  return r.total;
}

detail::QuantileState read_quantile_state(const std::filesystem::path& file) {
  std::ifstream f(file, std::ios::binary);
  detail::QuantileHeader h{};
  f.read(reinterpret_cast<char*>(&h), sizeof(h));
  f.seekg(static_cast<std::streamoff>(h.state_offset));
  detail::QuantileState st{};
  f.read(reinterpret_cast<char*>(&st), sizeof(st));
  REQUIRE(f);
  return st;
}

}  // namespace

TEST_CASE("a writer killed with SIGKILL leaves every open histogram consistent with its cells", "[crash][quantile]") {
  // 1000 records per 1 s bucket; tier 1 (10 s) is filled by the same record()s.
  SchemaConfig schema{"events", LabelMatcher::any(),
                      {TierConfig{1s, 10h, {F::Sum, F::Count}}, TierConfig{10s, 10h, {}}}, 2, kDefaultQuantiles};
  std::mt19937 rng(777);
  Progress* progress = shared_progress();
  for (int round = 0; round < 8; ++round) {
    TempDir dir;
    progress->returned = -1;
    const pid_t child = spawn([&] {
      Store store = Store::open(dir.path(), std::span(&schema, 1));
      SeriesHandle h = store.register_series("n");
      for (std::int64_t i = 0;; ++i) {
        if (store.record(h, static_cast<double>(i % 5000 + 1), kT0 + static_cast<Timestamp>(i) * 1'000'000) ==
            WriteStatus::Ok) {
          progress->returned.store(i, std::memory_order_release);
        }
        if (i % 1000 == 999) store.consolidate();
      }
    });
    while (progress->returned.load() < 0) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(100, 40'000)(rng)));
    ::kill(child, SIGKILL);
    wait_for(child);
    const std::int64_t returned = progress->returned.load();

    Store store = Store::open(dir.path(), std::span(&schema, 1));  // repairs what the kill cut short
    SeriesHandle h = store.register_series("n");
    const auto counts = store.query(h, 0, 0, ~Timestamp{0}, F::Count);
    REQUIRE(!counts.empty());
    const std::uint64_t head = counts.back().time / kSecond;
    const auto head_count = static_cast<std::int64_t>(counts.back().value);
    // The records of the head bucket that returned: from its first index to `returned`.
    const std::int64_t head_returned = returned - static_cast<std::int64_t>((head - kT0 / kSecond) * 1000) + 1;
    const std::int64_t in_hist = histogram_total(dir / "schema_0/tier_0.quantiles", 0, head);
    INFO("round " << round << ": " << head_returned << " returned into the head bucket, cell counts " << head_count
                  << ", histogram " << in_hist);
    CHECK(in_hist >= head_returned);  // every record that returned is counted once...
    CHECK(in_hist <= head_count);     // ...and none more than the cell holds
    CHECK(in_hist >= head_count - 1);  // the cell may hold the one in flight, the histogram not yet
    // Tier 1's accumulator holds exactly the records of its tier-0 buckets
    // the pass has merged (those up to `merged`, once each), and the pass
    // merged every closed tier-0 bucket its position has passed.
    const HistogramRead acc = read_histogram(dir / "schema_0/tier_1.quantiles", 0, 0);
    const std::uint64_t next0 = read_quantile_state(dir / "schema_0/tier_0.quantiles").next_bucket;
    std::int64_t merged_cells = 0;
    for (const Point& p : counts) {
      const std::uint64_t b = p.time / kSecond;
      if (b / 10 == acc.bucket && b <= acc.merged) merged_cells += static_cast<std::int64_t>(p.value);
    }
    if (acc.bucket != detail::kNoBucket) {
      CHECK(acc.total == merged_cells);
      CHECK(acc.merged + 1 >= next0);  // every bucket the tier-0 position passed is merged...
      CHECK(acc.merged <= next0);      // ...and at most the one it was working on, beyond
    }
    // Recording goes on, and the bucket's quantiles come out of the histogram.
    CHECK(store.record(h, 1.0, counts.back().time) == WriteStatus::Ok);
    store.seal();
    store.consolidate();
    const auto p50 = store.query(h, 0, counts.back().time, counts.back().time, Quantile{0.5});
    REQUIRE(p50.size() == 1);
    CHECK(p50[0].value > 0);
  }
}

TEST_CASE("a writer killed during consolidate() passes never counts a tier-0 histogram twice or loses one in a coarser tier",
          "[crash][quantile]") {
  // A pass merges each closed tier-0 histogram into tiers 1 and 2. The
  // writer here spends most of its time in consolidate(): 16 series, values
  // spread over many histogram lines, a tier-0 bucket closing every 10
  // records and a pass after every 10.
  constexpr std::uint32_t kSeries = 16;
  constexpr Timestamp kStep = 100'000'000;  // 100 ms per record
  const std::uint64_t intervals[] = {1, 600, 3600};  // seconds
  SchemaConfig schema{"events", LabelMatcher::any(),
                      {TierConfig{1s, 2h, {F::Sum, F::Count}}, TierConfig{10min, 1h, {}}, TierConfig{1h, 10h, {}}},
                      kSeries, kDefaultQuantiles};
  std::mt19937 rng(4242);
  Progress* progress = shared_progress();
  int killed_in_pass = 0;
  const int rounds = 24;
  for (int round = 0; round < rounds; ++round) {
    TempDir dir;
    progress->returned = -1;
    progress->started = false;  // here: "inside consolidate()"
    const pid_t child = spawn([&] {
      Store store = Store::open(dir.path(), std::span(&schema, 1));
      std::vector<SeriesHandle> h;
      for (std::uint32_t s = 0; s < kSeries; ++s) h.push_back(store.register_series("s" + std::to_string(s)));
      std::mt19937_64 values(static_cast<std::uint64_t>(round));
      std::lognormal_distribution<double> latency(9.0, 3.0);
      for (std::int64_t i = 0;; ++i) {
        if (store.record(h[static_cast<std::size_t>(i) % kSeries], latency(values),
                         kT0 + static_cast<Timestamp>(i) * kStep) == WriteStatus::Ok) {
          progress->returned.store(i, std::memory_order_release);
        }
        if (i % 10 == 9) {
          progress->started.store(true, std::memory_order_release);
          store.consolidate();
          progress->started.store(false, std::memory_order_release);
        }
      }
    });
    while (progress->returned.load() < 0) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(1'000, 40'000)(rng)));
    ::kill(child, SIGKILL);
    wait_for(child);
    killed_in_pass += progress->started.load() ? 1 : 0;
    const std::int64_t returned = progress->returned.load();
    INFO("round " << round << ": " << returned + 1 << " records returned");

    // Straight after the kill, before any repair: each coarser accumulator
    // holds its tier-0 buckets up to `merged`, each exactly once.
    std::vector<std::vector<Point>> cell_counts(kSeries);
    {
      Store reader = Store::open_read_only(dir.path());
      for (std::uint32_t s = 0; s < kSeries; ++s) {
        cell_counts[s] = reader.query(reader.find_series("s" + std::to_string(s)).value(), 0, 0, ~Timestamp{0}, F::Count);
      }
    }
    auto cells_in = [&](std::uint32_t s, std::uint64_t coarse, std::uint64_t ratio, std::uint64_t through) {
      std::int64_t n = 0;
      for (const Point& p : cell_counts[s]) {
        const std::uint64_t b = p.time / kSecond;
        if (b / ratio == coarse && b <= through) n += static_cast<std::int64_t>(p.value);
      }
      return n;
    };
    for (std::size_t k = 1; k < 3; ++k) {
      const auto file = dir / ("schema_0/tier_" + std::to_string(k) + ".quantiles");
      for (std::uint32_t s = 0; s < kSeries; ++s) {
        const HistogramRead acc = read_histogram(file, s, 0);
        if (acc.bucket == detail::kNoBucket) continue;
        INFO("tier " << k << " series " << s << " accumulates bucket " << acc.bucket << " through " << acc.merged);
        CHECK(acc.total == cells_in(s, acc.bucket, intervals[k], acc.merged));
      }
    }

    // Reopened (repairing), sealed and passed once more: every tier-0 bucket
    // is merged, and each coarser tier's open bucket holds every record that
    // returned into it, once (and at most the one in flight, whose cell may
    // be written before its histogram count).
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    store.seal();
    store.consolidate();
    const auto in_bucket = [&](std::uint32_t s, std::uint64_t coarse, std::uint64_t interval, std::int64_t upto) {
      std::int64_t n = 0;
      for (std::int64_t i = s; i <= upto; i += kSeries) {
        n += (kT0 + static_cast<Timestamp>(i) * kStep) / kSecond / interval == coarse ? 1 : 0;
      }
      return n;
    };
    const std::uint64_t last = (kT0 + static_cast<Timestamp>(returned + 1) * kStep) / kSecond;  // newest bucket any record may be in
    for (std::size_t k = 1; k < 3; ++k) {
      const auto file = dir / ("schema_0/tier_" + std::to_string(k) + ".quantiles");
      const std::uint64_t open = last / intervals[k];
      for (std::uint32_t s = 0; s < kSeries; ++s) {
        const HistogramRead acc = read_histogram(file, s, 0);
        const std::int64_t want = in_bucket(s, open, intervals[k], returned);
        INFO("tier " << k << " series " << s << ": " << want << " records returned into bucket " << open
                     << ", accumulator of bucket " << acc.bucket << " holds " << acc.total);
        if (want == 0) continue;  // nothing of this series reached the open bucket (yet)
        REQUIRE(acc.bucket == open);
        CHECK(acc.total >= want);
        CHECK(acc.total <= in_bucket(s, open, intervals[k], returned + 1));
      }
      CHECK(read_quantile_state(file).lost_buckets == 0);
    }
  }
  INFO(killed_in_pass << " of " << rounds << " kills landed inside consolidate()");
  CHECK(killed_in_pass >= rounds / 4);
}

// ---- record_batch(): all of a batch or none of it, for readers (store.hpp, "Batches") ----

namespace {

// Two schemas, so that one batch spans two rings: {Sum, Count, Max} cells
// (32 bytes, per-cell counters) and {Last} cells (16 bytes, no seqlock on a
// CPU with AVX). 10 ms buckets and 1 ms per batch: a new bucket every 10
// batches, whose first entry takes record()'s slow path and moves the head.
constexpr std::uint32_t kBatchSeries = 16;  // per schema
constexpr Timestamp kBatchStep = 1'000'000;

std::vector<SchemaConfig> batch_schemas() {
  return {{"events", LabelMatcher::parse("{__name__=\"e\"}"), {TierConfig{10ms, 10s, {F::Sum, F::Count, F::Max}}},
           kBatchSeries},
          {"gauges", LabelMatcher::any(), {TierConfig{10ms, 10s, {F::Last}}}, kBatchSeries}};
}

struct BatchSeries {
  std::vector<SeriesHandle> events, gauges;
};

BatchSeries register_batch_series(Store& store) {
  BatchSeries s;
  for (std::uint32_t i = 0; i < kBatchSeries; ++i) {
    const std::vector<Label> labels = {{"i", std::to_string(i)}};
    s.events.push_back(store.register_series("e", labels));
    s.gauges.push_back(store.register_series("g", labels));
  }
  return s;
}

// Batch k: every series gets value k, `repeat` times, at one timestamp.
// Whole batches keep every events series' cell equal to every other's, and
// every gauge equal to the others.
std::vector<std::pair<SeriesHandle, double>> make_batch(const BatchSeries& s, std::int64_t k, int repeat = 1) {
  std::vector<std::pair<SeriesHandle, double>> batch;
  for (int r = 0; r < repeat; ++r) {
    for (std::uint32_t i = 0; i < kBatchSeries; ++i) {
      batch.emplace_back(s.events[i], static_cast<double>(k));
      batch.emplace_back(s.gauges[i], static_cast<double>(k));
    }
  }
  return batch;
}

Timestamp batch_time(std::int64_t k) { return kT0 + static_cast<Timestamp>(k) * kBatchStep; }

// What one read of every series' newest bucket found.
struct BatchRead {
  bool whole = false;  // read_whole_batches' answer
  bool mixed = false;  // two events series, or two gauges, differ
  std::optional<Point> gauge;  // series 0's
};

bool same(const std::optional<Point>& a, const std::optional<Point>& b) {
  return a.has_value() == b.has_value() && (!a || (a->time == b->time && a->value == b->value));
}

BatchRead read_batch(const Store& store, const BatchSeries& s) {
  std::vector<std::optional<Point>> sums(kBatchSeries), counts(kBatchSeries), lasts(kBatchSeries);
  BatchRead r;
  r.whole = store.read_whole_batches([&] {
    for (std::uint32_t i = 0; i < kBatchSeries; ++i) {
      sums[i] = store.latest(s.events[i], 0, F::Sum);
      counts[i] = store.latest(s.events[i], 0, F::Count);
      lasts[i] = store.latest(s.gauges[i], 0, F::Last);
    }
  });
  for (std::uint32_t i = 1; i < kBatchSeries; ++i) {
    r.mixed |= !same(sums[i], sums[0]) || !same(counts[i], counts[0]) || !same(lasts[i], lasts[0]);
  }
  r.gauge = lasts[0];
  return r;
}

// Shared with a child process: how far each side got.
struct BatchProgress {
  std::atomic<std::int64_t> returned{-1};  // the last batch whose record_batch() returned
  std::atomic<std::int64_t> reads{0}, whole{0}, mixed_whole{0};
  std::atomic<bool> stop{false};
};

BatchProgress* shared_batch_progress() {
  void* p = ::mmap(nullptr, sizeof(BatchProgress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  return new (p) BatchProgress();
}

// Reads until told to stop, counting reads, whole ones, and whole ones that were mixed.
void read_batches_until_stopped(const Store& store, const BatchSeries& s, BatchProgress& p) {
  while (!p.stop.load()) {
    const BatchRead r = read_batch(store, s);
    p.reads.fetch_add(1);
    if (r.whole) p.whole.fetch_add(1);
    if (r.whole && r.mixed) p.mixed_whole.fetch_add(1);
  }
}

// The writer's side of the concurrent tests: batches until the reader did
// `reads` reads, yielding between batches as a VMM's exits leave gaps.
void write_batches_while_reading(Store& store, const BatchSeries& s, BatchProgress& p, std::int64_t reads) {
  for (std::int64_t k = p.returned.load() + 1; p.reads.load() < reads; ++k) {
    REQUIRE(store.record_batch(make_batch(s, k), batch_time(k)) == WriteStatus::Ok);
    p.returned.store(k);
    std::this_thread::yield();
  }
  p.stop.store(true);
}

}  // namespace

TEST_CASE("a reader thread sees every record_batch() whole or not at all", "[crash][concurrency][batch]") {
  TempDir dir;
  Store store = Store::open(dir.path(), batch_schemas());
  const BatchSeries s = register_batch_series(store);
  BatchProgress p;
  std::thread reader([&] { read_batches_until_stopped(store, s, p); });
  write_batches_while_reading(store, s, p, 20'000);
  reader.join();
  INFO("reads " << p.reads.load() << ", whole " << p.whole.load() << ", batches " << p.returned.load() + 1);
  CHECK(p.mixed_whole.load() == 0);
  CHECK(p.whole.load() > 0);
}

TEST_CASE("a reader process sees every record_batch() whole or not at all", "[crash][concurrency][batch]") {
  TempDir dir;
  Store store = Store::open(dir.path(), batch_schemas());
  const BatchSeries s = register_batch_series(store);
  BatchProgress* p = shared_batch_progress();
  REQUIRE(store.record_batch(make_batch(s, 0), batch_time(0)) == WriteStatus::Ok);
  p->returned = 0;
  const pid_t child = spawn([&] {
    const Store reader = Store::open_read_only(dir.path());
    BatchSeries theirs;
    for (std::uint32_t i = 0; i < kBatchSeries; ++i) {
      const std::vector<Label> labels = {{"i", std::to_string(i)}};
      theirs.events.push_back(*reader.find_series("e", labels));
      theirs.gauges.push_back(*reader.find_series("g", labels));
    }
    read_batches_until_stopped(reader, theirs, *p);
  });
  write_batches_while_reading(store, s, *p, 20'000);
  REQUIRE(wait_for(child) == 0);
  INFO("reads " << p->reads.load() << ", whole " << p->whole.load() << ", batches " << p->returned.load() + 1);
  CHECK(p->mixed_whole.load() == 0);
  CHECK(p->whole.load() > 0);
}

TEST_CASE("a writer killed mid-batch blocks no reader, and its reopen ends the batch", "[crash][batch]") {
  BatchProgress* p = shared_batch_progress();
  std::mt19937 rng(4242);
  int cut_mid_batch = 0;
  for (int round = 0; round < 8; ++round) {
    TempDir dir;
    p->returned = -1;
    const pid_t child = spawn([&] {
      Store store = Store::open(dir.path(), batch_schemas());
      const BatchSeries s = register_batch_series(store);
      // 64 entries per series per batch: a batch is long enough that a kill
      // often lands inside one.
      for (std::int64_t k = 0;; ++k) {
        if (store.record_batch(make_batch(s, k, 64), batch_time(k)) == WriteStatus::Ok) p->returned.store(k);
      }
    });
    while (p->returned.load() < 0) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(100, 20'000)(rng)));
    ::kill(child, SIGKILL);
    wait_for(child);
    const std::int64_t returned = p->returned.load();

    // Beside the dead writer: reads end (bounded wait), and say whether they
    // saw whole batches. Asked again, the store knows the batch is stuck.
    {
      const Store reader = Store::open_read_only(dir.path());
      BatchSeries s;
      for (std::uint32_t i = 0; i < kBatchSeries; ++i) {
        const std::vector<Label> labels = {{"i", std::to_string(i)}};
        s.events.push_back(*reader.find_series("e", labels));
        s.gauges.push_back(*reader.find_series("g", labels));
      }
      const BatchRead first = read_batch(reader, s);
      const BatchRead again = read_batch(reader, s);
      CHECK(again.whole == first.whole);
      if (first.whole) CHECK_FALSE(first.mixed);  // killed between batches
      cut_mid_batch += first.whole ? 0 : 1;
      // Either way the gauges hold the last batch that returned, or the next one.
      REQUIRE(first.gauge);
      CHECK(first.gauge->value >= static_cast<double>(returned));
      CHECK(first.gauge->value <= static_cast<double>(returned + 1));
    }
    // The writer's reopen ends the cut batch: reads are whole again (what the
    // dead batch wrote stays, as the contract says), and batches go on.
    Store store = Store::open(dir.path(), batch_schemas());
    const BatchSeries s = register_batch_series(store);
    const BatchRead reopened = read_batch(store, s);
    CHECK(reopened.whole);
    REQUIRE(store.record_batch(make_batch(s, returned + 2), batch_time(returned + 100)) == WriteStatus::Ok);
    const BatchRead after = read_batch(store, s);
    CHECK(after.whole);
    CHECK_FALSE(after.mixed);
  }
  INFO("rounds cut mid-batch: " << cut_mid_batch);
  SUCCEED();
}

TEST_CASE("a batch counter left odd reads as stuck, fast, and a writable open evens it", "[crash][batch]") {
  TempDir dir;
  {
    Store store = Store::open(dir.path(), batch_schemas());
    const BatchSeries s = register_batch_series(store);
    REQUIRE(store.record_batch(make_batch(s, 7), batch_time(7)) == WriteStatus::Ok);
  }
  // What a crash inside a batch leaves in the first schema's tier 0, where
  // the store's batch counter is: an odd counter.
  {
    RawSlab raw(dir.path() / "schema_0/tier_0.slab");
    detail::SlabState st = raw.state();
    REQUIRE(st.batch_seq == 2);  // one batch: odd, then even
    st.batch_seq = 3;
    raw.set_state(st);
  }
  {
    const Store reader = Store::open_read_only(dir.path());
    int runs = 0;
    CHECK_FALSE(reader.read_whole_batches([&] { ++runs; }));
    CHECK(runs == 1);  // stuck: one run, not kBatchReadTries
    runs = 0;
    CHECK_FALSE(reader.read_whole_batches([&] { ++runs; }));
    CHECK(runs == 1);
  }
  {
    Store store = Store::open(dir.path(), batch_schemas());
    int runs = 0;
    CHECK(store.read_whole_batches([&] { ++runs; }));
    CHECK(runs == 1);
  }
  RawSlab raw(dir.path() / "schema_0/tier_0.slab");
  CHECK(raw.state().batch_seq == 4);
}
