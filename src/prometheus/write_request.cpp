#include "write_request.hpp"

#include <unordered_map>

#include "remote_write.pb.h"
#include "snappy_block.hpp"

namespace rondo::prometheus::detail {

std::string encode_write_request(std::span<const OutgoingSample> samples) {
  wire::WriteRequest request;
  std::unordered_map<const ExportedSeries*, wire::TimeSeries*> by_series;
  for (const OutgoingSample& sample : samples) {
    auto [it, fresh] = by_series.try_emplace(sample.series, nullptr);
    if (fresh) {
      it->second = request.add_timeseries();
      for (const Label& label : full_label_set(*sample.series)) {
        wire::Label* out = it->second->add_labels();
        out->set_name(label.name);
        out->set_value(label.value);
      }
    }
    wire::Sample* out = it->second->add_samples();
    out->set_value(sample.value);
    out->set_timestamp(to_milliseconds(sample.time + sample.series->stamp_offset));
  }
  return request.SerializeAsString();
}

std::string build_request_body(std::span<const OutgoingSample> samples) {
  return snappy_compress(encode_write_request(samples));
}

}  // namespace rondo::prometheus::detail
