// The Prometheus query API (/api/v1/query, query_range, series, labels, ...)
// on the demo VMM's HTTP server: the library's QueryApi over the live store,
// seeing series under the names and labels the VMM's remote write gives them.
#pragma once

#include <vector>

#include "rondo/store.hpp"
#include "rondo/types.hpp"

namespace httplib {
class Server;
}

namespace rondo::vmm {

// The labels the demo VMM adds to what it exports ({job="rondo-demo-vmm"}):
// remote write and the query API both use these.
std::vector<rondo::Label> export_labels();

// Mounts /api/v1/... on `server`; the store must outlive it.
void mount_promql(httplib::Server& server, const rondo::Store& store);

}  // namespace rondo::vmm
