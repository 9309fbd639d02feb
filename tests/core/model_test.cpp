// Randomized differential test: the store against a naive in-memory model
// (maps instead of rings) under gaps, NaN inputs, out-of-order writes inside
// the window, long jumps, consolidate() and seal() at random moments and reopen.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <optional>
#include <random>

#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;

namespace {

constexpr int kSeries = 3;
const std::vector<F> kAll = {F::Average, F::Min, F::Max, F::Last, F::Sum, F::Count};

struct Cell {
  double sum = 0, count = 0, min = INFINITY, max = -INFINITY, last = NAN;
  bool present = false;
  double get(F fn) const {
    switch (fn) {
      case F::Average: return sum / count;
      case F::Min: return min;
      case F::Max: return max;
      case F::Last: return last;
      case F::Sum: return sum;
      case F::Count: return count;
    }
    return NAN;
  }
};

struct ModelTier {
  std::uint64_t interval_s, slots;
  double xff;
  std::optional<std::uint64_t> head, first, next;
  std::map<std::uint64_t, Cell> cells[kSeries];
  std::uint64_t sealed_below = 0;  // tier 0: seal() closed the buckets below this

  bool holds(std::uint64_t b) const { return head && b <= *head && b + slots > *head; }
};

// The documented behaviour, written the obvious way.
struct Model {
  std::vector<ModelTier> tiers;

  WriteStatus record(int series, double v, std::uint64_t second) {
    if (std::isnan(v)) return WriteStatus::NotANumber;
    ModelTier& t = tiers[0];
    if (t.head && second + t.slots <= *t.head) return WriteStatus::TooOld;
    Cell& c = t.cells[series][second];
    c.present = true;
    c.sum += v;
    c.count += 1;
    c.min = std::min(c.min, v);
    c.max = std::max(c.max, v);
    c.last = v;
    if (!t.head || second > *t.head) t.head = second;
    if (!t.first) t.first = second;
    return WriteStatus::Ok;
  }

  void seal() {
    ModelTier& t = tiers[0];
    if (t.head) t.sealed_below = std::max(t.sealed_below, *t.head + 1);
  }

  void consolidate() {
    for (std::size_t k = 1; k < tiers.size(); ++k) {
      ModelTier& src = tiers[k - 1];
      ModelTier& dst = tiers[k];
      if (!src.head) continue;
      const std::uint64_t ratio = dst.interval_s / src.interval_s;
      std::uint64_t next = dst.next ? *dst.next : *src.first / ratio;
      // A source bucket is complete once a newer one exists, or once sealed.
      while ((next + 1) * ratio <= std::max(*src.head, src.sealed_below)) {
        const std::uint64_t oldest = *src.head >= src.slots - 1 ? *src.head - (src.slots - 1) : 0;
        if ((next + 1) * ratio - 1 < oldest) {
          next = oldest / ratio;
          continue;
        }
        for (int s = 0; s < kSeries; ++s) {
          Cell out;
          std::uint64_t known = 0;
          for (std::uint64_t b = next * ratio; b < (next + 1) * ratio; ++b) {
            auto it = src.cells[s].find(b);
            if (!src.holds(b) || it == src.cells[s].end() || !it->second.present) continue;
            const Cell& c = it->second;
            ++known;
            out.sum += c.sum;
            out.count += c.count;
            out.min = std::min(out.min, c.min);
            out.max = std::max(out.max, c.max);
            out.last = c.last;
          }
          // Sums of sums and counts of counts: the average sum/count is then
          // the count-weighted average of averages.
          out.present = known > 0 && static_cast<double>(known) >= dst.xff * static_cast<double>(ratio) - 1e-9;
          dst.cells[s][next] = out;
        }
        dst.head = next;
        if (!dst.first) dst.first = next;
        ++next;
      }
      dst.next = next;
    }
  }
};

SchemaConfig small_schema() {
  // Small rings so that laps, losses and jumps happen often.
  SchemaConfig s{"model", LabelMatcher::any(),
                 {TierConfig{1s, 20s, {F::Sum, F::Count, F::Min, F::Max, F::Average, F::Last}},
                  TierConfig{5s, 60s, {F::Average, F::Min, F::Max, F::Last, F::Sum, F::Count}},
                  TierConfig{15s, 120s, {}, 0.5}},
                 4};
  return s;
}

void compare(const Store& store, const Model& model, const std::vector<SeriesHandle>& handles) {
  for (std::size_t k = 0; k < model.tiers.size(); ++k) {
    const ModelTier& t = model.tiers[k];
    for (int s = 0; s < kSeries; ++s) {
      for (F fn : kAll) {
        std::vector<Point> expected;
        if (t.head) {
          for (const auto& [b, cell] : t.cells[s]) {
            if (t.holds(b) && cell.present) expected.push_back({b * t.interval_s * kSecond, cell.get(fn)});
          }
        }
        auto actual = store.query(handles[static_cast<std::size_t>(s)], k, 0, ~Timestamp{0}, fn);
        INFO("tier " << k << " series " << s << " fn " << to_string(fn));
        REQUIRE(actual.size() == expected.size());
        for (std::size_t i = 0; i < actual.size(); ++i) {
          INFO("point " << i);
          REQUIRE(actual[i].time == expected[i].time);
          REQUIRE(actual[i].value == Approx(expected[i].value).epsilon(1e-9).margin(1e-9));
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("the store behaves like the naive model under random operations", "[model]") {
  const auto seed = GENERATE(1u, 2u, 3u, 4u, 5u, 6u);
  std::mt19937_64 rng(seed);
  INFO("seed " << seed);
  TempDir dir;
  SchemaConfig schema = small_schema();
  Model model;
  for (const TierConfig& t : schema.tiers) {
    model.tiers.push_back({static_cast<std::uint64_t>(t.interval.count() / 1'000'000'000),
                           static_cast<std::uint64_t>(t.duration / t.interval), t.xff, {}, {}, {}, {}, 0});
  }
  auto store = std::make_unique<Store>(Store::open(dir.path(), std::span(&schema, 1)));
  std::vector<SeriesHandle> handles;
  for (int s = 0; s < kSeries; ++s) handles.push_back(store->register_series("s" + std::to_string(s)));

  std::uint64_t now = 1000;  // seconds
  for (int op = 0; op < 4000; ++op) {
    const auto dice = rng() % 1000;
    if (dice < 850) {
      std::uint64_t second = now;
      const auto kind = rng() % 100;
      if (kind < 70) {
        now += rng() % 2;  // the common case: this second or the next
        second = now;
      } else if (kind < 90) {
        second = now >= 25 ? now - rng() % 25 : now;  // out of order, sometimes too old
      } else if (kind < 97) {
        now += 1 + rng() % 12;  // a gap
        second = now;
      } else {
        now += 30 + rng() % 300;  // a long jump, beyond every ring
        second = now;
      }
      const int s = static_cast<int>(rng() % kSeries);
      double v = static_cast<double>(static_cast<int>(rng() % 2001) - 1000) / 8.0;
      if (rng() % 20 == 0) v = NAN;
      const Timestamp ts = second * kSecond + rng() % kSecond;
      const WriteStatus want = model.record(s, v, second);
      INFO("op " << op << " record s" << s << " at " << second);
      REQUIRE(store->record(handles[static_cast<std::size_t>(s)], v, ts) == want);
    } else if (dice < 985) {
      model.consolidate();
      store->consolidate();
    } else if (dice < 992) {
      model.seal();
      store->seal();
    } else {
      store.reset();  // reopen in the middle
      store = std::make_unique<Store>(Store::open(dir.path(), std::span(&schema, 1)));
    }
    if (op % 200 == 199) compare(*store, model, handles);
  }
  model.consolidate();
  store->consolidate();
  compare(*store, model, handles);
}
