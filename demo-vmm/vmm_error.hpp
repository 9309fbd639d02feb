// VmmError: what the VMM's cold paths (set-up, loading, configuration) throw.
// main() turns it into a message and a non-zero exit code. Paths that run
// while the guest runs (exit handling, device emulation) never throw: a bad
// guest access is answered and counted, not turned into an exception.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace rondo::vmm {

class VmmError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws VmmError("<what>: <strerror(err)>").
[[noreturn]] void throw_errno(std::string_view what, int err);

}  // namespace rondo::vmm
