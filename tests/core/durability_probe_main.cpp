// A small program for file_test.cpp to run under strace: creates a store,
// reopens it, or saves an export position, and exits. Its system calls are
// what the test checks (fsync of a file before its rename, of the directory
// after).
#include <cstring>
#include <iostream>
#include <string>

#include "export_position.hpp"
#include "test_util.hpp"

int main(int argc, char** argv) {
  using namespace rondo;
  if (argc != 3) {
    std::cerr << "usage: rondo_durability_probe create|reopen|position PATH\n";
    return 2;
  }
  const std::string mode = argv[1];
  const std::filesystem::path path = argv[2];
  try {
    if (mode == "create" || mode == "reopen") {
      std::vector<SchemaConfig> schemas = {test::event_schema(4)};
      Store store = Store::open(path, schemas);
      store.record(store.register_series("x"), 1, test::kT0);
      store.flush();
    } else if (mode == "position") {
      prometheus::detail::save_position(path, prometheus::detail::ExportPosition{}, 1, "http://127.0.0.1:1/write");
    } else {
      std::cerr << "unknown mode " << mode << "\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
