// rondo-disk-scan: what a guest did to a disk image, block by block.
//
// The emulated-host harness fills the Linux guest's disk with one byte value
// before the run; the guest's workload writes zeros. Afterwards this prints how
// many 4 KiB blocks are all zeros, still all fill, or neither, and the runs of
// zero blocks, so the host can compare them with what the guest reported.
// (BusyBox tools would take minutes for this under software emulation.)
//
// Usage: rondo-disk-scan IMAGE FILL_BYTE      e.g. rondo-disk-scan disk.img 0xa5
// Output: one line
//   disk-scan: blocks=N zero=Z fill=F other=O zero_runs=a-b,c-d,...
// (block numbers, both ends inclusive; at most 32 runs, then "...").
// Exit status: 0, or 2 for bad arguments or an unreadable file.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kBlockBytes = 4096;
constexpr std::size_t kMaxRunsPrinted = 32;

enum class BlockKind { Zero, Fill, Other };

BlockKind classify(const std::vector<char>& block, std::size_t size, unsigned char fill) {
  const auto all = [&](unsigned char value) {
    return std::all_of(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(size),
                       [value](char c) { return static_cast<unsigned char>(c) == value; });
  };
  if (all(0)) return BlockKind::Zero;
  if (all(fill)) return BlockKind::Fill;
  return BlockKind::Other;
}

struct Scan {
  std::uint64_t blocks = 0, zero = 0, fill = 0, other = 0;
  std::string runs;
  std::size_t run_count = 0;
  std::int64_t run_start = -1;  // first block of the zero run in progress

  void end_run(std::uint64_t end) {  // end: one past the run's last block
    if (run_start < 0) return;
    if (run_count < kMaxRunsPrinted) {
      if (!runs.empty()) runs += ',';
      runs += std::to_string(run_start) + '-' + std::to_string(end - 1);
    } else if (run_count == kMaxRunsPrinted) {
      runs += ",...";
    }
    ++run_count;
    run_start = -1;
  }
  void add(BlockKind kind) {
    if (kind == BlockKind::Zero) {
      ++zero;
      if (run_start < 0) run_start = static_cast<std::int64_t>(blocks);
    } else {
      end_run(blocks);
      ++(kind == BlockKind::Fill ? fill : other);
    }
    ++blocks;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IMAGE FILL_BYTE\n", argv[0]);
    return 2;
  }
  char* end = nullptr;
  const unsigned long fill = std::strtoul(argv[2], &end, 0);
  if (end == argv[2] || *end != '\0' || fill == 0 || fill > 0xff) {
    std::fprintf(stderr, "rondo-disk-scan: FILL_BYTE must be 1..255, not '%s'\n", argv[2]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "rondo-disk-scan: cannot read %s\n", argv[1]);
    return 2;
  }
  Scan scan;
  std::vector<char> block(kBlockBytes);
  while (in.read(block.data(), kBlockBytes) || in.gcount() > 0) {
    scan.add(
        classify(block, static_cast<std::size_t>(in.gcount()), static_cast<unsigned char>(fill)));
  }
  scan.end_run(scan.blocks);
  std::printf("disk-scan: blocks=%llu zero=%llu fill=%llu other=%llu zero_runs=%s\n",
              static_cast<unsigned long long>(scan.blocks),
              static_cast<unsigned long long>(scan.zero),
              static_cast<unsigned long long>(scan.fill),
              static_cast<unsigned long long>(scan.other), scan.runs.c_str());
  return 0;
}
