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

namespace {

// A line's layout: every value's group, field and member, each after its
// length, so that no choice of key text makes two different layouts alike.
void append_part(std::string& layout, std::string_view part) {
  const auto n = static_cast<std::uint32_t>(part.size());
  layout.append(reinterpret_cast<const char*>(&n), sizeof n).append(part);
}

// A line of a layout not seen before (the first one, another Firecracker
// version, a device added): each value by its key, new series registered;
// returns the handles in the line's order, for the lines after it.
VmStore::Handles record_by_key(VmStore& store, std::string_view line, Timestamp ts) {
  VmStore::Handles handles;
  std::string key;
  std::int64_t timestamp_ms = 0;
  parse_firecracker_line(line, timestamp_ms, [&](const LineValue& v) {
    key.assign(v.group).append(".").append(v.field).append(".").append(v.member);
    std::optional<SeriesHandle> handle = store.cached(key);
    if (handle) {
      store.record(*handle, v.value, ts);
    } else if (const std::optional<FieldName> name = name_firecracker_field(v.group, v.field, v.member)) {
      if (store.add_cached(key, name->metric, name->labels, v.value, ts)) handle = store.cached(key);
    }
    handles.push_back(handle);
  });
  return handles;
}

}  // namespace

void record_firecracker_line(Vm& vm, std::string_view line) {
  ++vm.lines;
  VmStore& store = *vm.store;
  std::int64_t timestamp_ms = 0;
  thread_local std::string layout;  // reused: no allocation per line
  thread_local std::vector<double> values;
  layout.clear();
  values.clear();
  // parse_firecracker_line hands out values only once the whole line parsed.
  const LineError error = parse_firecracker_line(line, timestamp_ms, [&](const LineValue& v) {
    append_part(layout, v.group);
    append_part(layout, v.field);
    append_part(layout, v.member);
    values.push_back(v.value);
  });
  if (error != LineError::None) {
    ++vm.parse_failures;
    store.add("rondo_agent_parse_failures_total", {}, 1, wall_clock_ns());
    return;
  }
  const Timestamp ts = static_cast<Timestamp>(timestamp_ms) * 1'000'000;
  if (const VmStore::Handles* handles = store.handles_for(layout)) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (const std::optional<SeriesHandle>& h = (*handles)[i]) store.record(*h, values[i], ts);
    }
  } else {
    store.remember_layout(layout, record_by_key(store, line, ts));
  }
  store.add("rondo_agent_lines_total", {}, 1, ts);
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
