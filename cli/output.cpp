#include "output.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "time_spec.hpp"

namespace rondo::cli {
namespace {

// Width in terminal columns, counting UTF-8 code points (good enough for labels).
std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

nlohmann::json json_value(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

nlohmann::json json_labels(const std::vector<Label>& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

nlohmann::json json_time(const std::optional<Timestamp>& t) {
  if (!t) return nullptr;
  return format_time(*t);
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string function_list(const std::vector<ConsolidationFn>& functions) {
  std::string out;
  for (std::size_t i = 0; i < functions.size(); ++i) {
    if (i > 0) out += ',';
    out += to_string(functions[i]);
  }
  return out;
}

std::string json_text(const nlohmann::ordered_json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}
std::string json_text(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

JsonRowsWriter::JsonRowsWriter(std::ostream& out, const nlohmann::ordered_json& head, std::string_view key)
    : out_(out) {
  out_ << "{";
  for (const auto& [name, value] : head.items()) {
    out_ << json_text(nlohmann::json(name)) << ": " << json_text(value) << ", ";
  }
  out_ << json_text(nlohmann::json(key)) << ": [";
}

void JsonRowsWriter::add(const nlohmann::ordered_json& row) {
  out_ << (first_ ? "\n" : ",\n") << json_text(row);
  first_ = false;
}

void JsonRowsWriter::finish() { out_ << "\n]}\n"; }

std::string TextTable::render(std::string_view indent) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line(indent);
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - display_width(row[c]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  }
  return out;
}

}  // namespace rondo::cli
