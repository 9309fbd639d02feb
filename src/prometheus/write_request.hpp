// Builds the remote-write 1.0 request body: a protobuf WriteRequest,
// snappy-compressed. One TimeSeries per exported series, holding all its
// samples of the batch oldest first (the spec allows several samples per
// series as long as they are in timestamp order).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "rondo/types.hpp"
#include "series_naming.hpp"

namespace rondo::prometheus::detail {

struct OutgoingSample {
  const ExportedSeries* series;
  Timestamp time;  // ns since the epoch (the bucket start)
  double value;
};

// Remote write counts in milliseconds; bucket starts are whole milliseconds
// for every tier the exporter accepts (interval >= 1 ms).
inline std::int64_t to_milliseconds(Timestamp ns) noexcept {
  return static_cast<std::int64_t>(ns / 1'000'000);
}

// The serialized (uncompressed) WriteRequest. Samples of one series must
// already be in time order.
std::string encode_write_request(std::span<const OutgoingSample> samples);

// What goes on the wire: snappy(encode_write_request(samples)).
std::string build_request_body(std::span<const OutgoingSample> samples);

}  // namespace rondo::prometheus::detail
