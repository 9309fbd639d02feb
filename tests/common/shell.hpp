// Runs a shell command (stderr folded into stdout) and checks it exits 0:
// for tests that drive real command-line clients such as promtool.
#pragma once

#include <array>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

namespace rondo::test {

inline std::string run_shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
  const int status = ::pclose(pipe);
  INFO(command << "\n" << out);
  CHECK(status == 0);
  return out;
}

}  // namespace rondo::test
