// The Linux guest booted by the real rondo-demo-vmm, verified end to end inside
// the emulated host (run-in-l1.sh: QEMU TCG with nested kvm-amd), because this
// machine's own /dev/kvm cannot run it (docs/linux-guest.md).
//
// One L1 run (linux_guest_in_l1.sh) boots the guest for about 20 s of guest
// life on a disk image filled with kFill, scans the disk, and runs `rondo info`
// and `rondo query` on the store left behind. Everything is printed on the L1
// console; this side parses it and checks that
//   - the guest's init ran its rounds with the knobs from the command line,
//   - the zero blocks on the disk are exactly the blocks the guest reported,
//   - the store's vCPU exit counts per reason equal the VMM's own count, with
//     the reasons Linux causes non-zero and no HLT exit (in-kernel irqchip),
//   - the store's blk requests equal the device's count, and the bytes
//     written equal the guest's blocks,
//   - tier 0 holds a 1 s point for every second of the VM's life (the rule is
//     in docs/linux-guest.md), and the store is the size it should be.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace rondo::vmm::testing;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr unsigned kGuestSeconds = 20;  // rondo_seconds: no new round after this uptime
constexpr unsigned kBurstKb = 256;      // /dev/urandom yields ~256 KiB/s under emulation
constexpr unsigned kIoBlocks = 256;     // 1 MiB per round
constexpr unsigned kDiskMib = 16;       // 4096 blocks: ~6 rounds never wrap
constexpr unsigned char kFill = 0xa5;   // the guest writes zeros over it
constexpr std::uint64_t kSecondNs = 1'000'000'000;

// ---- reading the L1 console ---------------------------------------------------

std::string without_carriage_returns(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  return text;
}

struct Section {
  std::string text;
  std::optional<int> status;  // from the end marker
};

// The lines between "rondo-harness: begin NAME" and "rondo-harness: end NAME status=S".
Section section(const std::string& console, const std::string& name) {
  const std::string begin = "rondo-harness: begin " + name + "\n";
  const std::string end = "rondo-harness: end " + name + " status=";
  const auto from = console.find(begin);
  if (from == std::string::npos) return {};
  const auto to = console.find(end, from);
  if (to == std::string::npos) return {console.substr(from + begin.size()), std::nullopt};
  Section s{console.substr(from + begin.size(), to - from - begin.size()), std::nullopt};
  s.status = static_cast<int>(std::strtol(console.c_str() + to + end.size(), nullptr, 10));
  return s;
}

std::string line_with(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  if (at == std::string::npos) return {};
  return text.substr(at, text.find('\n', at) - at);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// L1's uptime at a "rondo-harness: start" or "... end NAME ..." line.
std::optional<double> harness_uptime(const std::string& console, const std::string& what) {
  const std::string line = line_with(console, "rondo-harness: " + what);
  const auto at = line.find("uptime=");
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(line.c_str() + at + 7, nullptr);
}

// One line for the log: where the time of the run went.
std::string timings(const std::string& console) {
  const auto start = harness_uptime(console, "start");
  const auto vmm = harness_uptime(console, "end vmm ");
  const auto last = harness_uptime(console, "end bytes-csv ");
  if (!start || !vmm || !last) return "harness timings: incomplete";
  char line[200];
  std::snprintf(line, sizeof line,
                "harness timings (L1 uptime): L1 boot %.1f s, rondo-demo-vmm %.1f s, "
                "disk scan and rondo CLI %.1f s",
                *start, *vmm - *start, *last - *vmm);
  return line;
}

struct GuestDone {
  unsigned long rounds = 0, blocks = 0, uptime = 0;
};
std::optional<GuestDone> guest_done(const std::string& text) {
  GuestDone d;
  const std::string line = line_with(text, "rondo-guest: done ");
  if (std::sscanf(line.c_str(), "rondo-guest: done rounds=%lu blocks_written=%lu uptime=%lu",
                  &d.rounds, &d.blocks, &d.uptime) != 3) {
    return std::nullopt;
  }
  return d;
}

// "VM stopped (guest shutdown): 18815 exits ( io_in=8753 io_out=9834 ...)"
std::map<std::string, double> vmm_exit_counts(const std::string& log) {
  std::map<std::string, double> counts;
  std::string line = line_with(log, "VM stopped (");
  const auto open = line.find("exits (");
  if (open == std::string::npos) return counts;
  std::istringstream words(line.substr(open + 7));
  for (std::string word; words >> word;) {
    const auto eq = word.find('=');
    if (eq != std::string::npos) counts[word.substr(0, eq)] = std::stod(word.substr(eq + 1));
  }
  return counts;
}

struct BlkSummary {
  unsigned long long read = 0, write = 0, flush = 0, get_id = 0, ioerr = 0, unsupp = 0,
                     malformed = 0, bytes_read = 0, bytes_written = 0;
};
std::optional<BlkSummary> vmm_blk_summary(const std::string& log) {
  BlkSummary b;
  const std::string line = line_with(log, "virtio-blk: read ");
  if (std::sscanf(line.c_str(),
                  "virtio-blk: read %llu write %llu flush %llu get_id %llu; ioerr %llu unsupp %llu "
                  "malformed %llu; bytes read %llu written %llu",
                  &b.read, &b.write, &b.flush, &b.get_id, &b.ioerr, &b.unsupp, &b.malformed,
                  &b.bytes_read, &b.bytes_written) != 9) {
    return std::nullopt;
  }
  return b;
}

struct Life {
  std::uint64_t start_ns = 0, end_ns = 0, buckets = 0;
};
std::optional<Life> vmm_life(const std::string& log) {
  Life l;
  double seconds = 0;
  const std::string line = line_with(log, "VM life: ");
  if (std::sscanf(line.c_str(),
                  "VM life: %lf s, from %lu to %lu ns since the epoch: %lu one-second buckets",
                  &seconds, &l.start_ns, &l.end_ns, &l.buckets) != 4) {
    return std::nullopt;
  }
  return l;
}

struct DiskScan {
  unsigned long blocks = 0, zero = 0, fill = 0, other = 0;
  std::string zero_runs;
};
std::optional<DiskScan> disk_scan(const std::string& text) {
  DiskScan d;
  char runs[512] = {};
  const std::string line = line_with(text, "disk-scan: ");
  if (std::sscanf(line.c_str(), "disk-scan: blocks=%lu zero=%lu fill=%lu other=%lu zero_runs=%511s",
                  &d.blocks, &d.zero, &d.fill, &d.other, runs) < 4) {
    return std::nullopt;
  }
  d.zero_runs = runs;
  return d;
}

// ---- reading rondo's output --------------------------------------------------------

// rondo query --format json: series name{labels} -> {bucket start ns -> value}.
using SeriesPoints = std::map<std::string, std::map<std::uint64_t, double>>;

SeriesPoints points_from_json(const std::string& text, const std::string& label) {
  SeriesPoints out;
  const json doc = json::parse(text);
  for (const json& s : doc.at("series")) {
    const std::string key = s.at("labels").contains(label)
                                ? s.at("labels").at(label).get<std::string>()
                                : s.at("name").get<std::string>();
    auto& points = out[key];
    for (const json& p : s.at("points"))
      points[p.at(0).get<std::uint64_t>()] = p.at(1).get<double>();
  }
  return out;
}

// rondo query --format csv: series,time,unix_ns,value with the series quoted.
SeriesPoints points_from_csv(const std::string& text) {
  SeriesPoints out;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    const auto v = line.rfind(',');
    const auto ns = line.rfind(',', v - 1);
    const auto time = line.rfind(',', ns - 1);
    if (v == std::string::npos || ns == std::string::npos || time == std::string::npos) continue;
    std::string series = line.substr(0, time);
    if (series.size() >= 2 && series.front() == '"') series = series.substr(1, series.size() - 2);
    for (auto q = series.find("\"\""); q != std::string::npos; q = series.find("\"\"", q + 1)) {
      series.erase(q, 1);
    }
    out[series][std::stoull(line.substr(ns + 1, v - ns - 1))] = std::stod(line.substr(v + 1));
  }
  return out;
}

double total(const std::map<std::uint64_t, double>& points) {
  double sum = 0;
  for (const auto& [t, v] : points) sum += v;
  return sum;
}

// The sum over a series' points; 0 for a series the output did not list.
double total_of(const SeriesPoints& series, const std::string& key) {
  const auto it = series.find(key);
  return it == series.end() ? 0 : total(it->second);
}

// ---- the run ---------------------------------------------------------------------

std::string quoted_env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : std::string(name) + "='" + value + "' ";
}

struct L1Run {
  TempDir dir;
  std::optional<int> exit_code;
  std::string console;
  std::string harness_log;

  explicit L1Run(const LinuxGuestFiles& guest) {
    const auto disk = dir / "disk.img";
    std::ofstream(disk, std::ios::binary)
        << std::string(std::size_t{kDiskMib} << 20, static_cast<char>(kFill));
    // The sanitizer settings of this build's tests hold inside L1 too.
    const std::string command = quoted_env("ASAN_OPTIONS") + quoted_env("UBSAN_OPTIONS") +
                                "sh linux_guest_in_l1.sh " + std::to_string(kGuestSeconds) + " " +
                                std::to_string(kBurstKb) + " " + std::to_string(kIoBlocks) + " " +
                                std::to_string(kFill);
    ChildProcess l1({RONDO_RUN_IN_L1,
                     "--timeout",
                     "240",
                     "--bin",
                     RONDO_DEMO_VMM,
                     "--bin",
                     RONDO_CLI,
                     "--bin",
                     RONDO_DISK_SCAN,
                     "--file",
                     guest.kernel.string() + ":bzImage",
                     "--file",
                     guest.initramfs.string() + ":initramfs.cpio.gz",
                     "--file",
                     disk.string() + ":disk.img",
                     "--file",
                     RONDO_L1_SCRIPT,
                     "--log",
                     (dir / "console.log").string(),
                     "--",
                     command},
                    dir / "stdout.log", dir / "stderr.log");
    exit_code = l1.wait_for(280s);
    console = without_carriage_returns(read_file(dir / "console.log"));
    harness_log = read_file(dir / "stderr.log");
  }
};

}  // namespace

TEST_CASE("rondo-demo-vmm boots the Linux guest in the emulated host, and the store agrees",
          "[emulated][linux]") {
  const LinuxGuestFiles guest = cached_linux_guest(RONDO_BUILD_GUEST);
  if (!guest.problem.empty()) FAIL(guest.problem);

  const L1Run run(guest);
  // Everything L1 printed, for the test log (ctest --output-on-failure, LastTest.log).
  std::cout << run.console << "\n" << run.harness_log << timings(run.console) << "\n" << std::flush;
  REQUIRE(run.exit_code == 0);

  // ---- the guest, on its serial console -----------------------------------------
  const Section vmm = section(run.console, "vmm");
  REQUIRE(vmm.status == 0);
  CHECK(vmm.text.find("serial8250: ttyS0 at I/O 0x3f8 (irq = 4") != std::string::npos);
  CHECK(vmm.text.find("virtio-mmio: Registering device virtio-mmio.0 at 0xc0001000") !=
        std::string::npos);
  // The knobs arrived through the kernel command line; the disk is 4096 blocks.
  CHECK(vmm.text.find("rondo-guest: start seconds=20 loops=0 burst_kb=256 io_blocks=256 "
                      "disk_blocks=4096") != std::string::npos);
  const auto done = guest_done(vmm.text);
  REQUIRE(done);
  CHECK(done->rounds >= 2);
  CHECK(done->blocks == done->rounds * kIoBlocks);
  CHECK(count_of(vmm.text, "rondo-guest: round ") == 2 * done->rounds);
  CHECK(vmm.text.find("FAILED") == std::string::npos);
  CHECK(done->uptime >= kGuestSeconds);  // it stopped on rondo_seconds, not early
  // The guest's `reboot -f` ended the VM cleanly.
  CHECK(vmm.text.find("reboot: Restarting system") != std::string::npos);
  CHECK(vmm.text.find("VM stopped (guest shutdown)") != std::string::npos);

  // ---- the disk: zeros exactly where the guest wrote ------------------------------
  const Section scan_section = section(run.console, "disk-scan");
  CHECK(scan_section.status == 0);
  const auto scan = disk_scan(scan_section.text);
  REQUIRE(scan);
  CHECK(scan->blocks == kDiskMib * 256);
  CHECK(scan->zero == done->blocks);
  CHECK(scan->zero_runs == "0-" + std::to_string(done->blocks - 1));
  CHECK(scan->other == 0);
  CHECK(scan->fill == scan->blocks - done->blocks);

  // ---- vCPU exits: the store counted every one -------------------------------------
  const auto vmm_exits = vmm_exit_counts(vmm.text);
  const Section exits_section = section(run.console, "exits-json");
  REQUIRE(exits_section.status == 0);
  const SeriesPoints exits = points_from_json(exits_section.text, "reason");
  for (const char* reason : {"io_in", "io_out", "mmio_read", "mmio_write", "intr"}) {
    INFO("reason " << reason);
    CHECK(total_of(exits, reason) > 0);
    CHECK(total_of(exits, reason) == (vmm_exits.count(reason) ? vmm_exits.at(reason) : -1.0));
  }
  CHECK(total_of(exits, "hlt") == 0);  // the in-kernel irqchip keeps HLT in the kernel
  CHECK(total_of(exits, "fail_entry") == 0);
  CHECK(total_of(exits, "other") == 0);
  double all_exits = 0, vmm_all_exits = 0;
  for (const auto& [reason, points] : exits) all_exits += total(points);
  for (const auto& [reason, n] : vmm_exits) vmm_all_exits += n;
  CHECK(all_exits == vmm_all_exits);

  // ---- blk requests: the store against the device and the guest --------------------
  const auto blk = vmm_blk_summary(vmm.text);
  REQUIRE(blk);
  const Section blk_section = section(run.console, "blk-csv");
  const Section bytes_section = section(run.console, "bytes-csv");
  CHECK(blk_section.status == 0);
  CHECK(bytes_section.status == 0);
  const SeriesPoints requests = points_from_csv(blk_section.text);
  const SeriesPoints bytes = points_from_csv(bytes_section.text);
  const double writes = total_of(requests, R"(blk_requests_total{op="write"})");
  CHECK(writes == static_cast<double>(blk->write));
  CHECK(writes >= 1);
  CHECK(writes <= static_cast<double>(done->blocks));  // a request carries at least one block
  CHECK(total_of(requests, R"(blk_requests_total{op="flush"})") == static_cast<double>(blk->flush));
  CHECK(blk->flush >= done->rounds);  // dd conv=fsync once per round
  CHECK(total_of(requests, R"(blk_requests_total{op="read"})") == static_cast<double>(blk->read));
  CHECK(requests.count(R"(blk_request_errors_total{status="ioerr"})") == 0);  // no point: none
  CHECK(requests.count(R"(blk_request_errors_total{status="unsupp"})") == 0);
  CHECK(blk->ioerr + blk->unsupp + blk->malformed == 0);
  const double written = total_of(bytes, R"(blk_bytes_total{direction="write"})");
  CHECK(written == 4096.0 * static_cast<double>(done->blocks));
  CHECK(written == static_cast<double>(blk->bytes_written));

  // ---- one 1 s point for every second of the VM's life -----------------------------
  const auto life = vmm_life(vmm.text);
  REQUIRE(life);
  const std::uint64_t first = life->start_ns / kSecondNs, last = life->end_ns / kSecondNs;
  CHECK(life->buckets == last - first + 1);
  // The guest's own clock ran inside the VM's life.
  CHECK(static_cast<double>(life->end_ns - life->start_ns) / 1e9 >=
        static_cast<double>(done->uptime));
  const Section uptime_section = section(run.console, "uptime-json");
  REQUIRE(uptime_section.status == 0);
  const auto uptime = points_from_json(uptime_section.text, "")["vmm_uptime_seconds"];
  std::vector<std::uint64_t> seconds;
  for (const auto& [t, v] : uptime) seconds.push_back(t / kSecondNs);
  INFO("VM life " << first << " .. " << last << " (unix s); uptime points " << seconds.size());
  CHECK(seconds.size() == life->buckets);
  REQUIRE_FALSE(seconds.empty());
  CHECK(seconds.front() == first);
  CHECK(seconds.back() == last);
  CHECK(seconds.back() - seconds.front() + 1 == seconds.size());  // no gap
  // Exits too: the tick kicks the vCPU mid-second, so every second inside the
  // life has at least one, even those the guest spent idle in its HLT.
  std::set<std::uint64_t> exit_seconds;
  for (const auto& [reason, points] : exits) {
    for (const auto& [t, v] : points) {
      if (v > 0) exit_seconds.insert(t / kSecondNs);
    }
  }
  for (std::uint64_t s = first + 1; s < last; ++s) {
    INFO("second " << s);
    CHECK(exit_seconds.count(s) == 1);
  }
  CHECK(*exit_seconds.begin() >= first);
  CHECK(*exit_seconds.rbegin() <= last);

  // ---- the store itself -------------------------------------------------------------
  const Section info_section = section(run.console, "info-json");
  REQUIRE(info_section.status == 0);
  const json info = json::parse(info_section.text);
  CHECK(info.at("series") == 28);
  CHECK(info.at("total_bytes").get<std::uint64_t>() < 2'500'000);  // vmm/demo store stays under 2.5 MB
  for (const json& schema : info.at("schemas")) {
    for (const json& tier : schema.at("tiers")) {
      INFO(schema.at("name") << " tier " << tier.at("tier"));
      CHECK(tier.at("late_records") == 0);
      CHECK(tier.at("lost_buckets") == 0);
    }
    if (schema.at("name") == "gauges") {
      CHECK(schema.at("tiers").at(0).at("newest_ns").get<std::uint64_t>() == last * kSecondNs);
    }
  }
}
