#include "labels.hpp"

#include <algorithm>

namespace rondo::promql::detail {
namespace {

void append_key(std::string& key, const Label& l) {
  key += l.name;
  key.push_back('\0');
  key += std::to_string(l.value.size());
  key.push_back(':');
  key += l.value;
}

bool listed(std::span<const std::string> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

LabelsPtr empty_labels() {
  static const LabelsPtr kEmpty = std::make_shared<const Labels>();
  return kEmpty;
}

std::string_view get(const Labels& labels, std::string_view name) noexcept {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

Labels without_name(const Labels& labels) {
  Labels out;
  out.reserve(labels.size());
  for (const Label& l : labels) {
    if (l.name != kMetricName) out.push_back(l);
  }
  return out;
}

void set_label(Labels& labels, std::string_view name, std::string_view value) {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  const bool present = it != labels.end() && it->name == name;
  if (value.empty()) {
    if (present) labels.erase(it);
  } else if (present) {
    it->value = std::string(value);
  } else {
    labels.insert(it, Label{std::string(name), std::string(value)});
  }
}

std::string key_of(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) append_key(key, l);
  return key;
}

std::string key_ignoring(const Labels& labels, std::span<const std::string> names) {
  std::string key;
  for (const Label& l : labels) {
    if (l.name != kMetricName && !listed(names, l.name)) append_key(key, l);
  }
  return key;
}

std::string to_text(const Labels& labels) {
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels[i].name + "=\"" + labels[i].value + "\"";
  }
  return out + "}";
}

}  // namespace rondo::promql::detail
