// The damage campaign (issue 17): a sealed store is damaged at random, one
// fault per case (a bit flip or a damaged range inside one region of one
// file, a truncation, appended garbage, a deleted or swapped file), and
// every entry point is run on it: the library's read-only and writable
// opens with a full read, and the real `rondo` binary's info, query, dump
// and verify. Each must refuse with an error naming something in the store,
// or serve only points the undamaged store served, with the same values,
// and the same series; never crash, never hang. Seeded and bounded in time
// (RONDO_DAMAGE_SEED, RONDO_DAMAGE_SECONDS override); the counts it prints
// are in docs/reliability.md.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "cli_test_util.hpp"
#include "rondo/detail/slab_format.hpp"

using namespace rondo;
using namespace rondo::test;
namespace fs = std::filesystem;

namespace {

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoull(v) : fallback;
}

// What a store serves through the library: its series and every point of
// every stored function of every tier, keyed "series|tier|fn|time".
struct Served {
  std::set<std::string> series;
  std::map<std::string, std::uint64_t> points;  // value bits
};

Served read_all(const Store& store) {
  Served out;
  for (const SeriesInfo& s : store.series()) {
    std::string name = s.name;
    for (const Label& l : s.labels) name += "," + l.name + "=" + l.value;
    out.series.insert(name);
    const SchemaConfig& schema = store.schemas()[s.schema];
    for (std::size_t t = 0; t < schema.tiers.size(); ++t) {
      for (ConsolidationFn fn : stored_functions(schema, t)) {
        for (const Point& p : store.query(s.handle, t, 0, ~Timestamp{0}, fn)) {
          std::uint64_t bits;
          std::memcpy(&bits, &p.value, 8);
          out.points[name + "|" + std::to_string(t) + "|" + std::string(to_string(fn)) + "|" +
                     std::to_string(p.time)] = bits;
        }
      }
    }
  }
  return out;
}

std::set<std::string> line_set(const std::string& text) {
  const auto lines = lines_of(text);
  return {lines.begin(), lines.end()};
}

// A byte range of one file that holds one kind of thing.
struct Region {
  std::string name;
  std::size_t begin, end;
};

std::vector<Region> regions_of(const fs::path& file, const std::string& bytes) {
  if (file.extension() != ".slab" || bytes.size() < sizeof(detail::SlabHeader)) return {{"whole", 0, bytes.size()}};
  detail::SlabHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return {{"header", 0, sizeof h},
          {"state", h.state_offset, h.state_offset + sizeof(detail::SlabState)},
          {"seq", h.slot_seq_offset, h.slot_time_offset},
          {"time", h.slot_time_offset, h.columns_offset},
          {"data", h.columns_offset, h.slot_sum_offset},
          {"sums", h.slot_sum_offset, bytes.size()}};
}

struct Tally {
  int cases = 0;
  std::map<std::string, int> refused, served, kinds;
  int hidden_cases = 0;  // cases where some points were withheld (damaged cells)
};

class Campaign {
 public:
  explicit Campaign(const fs::path& root) : root_(root), pristine_(root / "pristine") {
    write_fixture_store(pristine_, kFixtureSeconds);
    auto schemas = fixture_schemas();
    {
      Store store = Store::open(pristine_, schemas);
      store.seal();  // every bucket closed and checksummed, as a VM leaves it at shutdown
      store.consolidate();
    }
    for (const auto& e : fs::recursive_directory_iterator(pristine_)) {
      if (e.is_regular_file()) files_.push_back(fs::relative(e.path(), pristine_));
    }
    std::sort(files_.begin(), files_.end());
    truth_ = read_all(Store::open_read_only(pristine_));
    truth_dump_ = line_set(rondo({"dump", pristine_.string()}).out);
    truth_query_ = line_set(rondo(query_args(pristine_)).out);
    REQUIRE(truth_.points.size() > 1000);
    REQUIRE(truth_dump_.size() > 1000);
  }

  void run_case(std::mt19937_64& rng, Tally& tally) {
    const fs::path dir = root_ / ("case" + std::to_string(tally.cases++));
    fs::copy(pristine_, dir, fs::copy_options::recursive);
    const std::string what = damage(dir, rng);
    ++tally.kinds[what.substr(0, what.find(' '))];
    INFO("case " << tally.cases - 1 << ": " << what);

    withheld_ = false;
    const bool opened = check_library(dir, false, tally);
    const int verify_exit = check_cli(dir, tally);
    // verify is the scrub: it must see whatever made the open refuse or a cell be withheld.
    if (!opened || withheld_) CHECK(verify_exit == 1);
    check_library(dir, true, tally);  // may repair (a torn tail); what it then serves is checked too
    fs::remove_all(dir);
  }

 private:
  static std::vector<std::string> query_args(const fs::path& store) {
    return {"query", store.string(), "{__name__=~\".+\"}", "--range", "30d", "--format", "csv"};
  }
  static ProcessResult rondo(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {rondo_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, std::chrono::seconds(30));
  }

  std::string damage(const fs::path& dir, std::mt19937_64& rng) {
    const fs::path rel = files_[rng() % files_.size()];
    const fs::path file = dir / rel;
    std::string bytes = read_file(file);
    const auto regions = regions_of(rel, bytes);
    const Region& r = regions[rng() % regions.size()];
    auto at = [&](std::size_t span) { return r.begin + rng() % std::max<std::size_t>(1, r.end - r.begin - span + 1); };
    std::string what;
    switch (rng() % 8) {
      case 0:
      case 1: {  // the commonest fault: one bit
        const std::size_t o = at(1);
        const unsigned bit = rng() % 8;
        bytes[o] = static_cast<char>(bytes[o] ^ (1 << bit));
        what = "bitflip " + rel.string() + " " + r.name + " byte " + std::to_string(o) + " bit " + std::to_string(bit);
        break;
      }
      case 2: {  // a few bytes of garbage inside one region
        const std::size_t n = 1 + rng() % 16;
        const std::size_t o = at(n);
        for (std::size_t i = o; i < std::min(o + n, r.end); ++i) bytes[i] = static_cast<char>(bytes[i] ^ (1 + rng() % 255));
        what = "garbage " + rel.string() + " " + r.name + " at " + std::to_string(o) + " x" + std::to_string(n);
        break;
      }
      case 3: {  // a zeroed range inside one region (a lost page)
        const std::size_t n = 1 + rng() % 4096;
        const std::size_t o = at(std::min(n, r.end - r.begin));
        std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(o),
                  bytes.begin() + static_cast<std::ptrdiff_t>(std::min(o + n, r.end)), '\0');
        what = "zeroed " + rel.string() + " " + r.name + " at " + std::to_string(o) + " x" + std::to_string(n);
        break;
      }
      case 4:
        bytes.resize(rng() % std::max<std::size_t>(1, bytes.size()));
        what = "truncated " + rel.string() + " to " + std::to_string(bytes.size());
        break;
      case 5:
        for (int k = 1 + static_cast<int>(rng() % 64); k > 0; --k) bytes.push_back(static_cast<char>(rng()));
        what = "appended " + rel.string();
        break;
      case 6:
        fs::remove(file);
        return "deleted " + rel.string();
      case 7: {
        const fs::path other = files_[rng() % files_.size()];
        if (other == rel) return "swapped-none " + rel.string();  // a no-op case still runs every entry point
        fs::rename(dir / other, dir / "swap.tmp");
        fs::rename(file, dir / other);
        fs::rename(dir / "swap.tmp", file);
        return "swapped " + rel.string() + " " + other.string();
      }
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    return what;
  }

  // True when the store opened (and everything it served was checked).
  bool check_library(const fs::path& dir, bool writable, Tally& tally) {
    const std::string entry = writable ? "open" : "open_read_only";
    std::optional<Store> store;
    try {
      if (writable) {
        auto schemas = fixture_schemas();
        store.emplace(Store::open(dir, schemas));
      } else {
        store.emplace(Store::open_read_only(dir));
      }
    } catch (const Error& e) {
      ++tally.refused[entry];
      // A clear error names the store or one of its files.
      CHECK_THAT(e.what(), Catch::Contains(dir.string()));
      return false;
    }
    const Served served = read_all(*store);
    ++tally.served[entry];
    CHECK(served.series == truth_.series);  // never a series lost or invented
    std::size_t wrong = 0;
    for (const auto& [key, bits] : served.points) {
      const auto it = truth_.points.find(key);
      if (it == truth_.points.end() || it->second != bits) {
        ++wrong;
        UNSCOPED_INFO("served a point the undamaged store did not: " << key);
      }
    }
    CHECK(wrong == 0);
    if (!writable && served.points.size() < truth_.points.size()) {
      withheld_ = true;
      ++tally.hidden_cases;
    }
    return true;
  }

  // Returns verify's exit code.
  int check_cli(const fs::path& dir, Tally& tally) {
    int verify_exit = -1;
    const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
        {"info", {"info", dir.string()}},
        {"query", query_args(dir)},
        {"dump", {"dump", dir.string()}},
        {"verify", {"verify", dir.string()}}};
    for (const auto& [name, args] : commands) {
      const ProcessResult r = rondo(args);
      if (name == "verify") verify_exit = r.exit_code;
      INFO("rondo " << name << " exit " << r.exit_code << ": " << r.err);
      REQUIRE(r.exit_code >= 0);   // -2: hung and was killed
      REQUIRE(r.exit_code < 128);  // killed by a signal: a crash
      if (r.exit_code != 0 && !(name == "query" && r.exit_code == 3)) {
        ++tally.refused["rondo " + name];
        CHECK((r.exit_code == 1));
        // verify reports on stdout, the others on stderr; both name a path in the store
        CHECK_THAT(r.out + r.err, Catch::Contains(dir.string()));
        continue;
      }
      ++tally.served["rondo " + name];
      if (name == "dump" || name == "query") {
        const std::set<std::string>& truth = name == "dump" ? truth_dump_ : truth_query_;
        std::size_t wrong = 0;
        for (const std::string& line : lines_of(r.out)) wrong += truth.count(line) == 0;
        CHECK(wrong == 0);
      }
    }
    return verify_exit;
  }

  fs::path root_, pristine_;
  std::vector<fs::path> files_;
  Served truth_;
  std::set<std::string> truth_dump_, truth_query_;
  bool withheld_ = false;  // the last read-only open served fewer points than the undamaged store
};

}  // namespace

TEST_CASE("damage campaign: every entry point refuses clearly or serves only intact data", "[damage]") {
  const std::uint64_t seed = env_or("RONDO_DAMAGE_SEED", 17);
  const auto budget = std::chrono::seconds(env_or("RONDO_DAMAGE_SECONDS", 40));
  TempDir root;
  Campaign campaign(root.path());
  std::mt19937_64 rng(seed);
  Tally tally;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < budget && tally.cases < 2000) campaign.run_case(rng, tally);

  std::cout << "damage campaign: seed " << seed << ", " << tally.cases << " cases in "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start).count()
            << " s; cases with withheld points " << tally.hidden_cases << "\n  kinds:";
  for (const auto& [k, n] : tally.kinds) std::cout << " " << k << " " << n;
  std::cout << "\n";
  for (const auto& [entry, n] : tally.refused) {
    std::cout << "  " << entry << ": refused " << n << ", served " << tally.served[entry] << "\n";
  }
  CHECK(tally.cases >= 50);
  // Both outcomes must occur, or the damage was not reaching the checks.
  CHECK(tally.refused["open_read_only"] > 10);
  CHECK(tally.served["open_read_only"] > 10);
}
