// The Prometheus tests' name for the shared TempDir (tests/common/files.hpp).
#pragma once

#include "common/files.hpp"

namespace rondo::prometheus::test {
using rondo::test::read_file;
using rondo::test::TempDir;
}  // namespace rondo::prometheus::test
