// The HELP text of an exposition family: what /metrics prints and what
// /api/v1/metadata answers (one rule, defined in exposition.cpp).
#pragma once

#include <string>

#include "rondo/prometheus/exposition.hpp"
#include "series_naming.hpp"

namespace rondo::prometheus::detail {

// `first`: the family's first series (a summary's _sum or _count); the
// options' tier, naming and registered texts are the exposition's.
std::string family_help(const ExportedSeries& first, const SchemaConfig& schema, const ExpositionOptions& options);

}  // namespace rondo::prometheus::detail
