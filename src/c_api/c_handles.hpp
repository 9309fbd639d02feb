// What the C API's opaque handles are, for its implementation (rondo_c.cpp)
// and for C++ code that must reach the Store behind a rondo_store* (the
// benchmark's inline baseline in bindings/rust/bench_support/).
#pragma once

#include <bit>
#include <type_traits>
#include <vector>

#include "rondo/rondo.h"
#include "rondo/store.hpp"

struct rondo_store {
  rondo::Store store;
};

struct rondo_cursor {
  rondo::ExportCursor cursor;
};

struct rondo_drain_result {
  rondo::DrainResult result;
  std::vector<std::vector<rondo_point>> points;  // result's, as C values, one per series
};

namespace rondo::c_api {

// rondo_series is SeriesHandle's three u32 in declaration order (store id,
// schema, column); rondo_register checks the schema and column fields
// against the handle's accessors, so a change of layout fails loudly there.
static_assert(sizeof(rondo_series) == sizeof(SeriesHandle));
static_assert(std::is_trivially_copyable_v<SeriesHandle>);

inline SeriesHandle to_handle(rondo_series series) noexcept { return std::bit_cast<SeriesHandle>(series); }
inline rondo_series to_c(SeriesHandle handle) noexcept { return std::bit_cast<rondo_series>(handle); }

}  // namespace rondo::c_api
