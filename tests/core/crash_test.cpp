// The durability and concurrency contract of store.hpp, tested with real
// processes: a writer killed with SIGKILL, a write cut in half, and a reader
// in another process while the writer runs.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "rondo/detail/quantile_format.hpp"
#include "rondo/detail/slab_format.hpp"
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

}  // namespace

TEST_CASE("a writer killed with SIGKILL loses no record that had returned", "[crash]") {
  // 1000 records per 1 s bucket, each of value 1; a ring of 10 hours never wraps here.
  SchemaConfig schema{"events", LabelMatcher::any(), {TierConfig{1s, 10h, {F::Sum, F::Count}}}, 2};
  std::mt19937 rng(12345);
  Progress* progress = shared_progress();
  for (int round = 0; round < 12; ++round) {
    TempDir dir;
    progress->returned = -1;
    progress->started = false;
    const pid_t child = spawn([&] {
      Store store = Store::open(dir.path(), std::span(&schema, 1));
      SeriesHandle h = store.register_series("n");
      progress->started = true;
      for (std::int64_t i = 0;; ++i) {
        if (store.record(h, 1.0, kT0 + static_cast<Timestamp>(i) * 1'000'000) == WriteStatus::Ok) {
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

    Store store = Store::open(dir.path(), std::span(&schema, 1));  // reopens cleanly, repairing if needed
    SeriesHandle h = store.register_series("n");
    double count = 0, sum = 0;
    for (const Point& p : store.query(h, 0, 0, ~Timestamp{0}, F::Count)) count += p.value;
    for (const Point& p : store.query(h, 0, 0, ~Timestamp{0}, F::Sum)) sum += p.value;
    INFO("round " << round << ": " << returned + 1 << " records returned, " << count << " found");
    CHECK(count >= static_cast<double>(returned + 1));  // nothing that returned is lost
    CHECK(count <= static_cast<double>(returned + 2));  // at most the one in flight also made it
    CHECK(sum == count);                                // and no cell is half-updated
    // Every bucket before the last holds exactly its 1000 records.
    auto counts = store.query(h, 0, 0, ~Timestamp{0}, F::Count);
    for (std::size_t i = 0; i + 1 < counts.size(); ++i) CHECK(counts[i].value == 1000);
  }
}

TEST_CASE("reopening undoes a write that a crash cut in half", "[crash]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count});
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("x");
    store.record(h, 5, kT0);
  }
  // Forge the state a crash in the middle of the next record() would leave:
  // the slot's seq odd, the undo record saved, the cell half-changed.
  const auto path = dir / "schema_0/tier_0.slab";
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  detail::SlabHeader h{};
  f.read(reinterpret_cast<char*>(&h), sizeof(h));
  const std::uint64_t bucket = kT0 / kSecond;
  const std::uint64_t slot = bucket % h.slot_count;
  detail::SlabState state{};
  f.seekg(static_cast<std::streamoff>(h.state_offset));
  f.read(reinterpret_cast<char*>(&state), sizeof(state));
  state.undo = {};
  state.undo.slot = slot;
  state.undo.column = 0;
  state.undo.stamp = bucket;
  state.undo.restore_stamp = 1;
  state.undo.slot_time = kT0;
  state.undo.values[0] = 5;
  state.undo.values[1] = 1;
  f.seekp(static_cast<std::streamoff>(h.state_offset));
  f.write(reinterpret_cast<const char*>(&state), sizeof(state));
  const std::uint64_t odd = 7;
  f.seekp(static_cast<std::streamoff>(h.slot_seq_offset + slot * 8));
  f.write(reinterpret_cast<const char*>(&odd), 8);
  const double torn_sum = 12;  // sum updated, count not yet
  f.seekp(static_cast<std::streamoff>(h.columns_offset + (h.slot_count + slot) * 8));  // after the stamp column
  f.write(reinterpret_cast<const char*>(&torn_sum), 8);
  f.close();

  {
    // A reader meanwhile does not hang on the odd slot; it reports it missing.
    Store reader = Store::open_read_only(dir.path());
    CHECK(reader.query(reader.find_series("x").value(), 0, 0, ~Timestamp{0}).empty());
  }
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle x = store.register_series("x");
  CHECK(store.query(x, 0, kT0, kT0, F::Sum).at(0).value == 5);
  CHECK(store.query(x, 0, kT0, kT0, F::Count).at(0).value == 1);
  CHECK(store.record(x, 2, kT0) == WriteStatus::Ok);
  CHECK(store.query(x, 0, kT0, kT0, F::Sum).at(0).value == 7);
}

TEST_CASE("a reader in another process never sees a torn cell or a wrong timestamp", "[crash][concurrency]") {
  TempDir dir;
  // Each record of bucket b has value b, so any consistent cell satisfies
  // sum == count * b, max == last == b, with b derived from the point's time.
  SchemaConfig schema{"events", LabelMatcher::any(),
                      {TierConfig{1s, 600s, {F::Sum, F::Count, F::Max, F::Last}},
                       TierConfig{10s, 3600s, {F::Sum, F::Count, F::Min, F::Max}}},
                      4};
  { Store store = Store::open(dir.path(), std::span(&schema, 1)); store.register_series("a"); store.register_series("b"); }
  Progress* progress = shared_progress();
  const pid_t writer = spawn([&] {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle a = store.register_series("a");
    SeriesHandle b = store.register_series("b");
    std::atomic<bool> stop{false};
    std::thread maintenance([&] {  // consolidate() concurrently with record(), as the contract allows
      while (!stop) store.consolidate();
    });
    progress->started = true;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
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
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
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
          const bool ok = v[F::Max] == first && v[F::Last] == first && v[F::Sum] == v[F::Count] * first;
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

// Total count in the histogram of `bucket` of series `column` in a quantile
// file, read straight from the file; 0 when that histogram holds an older
// bucket (none of this bucket's records reached it yet).
std::int64_t histogram_total(const std::filesystem::path& file, std::uint32_t column, std::uint64_t bucket) {
  std::ifstream f(file, std::ios::binary);
  detail::QuantileHeader h{};
  f.read(reinterpret_cast<char*>(&h), sizeof(h));
  f.seekg(static_cast<std::streamoff>(h.hist_offset + (column * h.hist_ring + bucket % h.hist_ring) * h.hist_stride));
  detail::HistogramHead head{};
  f.read(reinterpret_cast<char*>(&head), sizeof(head));
  if (head.bucket != bucket) {
    CHECK((head.bucket < bucket || head.bucket == detail::kNoBucket));
    return 0;
  }
  std::vector<std::uint32_t> counts(h.hist_buckets);
  f.read(reinterpret_cast<char*>(counts.data()), static_cast<std::streamsize>(counts.size() * 4));
  std::int64_t total = 0;
  for (std::uint32_t c : counts) total += c;
  return total;
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
    // Tier 1's open histogram holds exactly the records of its tier-0 buckets.
    const std::uint64_t head1 = head / 10;
    std::int64_t cells1 = 0;
    for (const Point& p : counts) cells1 += p.time / kSecond / 10 == head1 ? static_cast<std::int64_t>(p.value) : 0;
    const std::int64_t in_hist1 = histogram_total(dir / "schema_0/tier_1.quantiles", 0, head1);
    CHECK(in_hist1 <= cells1);
    CHECK(in_hist1 >= cells1 - 1);
    // Recording goes on, and the bucket's quantiles come out of the histogram.
    CHECK(store.record(h, 1.0, counts.back().time) == WriteStatus::Ok);
    store.seal();
    store.consolidate();
    const auto p50 = store.query(h, 0, counts.back().time, counts.back().time, Quantile{0.5});
    REQUIRE(p50.size() == 1);
    CHECK(p50[0].value > 0);
  }
}
