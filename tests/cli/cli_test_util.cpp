#include "cli_test_util.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace rondo::test {

ProcessResult run_rondo(const std::vector<std::string>& args) {
  std::vector<std::string> argv{rondo_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

const std::filesystem::path& fixture_900s() {
  static const auto dir = std::make_unique<TempDir>();
  static const std::filesystem::path store = [] {
    const auto p = dir->path() / "fixture";
    write_fixture_store(p, kFixtureSeconds);
    return p;
  }();
  return store;
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string fixture_time(std::uint64_t k) {
  const std::uint64_t s = 12 * 3600 + k;  // the fixture starts at 12:00:00 on 2024-05-01
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "2024-05-01T%02llu:%02llu:%02lluZ", static_cast<unsigned long long>(s / 3600),
                static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  return buffer;
}

}  // namespace rondo::test
