// Small formatting pieces shared by the commands: series names, values,
// CSV fields, JSON values, byte sizes, and a plain text table.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rondo/store.hpp"

namespace rondo::cli {

// name{label="value",...} with PromQL escaping; just the name without labels.
inline std::string series_label(std::string_view name, const std::vector<Label>& labels) {
  return series_text(name, labels);
}
inline std::string series_label(const SeriesInfo& s) { return series_text(s.name, s.labels); }

// Shortest text that reads back to the same double; NaN, +Inf, -Inf spelled so.
std::string format_value(double v);
// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
std::string csv_field(std::string_view text);
// JSON has no NaN or infinity: those become null.
nlohmann::json json_value(double v);
nlohmann::json json_labels(const std::vector<Label>& labels);
// JSON text of a value. Store paths and label bytes need not be UTF-8, and nlohmann's dump()
// throws on such text (type_error.316): every CLI JSON output goes through here, which prints
// each invalid byte as U+FFFD instead.
std::string json_text(const nlohmann::ordered_json& value, int indent = -1);
std::string json_text(const nlohmann::json& value, int indent = -1);
// {"ns": t, "time": "RFC 3339"}-style helpers: the time as text, or null.
nlohmann::json json_time(const std::optional<Timestamp>& t);
// "1.5 KiB", "12.0 MiB", "512 B".
std::string format_bytes(std::uint64_t bytes);
// "sum,count,max".
std::string function_list(const std::vector<ConsolidationFn>& functions);

// A JSON object whose last member is an array written one compact element
// per line: readable, streamable, and still one valid JSON document.
//   {"store": "...", ..., "series": [
//   {...},
//   {...}
//   ]}
class JsonRowsWriter {
 public:
  // Writes head's members (an object), then opens the array `key`.
  JsonRowsWriter(std::ostream& out, const nlohmann::ordered_json& head, std::string_view key);
  void add(const nlohmann::ordered_json& row);
  void finish();  // closes the array and the object

 private:
  std::ostream& out_;
  bool first_ = true;
};

// Left-aligned columns separated by two spaces; no trailing spaces.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Each line starts with `indent`.
  std::string render(std::string_view indent = "") const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace rondo::cli
