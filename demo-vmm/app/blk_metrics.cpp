#include "blk_metrics.hpp"

namespace rondo::vmm {

static_assert(static_cast<std::size_t>(BlkOp::Other) == BlkMetrics::kOps.size(), "one op series per BlkOp but Other");

BlkMetrics::BlkMetrics(rondo::Store& store) {
  register_declared(store, kSeries[kRequests], requests_);
  register_declared(store, kSeries[kErrorsTotal], errors_);
  register_declared(store, kSeries[kBytes], bytes_);
  duration_ = register_declared(store, kSeries[kDuration]);
  depth_ = register_declared(store, kSeries[kDepth]);
}

}  // namespace rondo::vmm
