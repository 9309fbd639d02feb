#include "firecracker_source.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include "firecracker_metrics.hpp"

namespace rondo::agent {
namespace {

std::uint64_t wall_clock_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

bool valid_vm_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string vm_id_of_fifo(std::string_view filename) {
  if (!filename.ends_with(".fifo")) return {};
  const std::string_view id = filename.substr(0, filename.size() - 5);
  return valid_vm_id(id) ? std::string(id) : std::string();
}

void record_firecracker_line(Vm& vm, std::string_view line) {
  ++vm.lines;
  VmStore& store = *vm.store;
  std::int64_t timestamp_ms = 0;
  Timestamp ts = 0;
  thread_local std::string key;  // reused: no allocation per value
  std::size_t position = 0;
  // parse_firecracker_line hands out values only once the whole line parsed.
  const LineError error = parse_firecracker_line(line, timestamp_ms, [&](const LineValue& v) {
    ts = static_cast<Timestamp>(timestamp_ms) * 1'000'000;
    key.assign(v.group).append(".").append(v.field).append(".").append(v.member);
    const std::size_t at = position++;
    if (const std::optional<SeriesHandle>* known = store.at_position(at, key)) {
      if (*known) store.record(**known, v.value, ts);
      return;
    }
    // A new field, or the layout changed (another Firecracker version, a
    // device added): the keyed path, then remembered at this position.
    std::optional<SeriesHandle> handle = store.cached(key);
    if (handle) {
      store.record(*handle, v.value, ts);
    } else if (const std::optional<FieldName> name = name_firecracker_field(v.group, v.field, v.member)) {
      if (store.add_cached(key, name->metric, name->labels, v.value, ts)) handle = store.cached(key);
    }
    store.remember_position(at, key, handle);
  });
  if (error != LineError::None) {
    ++vm.parse_failures;
    store.add("rondo_agent_parse_failures_total", {}, 1, wall_clock_ns());
    return;
  }
  store.add("rondo_agent_lines_total", {}, 1, static_cast<Timestamp>(timestamp_ms) * 1'000'000);
}

void ingest_firecracker(Vm& vm) {
  if (!vm.reader) return;
  vm.reader->read_lines([&](std::string_view line) {
    if (line.empty()) return;
    record_firecracker_line(vm, line);
  });
}

FirecrackerDir::FirecrackerDir(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  if (::inotify_add_watch(fd_, dir_.c_str(), IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) < 0) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "inotify_add_watch " + dir_.string());
  }
}

FirecrackerDir::~FirecrackerDir() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<FirecrackerDir::Event> FirecrackerDir::read_events() {
  std::vector<Event> events;
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    for (char* p = buffer; p < buffer + n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(p);
      p += sizeof(inotify_event) + e->len;
      if (e->len == 0) continue;
      const std::string id = vm_id_of_fifo(e->name);
      if (id.empty()) continue;
      events.push_back({id, (e->mask & (IN_CREATE | IN_MOVED_TO)) != 0});
    }
  }
  return events;
}

std::vector<std::string> FirecrackerDir::scan() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string id = vm_id_of_fifo(entry.path().filename().string());
    if (!id.empty()) ids.push_back(id);
  }
  return ids;
}

}  // namespace rondo::agent
