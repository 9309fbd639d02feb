#include "vmm_error.hpp"

#include <cstring>

namespace rondo::vmm {

void throw_errno(std::string_view what, int err) {
  std::string message(what);
  message += ": ";
  message += std::strerror(err);
  throw VmmError(message);
}

}  // namespace rondo::vmm
