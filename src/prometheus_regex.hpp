// The regular expressions of PromQL (=~, !~, label_replace): RE2, the engine
// and syntax Prometheus uses, under one set of limits, for the library's
// LabelMatcher and for the PromQL engine alike.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>

namespace rondo::detail {

// User text quoted in an error message: at most 60 bytes, anything but
// printable ASCII as \xNN, so the message is always short, printable and
// valid UTF-8 (it ends up in JSON and terminals).
std::string excerpt(std::string_view text);

// Compiles `pattern` (not anchored: callers use RE2::FullMatch, as PromQL
// anchors). Throws Error(InvalidArgument) "bad regex '<pattern>' <what>: why"
// for a pattern RE2 refuses, one too large, or one nested deeper than Go's
// regexp (hence Prometheus) allows.
std::shared_ptr<const RE2> compile_prometheus_regex(std::string_view pattern, const std::string& what);

}  // namespace rondo::detail
