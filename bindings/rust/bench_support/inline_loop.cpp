// The baseline rondo-bench measures the Rust crate against: the C++ inline
// path, Store::record compiled into the caller's loop, as a C++ VMM gets it.
// The loop is the same as rondo-bench's Rust loop (16 series, i & 15).
#include <cstddef>
#include <cstdint>

#include "c_handles.hpp"

extern "C" std::uint64_t rondo_bench_cpp_record_loop(rondo_store* store, const rondo_series* series,
                                                     std::size_t series_count, std::uint64_t iterations,
                                                     std::uint64_t first_ts_ns, std::uint64_t step_ns) {
  constexpr std::size_t kSeries = 16;
  if (store == nullptr || series == nullptr || series_count != kSeries) return 0;
  rondo::SeriesHandle handles[kSeries];
  for (std::size_t i = 0; i < kSeries; ++i) handles[i] = rondo::c_api::to_handle(series[i]);
  rondo::Store& s = store->store;
  std::uint64_t ok = 0;
  std::uint64_t ts = first_ts_ns;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    ts += step_ns;
    ok += s.record(handles[i & (kSeries - 1)], static_cast<double>(i), ts) == rondo::WriteStatus::Ok;
  }
  return ok;
}
