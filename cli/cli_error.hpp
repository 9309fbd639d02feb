// How the rondo command fails: a message for stderr and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace rondo::cli {

// Exit codes, documented in docs/cli.md.
enum class ExitCode : int {
  Ok = 0,
  Failure = 1,  // the store is missing, not a store, corrupt, unreadable; export failed
  Usage = 2,    // bad option, selector, time, range, tier or function
  NoMatch = 3,  // the selector matched no series
};

class CliError : public std::runtime_error {
 public:
  CliError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// A mistake in what the user typed.
inline CliError usage_error(const std::string& message) { return CliError(ExitCode::Usage, message); }

}  // namespace rondo::cli
