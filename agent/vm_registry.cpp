#include "vm_registry.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>

#include "api_flusher.hpp"
#include "cloud_hypervisor_source.hpp"

namespace rondo::agent {
namespace {

using namespace std::chrono_literals;
constexpr std::chrono::milliseconds kApiTimeout = 250ms;

Timestamp wall_clock_ns() {
  return static_cast<Timestamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

bool path_exists(const std::filesystem::path& p) {
  std::error_code ec;
  return !p.empty() && std::filesystem::exists(p, ec);
}

// Atomic replace without fsync: the record must survive the agent's death,
// which the page cache does; a power loss at worst repeats a state change.
void write_file(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

VmRegistry::VmRegistry(AgentConfig config) : config_(std::move(config)) {
  std::filesystem::create_directories(config_.store_dir);
  if (!config_.remote_write.empty()) {
    prometheus::DeliveryOptions delivery;
    delivery.url = config_.remote_write;
    delivery.user_agent = "rondo-agent/0.1";
    exporter_ = std::make_unique<prometheus::FleetExporter>(delivery);
  }
  restore();
  if (config_.firecracker_dir) {
    firecracker_dir_ = std::make_unique<FirecrackerDir>(*config_.firecracker_dir);
    readers_.add_watch(firecracker_dir_->fd());
    for (const std::string& id : firecracker_dir_->scan()) {
      add_firecracker(id, firecracker_dir_->fifo_path(id), firecracker_dir_->socket_path(id), 0);
    }
  }
  for (const CloudHypervisorVm& ch : config_.cloud_hypervisor) add_cloud_hypervisor(ch.id, ch.api_socket, 0);
  scan_embedded();
}

VmRegistry::~VmRegistry() { stop(); }

std::filesystem::path VmRegistry::record_path(const std::string& id) const {
  return config_.store_dir / (id + ".vm.json");
}

void VmRegistry::save_record(const Vm& vm) const {
  nlohmann::json j{{"kind", to_string(vm.kind)},       {"state", to_string(vm.state)},
                   {"fifo", vm.fifo.string()},         {"api_socket", vm.api_socket.string()},
                   {"pid", vm.pid.load()},             {"socket_seen", vm.socket_seen}};
  if (vm.exited_at_ns) j["exited_at_ns"] = *vm.exited_at_ns;
  for (const auto& [key, value] : vm.previous_counters) j["previous_counters"][key] = value;
  if (vm.previous_cpu_seconds) j["previous_cpu_seconds"] = *vm.previous_cpu_seconds;
  write_file(record_path(vm.id), j.dump());
}

// Exported and queryable under the same names and labels: the fleet's
// Prometheus and the agent's /api/v1 answer a query alike.
void VmRegistry::publish(Vm& vm) {
  std::vector<Label> labels = {{"vm_id", vm.id}};
  labels.insert(labels.end(), config_.extra_labels.begin(), config_.extra_labels.end());
  vm.serial = ++serials_;
  promql::StoreSourceOptions query;
  query.extra_labels = labels;
  vm.query_source = std::make_unique<promql::StoreSource>(vm.readable_store(), query);
  if (!exporter_) return;
  prometheus::StoreExportOptions options;
  options.tier = config_.export_tier;
  options.extra_labels = std::move(labels);
  if (vm.kind == VmKind::Embedded) {
    // The embedded VMM's directory is not ours: the position lives with the agent's files.
    options.cursor_file = config_.store_dir / ("embedded-" + vm.id + ".export-tier" +
                                               std::to_string(config_.export_tier) + ".cursor");
  }
  try {
    exporter_->add(vm.id, vm.readable_store(), options);
  } catch (const std::exception& e) {
    spdlog::error("rondo-agent: {} is not exported: {}", vm.id, e.what());
  }
}

// Every VM a previous run knew, as it left it.
void VmRegistry::restore() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config_.store_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".vm.json")) continue;
    const std::string id = name.substr(0, name.size() - 8);
    if (!valid_vm_id(id)) continue;
    try {
      std::ifstream in(entry.path());
      const nlohmann::json j = nlohmann::json::parse(in);
      const std::optional<VmKind> kind = parse_kind(j.at("kind").get<std::string>());
      if (!kind || *kind == VmKind::Embedded) continue;
      auto vm = std::make_shared<Vm>();
      vm->id = id;
      vm->kind = *kind;
      vm->fifo = j.value("fifo", "");
      vm->api_socket = j.value("api_socket", "");
      vm->pid = j.value("pid", 0);
      vm->socket_seen = j.value("socket_seen", false);
      vm->state = j.value("state", "running") == "exited" ? VmState::Exited : VmState::Running;
      if (j.contains("exited_at_ns")) vm->exited_at_ns = j["exited_at_ns"].get<std::uint64_t>();
      if (j.contains("previous_counters")) {
        for (const auto& [key, value] : j["previous_counters"].items()) vm->previous_counters[key] = value.get<double>();
      }
      if (j.contains("previous_cpu_seconds")) vm->previous_cpu_seconds = j["previous_cpu_seconds"].get<double>();
      vm->store = std::make_unique<VmStore>(config_.store_dir / id);
      if (vm->state == VmState::Running && vm->kind == VmKind::Firecracker && path_exists(vm->fifo)) {
        vm->reader = std::make_unique<FifoReader>(vm->fifo);
        readers_changed_ = true;
      }
      publish(*vm);
      if (vm->state == VmState::Exited && exporter_) exporter_->finish(id);
      spdlog::info("rondo-agent: reopened {} ({}, {})", id, to_string(vm->kind), to_string(vm->state.load()));
      vms_.emplace(id, std::move(vm));
    } catch (const std::exception& e) {
      spdlog::error("rondo-agent: cannot reopen {}: {}", id, e.what());
    }
  }
}

std::shared_ptr<Vm> VmRegistry::new_vm(const std::string& id, VmKind kind, const std::filesystem::path& socket,
                                       pid_t pid) const {
  auto vm = std::make_shared<Vm>();
  vm->id = id;
  vm->kind = kind;
  vm->api_socket = socket;
  vm->pid = pid;
  vm->socket_seen = path_exists(socket);
  vm->store = std::make_unique<VmStore>(config_.store_dir / id);
  return vm;
}

std::shared_ptr<Vm> VmRegistry::enroll(std::shared_ptr<Vm> vm, const std::string& source) {
  save_record(*vm);
  publish(*vm);
  spdlog::info("rondo-agent: {} VM {} ({})", to_string(vm->kind), vm->id, source);
  const std::string id = vm->id;
  return vms_.emplace(id, std::move(vm)).first->second;
}

std::shared_ptr<Vm> VmRegistry::add_firecracker(const std::string& id, const std::filesystem::path& fifo,
                                                const std::filesystem::path& socket, pid_t pid) {
  if (const auto found = vms_.find(id); found != vms_.end()) return found->second;
  std::shared_ptr<Vm> vm = new_vm(id, VmKind::Firecracker, socket, pid);
  vm->fifo = fifo;
  vm->reader = std::make_unique<FifoReader>(fifo);
  readers_changed_ = true;
  return enroll(std::move(vm), "FIFO " + fifo.string());
}

std::shared_ptr<Vm> VmRegistry::add_cloud_hypervisor(const std::string& id, const std::filesystem::path& socket,
                                                     pid_t pid) {
  if (const auto found = vms_.find(id); found != vms_.end()) return found->second;
  return enroll(new_vm(id, VmKind::CloudHypervisor, socket, pid), "API " + socket.string());
}

void VmRegistry::add_embedded(const std::string& id, const std::filesystem::path& dir) {
  auto vm = std::make_shared<Vm>();
  vm->id = id;
  vm->kind = VmKind::Embedded;
  vm->embedded = std::make_unique<Store>(Store::open_read_only(dir));
  publish(*vm);
  spdlog::info("rondo-agent: embedded store {} ({})", id, dir.string());
  vms_.emplace(id, std::move(vm));
}

void VmRegistry::scan_embedded() {
  if (!config_.embedded_dir) return;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(*config_.embedded_dir, ec)) {
    const std::string id = entry.path().filename().string();
    if (!valid_vm_id(id) || vms_.contains(id) || !path_exists(entry.path() / "meta.json")) continue;
    try {
      add_embedded(id, entry.path());
    } catch (const std::exception& e) {
      spdlog::warn("rondo-agent: embedded store {} not opened (yet): {}", id, e.what());
    }
  }
}

nlohmann::json VmRegistry::register_vm(const std::string& id, const nlohmann::json& body) {
  if (!valid_vm_id(id)) throw std::invalid_argument("a VM id is 1-64 of [A-Za-z0-9_-]");
  if (!body.is_object()) throw std::invalid_argument("the body must be a JSON object");
  const std::optional<VmKind> kind = parse_kind(body.value("kind", "firecracker"));
  if (!kind || *kind == VmKind::Embedded) throw std::invalid_argument("kind must be firecracker or cloud-hypervisor");
  const pid_t pid = body.value("pid", 0);
  const std::filesystem::path socket = body.value("api_socket", "");
  std::lock_guard guard(mutex_);
  if (const auto found = vms_.find(id); found != vms_.end() && found->second->state == VmState::Running) {
    throw std::invalid_argument("VM " + id + " is already registered");
  } else if (found != vms_.end()) {
    throw std::invalid_argument("VM " + id + " has exited; its store is kept until --keep-exited passes");
  }
  std::shared_ptr<Vm> vm;
  if (*kind == VmKind::CloudHypervisor) {
    if (socket.empty()) throw std::invalid_argument("a Cloud Hypervisor VM needs its api_socket");
    vm = add_cloud_hypervisor(id, socket, pid);
    return {{"id", id}, {"kind", "cloud-hypervisor"}, {"api_socket", socket.string()}};
  }
  const std::filesystem::path dir = config_.firecracker_dir.value_or(config_.store_dir);
  const std::filesystem::path fifo = dir / (id + ".fifo");
  if (::mkfifo(fifo.c_str(), 0600) != 0 && errno != EEXIST) {
    throw std::runtime_error("mkfifo " + fifo.string() + ": " + std::strerror(errno));
  }
  vm = add_firecracker(id, fifo, socket.empty() ? dir / (id + ".sock") : socket, pid);
  return {{"id", id}, {"kind", "firecracker"}, {"metrics_path", fifo.string()}};
}

bool VmRegistry::finish_vm(const std::string& id) {
  std::lock_guard guard(mutex_);
  const auto found = vms_.find(id);
  if (found == vms_.end() || found->second->kind == VmKind::Embedded) return false;
  if (found->second->state == VmState::Running) mark_exited(*found->second);
  return true;
}

bool VmRegistry::gone(Vm& vm, bool process_gone) const {
  if (vm.kind == VmKind::Embedded) return false;
  const bool socket_now = path_exists(vm.api_socket);
  if (socket_now) vm.socket_seen = true;
  if (vm.socket_seen && !socket_now) return true;  // the VMM removed its API socket: it is shutting down
  if (vm.pid.load() > 0) return process_gone;
  // Nothing but the FIFO to go by: it was removed.
  return vm.kind == VmKind::Firecracker && !vm.socket_seen && !path_exists(vm.fifo);
}

void VmRegistry::mark_exited(Vm& vm) {
  const Timestamp now = wall_clock_ns();
  if (vm.kind == VmKind::Firecracker) ingest_firecracker(vm);  // what it wrote last
  vm.reader.reset();
  readers_changed_ = true;
  vm.store->store().finish();  // every tier's last bucket is final: the export tier has it
  vm.store->store().consolidate();
  // Before the state says "exited" (GET /vms reads it without our lock): by
  // then the export lag must count the buckets finish() just closed, so that
  // "exited with lag 0" means everything arrived.
  if (exporter_) {
    exporter_->finish(vm.id);  // its series end with stale markers after the last buckets
    exporter_->wake();
  }
  vm.state = VmState::Exited;
  vm.exited_at_ns = now;
  save_record(vm);
  spdlog::info("rondo-agent: VM {} exited", vm.id);
}

void VmRegistry::remove(const std::string& id) {
  const auto found = vms_.find(id);
  if (found == vms_.end()) return;
  if (exporter_) {
    const std::optional<std::filesystem::path> cursor = exporter_->cursor_file(id);
    exporter_->remove(id);
    std::error_code ec;
    if (cursor) {
      std::filesystem::remove(*cursor, ec);
      std::filesystem::remove(cursor->string() + ".lock", ec);
    }
  }
  const std::shared_ptr<Vm> vm = found->second;
  vms_.erase(found);
  readers_changed_ = true;  // the reader set lets go of it too
  std::error_code ec;
  std::filesystem::remove(record_path(id), ec);
  if (vm->kind != VmKind::Embedded) std::filesystem::remove_all(config_.store_dir / id, ec);
  // Its FIFO goes too: left behind, a restarted agent would take it for a new VM.
  if (vm->kind == VmKind::Firecracker) std::filesystem::remove(vm->fifo, ec);
  spdlog::info("rondo-agent: VM {} removed", id);
}

void VmRegistry::record_process(Vm& vm, const ProcessUsage& usage, Timestamp now) {
  if (vm.previous_cpu_seconds && usage.cpu_seconds >= *vm.previous_cpu_seconds) {
    vm.store->add("vmm_process_cpu_seconds_total", {}, usage.cpu_seconds - *vm.previous_cpu_seconds, now);
  }
  vm.previous_cpu_seconds = usage.cpu_seconds;
  vm.store->add("vmm_process_resident_memory_bytes", {}, static_cast<double>(usage.rss_bytes), now);
}

void VmRegistry::tick() {
  std::lock_guard guard(mutex_);
  const Timestamp now = wall_clock_ns();
  std::vector<std::string> expired;
  for (auto& [id, vm] : vms_) {
    if (vm->kind == VmKind::Embedded) continue;
    if (vm->state == VmState::Exited) {
      if (vm->exited_at_ns && now - *vm->exited_at_ns >= static_cast<Timestamp>(config_.keep_exited.count())) {
        expired.push_back(id);
      }
      continue;
    }
    // One read of /proc/<pid> tells both whether it lives and what it uses.
    const pid_t pid = vm->pid.load();
    const std::optional<ProcessUsage> usage = pid > 0 ? read_process_usage(pid) : std::nullopt;
    if (gone(*vm, pid > 0 && !usage)) {
      mark_exited(*vm);
      continue;
    }
    if (vm->kind == VmKind::CloudHypervisor) {
      if (poll_cloud_hypervisor(*vm, kApiTimeout)) save_record(*vm);  // the cumulative values, for a restart
    }
    if (usage) record_process(*vm, *usage, now);
    vm->store->consolidate_if_due();
  }
  for (const std::string& id : expired) remove(id);
  if (++ticks_ % 10 == 0) scan_embedded();
}

void VmRegistry::run_once(std::chrono::milliseconds poll_timeout) {
  {
    std::lock_guard guard(mutex_);
    if (readers_changed_) {
      readers_.sync(vms_);
      readers_changed_ = false;
    }
  }
  const ReaderSet::Ready ready = readers_.wait(poll_timeout);
  if (!ready.watch && ready.vms.empty()) return;
  std::lock_guard guard(mutex_);
  if (ready.watch && firecracker_dir_) {
    for (const FirecrackerDir::Event& e : firecracker_dir_->read_events()) {
      if (!e.appeared) continue;  // the lifecycle check decides when a VM is gone
      try {
        add_firecracker(e.vm_id, firecracker_dir_->fifo_path(e.vm_id), firecracker_dir_->socket_path(e.vm_id), 0);
      } catch (const std::exception& ex) {
        spdlog::error("rondo-agent: cannot follow {}: {}", e.vm_id, ex.what());
      }
    }
  }
  for (const std::shared_ptr<Vm>& vm : ready.vms) {
    if (vm->reader) ingest_firecracker(*vm);
  }
}

void VmRegistry::loop() {
  auto next_tick = std::chrono::steady_clock::now() + config_.flush_interval;
  while (!stopping_.load()) {
    try {
      run_once(50ms);
      if (std::chrono::steady_clock::now() >= next_tick) {
        tick();
        next_tick += config_.flush_interval;
        if (next_tick < std::chrono::steady_clock::now()) next_tick = std::chrono::steady_clock::now() + config_.flush_interval;
      }
    } catch (const std::exception& e) {
      spdlog::error("rondo-agent: {}", e.what());
    }
  }
}

void VmRegistry::flush_loop() {
  // Every request of a round is out at once, so the round can wait for
  // answers far longer than one request could (a loaded host schedules a
  // VMM late) without a VM that never answers delaying the others.
  const auto round_timeout = std::min<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.flush_interval) / 2, 1s);
  ApiFlusher flusher;
  while (!stopping_.load()) {
    const auto began = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Vm>> round;
    for (std::shared_ptr<Vm>& vm : vms()) {
      if (vm->kind == VmKind::Firecracker && vm->state == VmState::Running && !vm->api_socket.empty()) {
        round.push_back(std::move(vm));
      }
    }
    flusher.flush(round, round_timeout);
    // One wake-up per round (stop() notifies), not a poll of the clock.
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait_until(lock, began + config_.flush_interval, [this] { return stopping_.load(); });
  }
}

void VmRegistry::start() {
  stopping_ = false;
  loop_thread_ = std::thread([this] { loop(); });
  flush_thread_ = std::thread([this] { flush_loop(); });
  if (exporter_) exporter_->start(config_.export_interval);
}

void VmRegistry::stop() {
  {
    std::lock_guard guard(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (loop_thread_.joinable()) loop_thread_.join();
  if (flush_thread_.joinable()) flush_thread_.join();
  if (exporter_) exporter_->stop();
}

std::vector<std::shared_ptr<Vm>> VmRegistry::vms() const {
  std::lock_guard guard(mutex_);
  std::vector<std::shared_ptr<Vm>> out;
  for (const auto& [id, vm] : vms_) out.push_back(vm);
  return out;
}

std::shared_ptr<Vm> VmRegistry::find_serial(std::uint32_t serial) const {
  std::lock_guard guard(mutex_);
  for (const auto& [id, vm] : vms_) {
    if (vm->serial == serial) return vm;
  }
  return nullptr;
}

std::shared_ptr<Vm> VmRegistry::find(const std::string& id) const {
  std::lock_guard guard(mutex_);
  const auto found = vms_.find(id);
  return found == vms_.end() ? nullptr : found->second;
}

nlohmann::json VmRegistry::describe(const Vm& vm) const {
  nlohmann::json j{{"id", vm.id},
                   {"kind", to_string(vm.kind)},
                   {"state", to_string(vm.state)},
                   {"lines", vm.lines.load()},
                   {"parse_failures", vm.parse_failures.load()},
                   {"flushes", vm.flushes.load()},
                   {"flush_failures", vm.flush_failures.load()},
                   {"polls", vm.polls.load()},
                   {"poll_failures", vm.poll_failures.load()}};
  if (vm.pid.load() > 0) j["pid"] = vm.pid.load();
  const Store& store = vm.readable_store();
  j["series"] = store.series().size();
  try {
    const StoreInfo info = store.info();
    j["bytes_on_disk"] = info.total_bytes;
    std::optional<Timestamp> first, last;
    for (const SchemaInfo& schema : info.schemas) {
      if (schema.tiers.empty()) continue;
      const TierInfo& t0 = schema.tiers.front();
      if (t0.oldest) first = first ? std::min(*first, *t0.oldest) : *t0.oldest;
      if (t0.newest) last = last ? std::max(*last, *t0.newest) : *t0.newest;
    }
    j["first_point_ms"] = first ? nlohmann::json(*first / 1'000'000) : nlohmann::json(nullptr);
    j["last_point_ms"] = last ? nlohmann::json(*last / 1'000'000) : nlohmann::json(nullptr);
  } catch (const std::exception& e) {
    j["store_error"] = e.what();
  }
  if (exporter_) {
    if (const auto stats = exporter_->store_stats(vm.id)) {
      j["export_lag_seconds"] = stats->lag ? nlohmann::json(static_cast<double>(stats->lag->count()) / 1e9)
                                           : nlohmann::json(nullptr);
      j["exported_samples"] = stats->samples_acknowledged;
    }
  }
  return j;
}

std::string VmRegistry::metrics_text() const {
  std::string out;
  const std::vector<std::shared_ptr<Vm>> all = vms();
  std::map<std::string, int> by_state;
  for (const auto& vm : all) ++by_state[std::string(to_string(vm->kind)) + "\",state=\"" + std::string(to_string(vm->state))];
  out += "# HELP rondo_agent_vms VMs the agent follows.\n# TYPE rondo_agent_vms gauge\n";
  for (const auto& [key, n] : by_state) out += "rondo_agent_vms{kind=\"" + key + "\"} " + std::to_string(n) + "\n";
  auto per_vm = [&](const char* name, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& vm : all) out += std::string(name) + "{vm_id=\"" + vm->id + "\"} " + std::to_string(value(*vm)) + "\n";
  };
  per_vm("rondo_agent_lines_total", "Metrics lines read.", [](const Vm& vm) { return vm.lines.load(); });
  per_vm("rondo_agent_parse_failures_total", "Lines that were not one JSON object.",
         [](const Vm& vm) { return vm.parse_failures.load(); });
  per_vm("rondo_agent_flush_failures_total", "FlushMetrics requests not answered 2xx.",
         [](const Vm& vm) { return vm.flush_failures.load(); });
  if (exporter_) {
    const prometheus::ExporterStats s = exporter_->stats();
    out += "# HELP rondo_agent_export_samples_total Samples acknowledged by the receiver.\n"
           "# TYPE rondo_agent_export_samples_total counter\nrondo_agent_export_samples_total " +
           std::to_string(s.samples_sent) + "\n";
    out += "# HELP rondo_agent_export_retries_total Failed attempts retried.\n"
           "# TYPE rondo_agent_export_retries_total counter\nrondo_agent_export_retries_total " +
           std::to_string(s.retries) + "\n";
    out += "# HELP rondo_agent_export_lag_seconds The largest export lag of any store.\n"
           "# TYPE rondo_agent_export_lag_seconds gauge\nrondo_agent_export_lag_seconds " +
           std::to_string(s.lag ? static_cast<double>(s.lag->count()) / 1e9 : 0.0) + "\n";
  }
  return out;
}

}  // namespace rondo::agent
