// Properties of record()'s machine code, read back with objdump from this
// very executable: everything record() and record_batch() can execute (the
// functions they call, transitively) has no locked (atomic read-modify-write)
// instruction, no xchg, no system call, and calls nothing outside the
// executable (no libc, so no allocation or syscall behind a call either).
// One exception, named below: a quantile series' first record of a bucket
// whose histogram a late consolidate() still holds takes it over by
// compare-and-swap (QuantileRecorder::claim), on no other path.
// And a tier-0 cell is published by one store instruction (cell_store.hpp).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <span>
#include <string_view>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace rondo;

// The functions under test, kept out of line (and out of interprocedural
// cloning) so that they exist under their own names.
[[gnu::noinline, gnu::noipa]] WriteStatus record_code_probe(Store& s, SeriesHandle h, double v, Timestamp ts) {
  return s.record(h, v, ts);
}
[[gnu::noinline, gnu::noipa]] WriteStatus record_batch_code_probe(
    Store& s, std::span<const std::pair<SeriesHandle, double>> entries, Timestamp ts) {
  return s.record_batch(entries, ts);
}

namespace {

struct Function {
  std::vector<std::string> instructions;  // "mnemonic operands"
};

// name -> instructions, for every function objdump shows in this executable.
// (Parsed by hand: std::regex is far too slow for a whole executable.)
std::map<std::string, Function> disassemble_self() {
  // The path of this executable (in the shell popen starts, /proc/self is the shell).
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string command = std::string(RONDO_OBJDUMP) + " -d -C --no-show-raw-insn '" + self + "' 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  REQUIRE(pipe != nullptr);
  std::map<std::string, Function> out;
  Function* current = nullptr;
  std::vector<char> buf(1 << 16);
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe.get()) != nullptr) {
    std::string_view line(buf.data());
    if (line.ends_with('\n')) line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.front() != ' ' && line.ends_with(">:")) {  // "0000000000015e50 <name>:"
      const auto open = line.find(" <");
      if (open == std::string_view::npos) continue;
      current = &out[std::string(line.substr(open + 2, line.size() - open - 4))];
    } else if (current != nullptr && line.front() == ' ') {  // "   15e50:\tpush   %r15"
      const auto tab = line.find(":\t");
      if (tab != std::string_view::npos) current->instructions.emplace_back(line.substr(tab + 2));
    }
  }
  return out;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// The sanitizer runtime's checks are the only calls allowed to leave the
// executable (asan preset); they run only when a check fails.
bool sanitizer_call(const std::string& target) {
  return target.find("__asan_") != std::string::npos || target.find("__ubsan_") != std::string::npos ||
         target.find("__sanitizer_") != std::string::npos;
}

struct Findings {
  std::set<std::string> visited;
  std::vector<std::string> problems;
  std::vector<std::string> cell_stores;  // wide stores seen (vmovdqa, movdqa to memory)
};

// Walks fn and every function it calls.
void walk(const std::map<std::string, Function>& code, const std::string& fn, Findings& f) {
  if (!f.visited.insert(fn).second) return;
  const auto it = code.find(fn);
  if (it == code.end()) {
    f.problems.push_back("cannot find the code of " + fn);
    return;
  }
  // A call or jump to a named place: "call   31ec0 <fn>", "jne    1633c <fn+0x4ec>".
  static const std::regex branch(R"(^(call\S*|j\S+)\s+[0-9a-f]+ <(.*)>$)");
  for (const std::string& ins : it->second.instructions) {
    const std::string mnemonic = ins.substr(0, ins.find_first_of(" \t"));
    // xchg with memory is locked implicitly; "xchg %ax,%ax" is a 2-byte nop (padding).
    const bool memory_xchg = starts_with(mnemonic, "xchg") && ins.find('(') != std::string::npos;
    const bool atomic_rmw = mnemonic == "lock" || memory_xchg || starts_with(mnemonic, "cmpxchg");
    if ((atomic_rmw && !starts_with(fn, "rondo::detail::QuantileRecorder::claim(")) ||
        mnemonic == "syscall" || mnemonic == "sysenter" || starts_with(mnemonic, "int")) {
      f.problems.push_back(fn + ": " + ins);
    }
    // A store: "movdqa %xmm1,(%rsi)" (a load reads "movdqa (%rsi),%xmm1").
    if ((starts_with(mnemonic, "movdqa") || starts_with(mnemonic, "vmovdqa")) && ins.back() == ')' &&
        ins.find("),") == std::string::npos) {
      f.cell_stores.push_back(fn + ": " + ins);
    }
    std::smatch m;
    if ((mnemonic.front() == 'j' || starts_with(mnemonic, "call")) && ins.find('<') != std::string::npos &&
        std::regex_match(ins, m, branch)) {
      std::string target = m[2];
      if (const auto plus = target.rfind("+0x"); plus != std::string::npos) {
        if (mnemonic.front() == 'j') continue;  // a jump inside a function
        target.resize(plus);
      }
      if (target.ends_with("@plt")) {
        if (!sanitizer_call(target)) f.problems.push_back(fn + " calls " + target + ", outside the executable");
        continue;
      }
      walk(code, target, f);
    } else if (starts_with(mnemonic, "call") && ins.find('*') != std::string::npos) {
      f.problems.push_back(fn + ": indirect call, cannot be checked: " + ins);
    }
  }
}

std::string probe_name(const std::map<std::string, Function>& code, const char* prefix) {
  for (const auto& [name, fn] : code) {
    if (starts_with(name, prefix)) return name;
  }
  FAIL("no function named " << prefix << "... in this executable");
  return {};
}

}  // namespace

TEST_CASE("record() and record_batch() execute no atomic read-modify-write, no syscall, no library call",
          "[record][code]") {
  // Run the probes once, so they are certainly part of this program.
  test::TempDir dir;
  SchemaConfig schema = test::ring_schema(10, {ConsolidationFn::Sum, ConsolidationFn::Count, ConsolidationFn::Max});
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  const SeriesHandle h = store.register_series("x");
  REQUIRE(record_code_probe(store, h, 1.0, test::kT0) == WriteStatus::Ok);
  const std::pair<SeriesHandle, double> batch[] = {{h, 2.0}};
  REQUIRE(record_batch_code_probe(store, batch, test::kT0) == WriteStatus::Ok);

  const auto code = disassemble_self();
  REQUIRE(code.size() > 100);  // objdump ran and found this executable's code
  for (const char* probe : {"record_code_probe(", "record_batch_code_probe("}) {
    Findings f;
    walk(code, probe_name(code, probe), f);
    INFO(probe << " reaches " << f.visited.size() << " functions");
    for (const std::string& p : f.problems) UNSCOPED_INFO(p);
    CHECK(f.problems.empty());
    // The cell is published by single aligned vector stores: 16 bytes
    // ({Last}, generic 2-word cells), 32 (AVX) and 64 (AVX-512).
    bool has16 = false, has32 = false;
    for (const std::string& s : f.cell_stores) {
      has16 = has16 || s.find("%xmm") != std::string::npos;
      has32 = has32 || s.find("%ymm") != std::string::npos;
    }
    CHECK(has16);
    CHECK(has32);
  }
}
