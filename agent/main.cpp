// rondo-agent: one host agent for every VM on a host (Firecracker FIFOs,
// Cloud Hypervisor's vm.counters, embedded rondo stores), one store per VM,
// exported as one fleet. Wiring only; docs/agent.md is the operator guide.
#include <signal.h>

#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

#include "agent_config.hpp"
#include "agent_http_api.hpp"
#include "vm_registry.hpp"

int main(int argc, char** argv) {
  std::optional<rondo::agent::AgentConfig> config;
  try {
    config = rondo::agent::parse_command_line(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "rondo-agent: " << e.what() << "\n";
    return 2;
  }
  if (!config) return 0;  // --help
  // SIGINT/SIGTERM end the wait below; the threads never see them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    rondo::agent::VmRegistry registry(*config);
    rondo::agent::AgentHttpApi http(registry);
    if (!config->http.empty()) {
      http.start(config->http);
      spdlog::info("rondo-agent: API on {}:{}", config->http.substr(0, config->http.rfind(':')), http.port());
    }
    registry.start();
    int signal = 0;
    sigwait(&stop_signals, &signal);
    spdlog::info("rondo-agent: signal {}, stopping", signal);
    http.stop();
    registry.stop();
  } catch (const std::exception& e) {
    std::cerr << "rondo-agent: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
