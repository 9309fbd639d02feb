// Label-set helpers of the evaluator: shared immutable label sets, the
// metric name, and byte keys of label sets.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "rondo/promql.hpp"

namespace rondo::promql::detail {

inline constexpr std::string_view kMetricName = "__name__";

// Label sets are shared between the steps of a query, not copied per step
// (Evaluator::intern makes equal sets one pointer).
using LabelsPtr = std::shared_ptr<const Labels>;
LabelsPtr empty_labels();

std::string_view get(const Labels& labels, std::string_view name) noexcept;  // "" when absent
Labels without_name(const Labels& labels);
// Sets (value non-empty) or deletes (value empty) one label; keeps the order.
void set_label(Labels& labels, std::string_view name, std::string_view value);

// An unambiguous byte key of a label set (or of part of it).
std::string key_of(const Labels& labels);
// The key of every label but those in `names` and __name__.
std::string key_ignoring(const Labels& labels, std::span<const std::string> names);

std::string to_text(const Labels& labels);  // {a="b", c="d"}, for messages

}  // namespace rondo::promql::detail
