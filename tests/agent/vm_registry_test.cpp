// The registry in-process: registration over the API's calls, DELETE,
// --keep-exited removal, embedded stores, and many VMs coming and going
// without leaking files or descriptors.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "common/files.hpp"
#include "vm_registry.hpp"

using namespace rondo;
using namespace rondo::agent;
using namespace std::chrono_literals;

namespace {

AgentConfig config_for(const rondo::test::TempDir& dir) {
  AgentConfig c;
  c.store_dir = dir.path() / "stores";
  c.firecracker_dir = dir.path() / "fc";
  c.http = "";
  c.keep_exited = 0s;
  return c;
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace

TEST_CASE("PUT /vms/<id> creates the FIFO and answers its path, DELETE ends the VM, keep-exited removes it",
          "[agent]") {
  rondo::test::TempDir dir("rondo-agent-registry");
  VmRegistry registry(config_for(dir));
  const nlohmann::json answer = registry.register_vm("vm-1", nlohmann::json::object());
  const std::filesystem::path fifo = answer.at("metrics_path").get<std::string>();
  CHECK(fifo == dir.path() / "fc" / "vm-1.fifo");
  struct stat st{};
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK_THROWS_AS(registry.register_vm("vm-1", nlohmann::json::object()), std::invalid_argument);
  CHECK_THROWS_AS(registry.register_vm("../etc", nlohmann::json::object()), std::invalid_argument);
  CHECK_THROWS_AS(registry.register_vm("vm-2", {{"kind", "qemu"}}), std::invalid_argument);
  CHECK_THROWS_AS(registry.register_vm("vm-2", {{"kind", "cloud-hypervisor"}}), std::invalid_argument);

  // A metrics line through the FIFO, as Firecracker writes it.
  {
    std::ofstream out(fifo);
    out << R"({"utc_timestamp_ms": 1800000000000, "vcpu": {"exit_io_in": 7}})" << "\n";
  }
  registry.run_once(100ms);
  const std::shared_ptr<Vm> vm = registry.find("vm-1");
  REQUIRE(vm);
  CHECK(vm->lines == 1);
  CHECK(registry.describe(*vm)["series"] == 2);  // the field and rondo_agent_lines_total

  CHECK(registry.finish_vm("vm-1"));
  CHECK(vm->state == VmState::Exited);
  CHECK(registry.describe(*vm)["state"] == "exited");
  CHECK_FALSE(registry.finish_vm("nope"));
  registry.tick();  // keep-exited 0: removed with its store
  CHECK(registry.find("vm-1") == nullptr);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "stores" / "vm-1"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "stores" / "vm-1.vm.json"));
}

TEST_CASE("VMs registered and removed in turn leave no store, record or descriptor behind", "[agent]") {
  rondo::test::TempDir dir("rondo-agent-registry");
  VmRegistry registry(config_for(dir));
  registry.register_vm("warm-up", nlohmann::json::object());
  registry.finish_vm("warm-up");
  registry.tick();
  const std::size_t fds = open_fds();
  for (int i = 0; i < 25; ++i) {
    const std::string id = "vm-" + std::to_string(i);
    registry.register_vm(id, nlohmann::json::object());
    CHECK(registry.finish_vm(id));
    registry.tick();
  }
  CHECK(registry.vms().empty());
  CHECK(open_fds() == fds);
  std::size_t left = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path() / "stores")) ++left;
  CHECK(left == 0);
}

TEST_CASE("a restarted registry reopens its VMs where they were", "[agent]") {
  rondo::test::TempDir dir("rondo-agent-registry");
  {
    VmRegistry registry(config_for(dir));
    registry.register_vm("vm-a", {{"pid", 4242424}});
    registry.register_vm("vm-b", nlohmann::json::object());
    registry.finish_vm("vm-b");
  }
  AgentConfig c = config_for(dir);
  c.keep_exited = 24h;
  VmRegistry again(c);
  const auto a = again.find("vm-a");
  const auto b = again.find("vm-b");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->state == VmState::Running);
  CHECK(a->pid == 4242424);
  CHECK(b->state == VmState::Exited);
  again.tick();  // vm-a's pid does not exist: it is gone now
  CHECK(a->state == VmState::Exited);
  CHECK(again.find("vm-b"));  // kept: 24 h have not passed
}
