// rondo-agent's configuration: flags, --config FILE, and their precedence.
#include <catch2/catch.hpp>

#include <fstream>

#include "agent_config.hpp"
#include "common/files.hpp"

using namespace rondo::agent;
using namespace std::chrono_literals;

namespace {

std::optional<AgentConfig> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "rondo-agent");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("flags give the configuration, with the documented defaults", "[agent]") {
  const auto c = parse({"--store-dir", "/var/lib/rondo", "--firecracker-dir", "/run/fc", "--label", "dc=eu1",
                        "--cloud-hypervisor", "ch1=/run/ch1.sock", "--flush-interval", "500ms"});
  REQUIRE(c);
  CHECK(c->store_dir == "/var/lib/rondo");
  CHECK(c->firecracker_dir == std::filesystem::path("/run/fc"));
  CHECK(c->flush_interval == 500ms);
  CHECK(c->export_tier == 2);
  CHECK(c->export_interval == 30s);
  CHECK(c->keep_exited == 24h);
  CHECK(c->http == "127.0.0.1:9464");
  CHECK(c->extra_labels == std::vector<rondo::Label>{{"dc", "eu1"}});
  REQUIRE(c->cloud_hypervisor.size() == 1);
  CHECK(c->cloud_hypervisor[0].id == "ch1");
  CHECK(c->cloud_hypervisor[0].api_socket == "/run/ch1.sock");
}

TEST_CASE("a config file (--config FILE) gives every flag as JSON, and the command line wins", "[agent]") {
  rondo::test::TempDir dir("rondo-agent-config");
  const auto file = dir.path() / "agent.json";
  std::ofstream(file) << R"({"store-dir": "/var/lib/rondo", "firecracker-dir": "/run/fc",
    "remote-write": "http://127.0.0.1:8428/api/v1/write", "export-tier": 1, "keep-exited": "2h",
    "label": {"dc": "eu1", "rack": "r7"}, "cloud-hypervisor": {"ch1": "/run/ch1.sock"}, "flush-interval": "2s"})";
  const auto c = parse({"--config", file.string(), "--flush-interval", "1s"});
  REQUIRE(c);
  CHECK(c->store_dir == "/var/lib/rondo");
  CHECK(c->remote_write == "http://127.0.0.1:8428/api/v1/write");
  CHECK(c->export_tier == 1);
  CHECK(c->keep_exited == 2h);
  CHECK(c->flush_interval == 1s);  // the command line's
  CHECK(c->extra_labels == std::vector<rondo::Label>{{"dc", "eu1"}, {"rack", "r7"}});
  REQUIRE(c->cloud_hypervisor.size() == 1);

  std::ofstream(file) << R"({"store-dir": "/x", "no-such-flag": 1})";
  CHECK_THROWS_WITH(parse({"--config", file.string()}), Catch::Contains("unknown key 'no-such-flag'"));
  std::ofstream(file) << R"({"store-dir": )";
  CHECK_THROWS_WITH(parse({"--config", file.string()}), Catch::Contains("not JSON"));
}

TEST_CASE("bad configurations are clear errors", "[agent]") {
  CHECK_THROWS_WITH(parse({}), Catch::Contains("--store-dir is required"));
  CHECK_THROWS_WITH(parse({"--store-dir", "/x", "--flush-interval", "fast"}), Catch::Contains("bad duration"));
  CHECK_THROWS_WITH(parse({"--store-dir", "/x", "--keep-exited", "3y"}), Catch::Contains("unit"));
  CHECK_THROWS_WITH(parse({"--store-dir", "/x", "--label", "novalue"}), Catch::Contains("NAME=VALUE"));
  CHECK_THROWS_AS(parse({"--store-dir", "/x", "--bogus"}), ConfigError);
  CHECK(parse_duration("7d") == 168h);
}
