#include "vmm_process.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace rondo::agent {
namespace {

// The fields of /proc/<pid>/stat after the command name (which may hold
// spaces and parentheses, so it is skipped up to the last ')').
std::optional<std::string> stat_fields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
  return text.substr(close + 2);
}

}  // namespace

std::optional<ProcessUsage> read_process_usage(pid_t pid) {
  const std::optional<std::string> fields = stat_fields(pid);
  if (!fields) return std::nullopt;
  std::istringstream in(*fields);
  std::string skip;
  // After the name: state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
  for (int i = 3; i < 14; ++i) in >> skip;
  unsigned long long utime = 0, stime = 0;
  in >> utime >> stime;
  if (!in) return std::nullopt;
  ProcessUsage usage;
  usage.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  unsigned long long size = 0, resident = 0;
  if (statm >> size >> resident) usage.rss_bytes = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return usage;
}

bool process_alive(pid_t pid) {
  const std::optional<std::string> fields = stat_fields(pid);
  return fields && !fields->empty() && (*fields)[0] != 'Z' && (*fields)[0] != 'X';
}

}  // namespace rondo::agent
