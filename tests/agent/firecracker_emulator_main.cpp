// rondo-firecracker-emulator: the test stand-in for a Firecracker process's
// metrics (firecracker_emulator.hpp), as a process of its own so that it
// can exit, be killed, and outlive an agent.
#include <CLI/CLI.hpp>

#include "firecracker_emulator.hpp"

int main(int argc, char** argv) {
  rondo::agent::test::EmulatorOptions o;
  int period_ms = 60'000;
  bool hang = false;
  CLI::App app{"Firecracker metrics emulator (tests only)"};
  app.add_option("--fifo", o.fifo)->required();
  app.add_option("--socket", o.socket);
  app.add_option("--totals", o.totals)->required();
  app.add_option("--lines", o.lines);
  app.add_option("--period-ms", period_ms);
  app.add_option("--cut-every", o.cut_every);
  app.add_option("--garbage-every", o.garbage_every);
  app.add_flag("--never-answer", hang);
  app.add_option("--seed", o.seed);
  CLI11_PARSE(app, argc, argv);
  o.period = std::chrono::milliseconds(period_ms);
  o.answer_flush = !hang;
  return rondo::agent::test::run_emulator(o);
}
