#include "promql_routes.hpp"

#include <httplib.h>

#include <memory>

#include "rondo/prometheus/query_api.hpp"
#include "rondo/promql.hpp"

namespace rondo::vmm {

std::vector<rondo::Label> export_labels() { return {{"job", "rondo-demo-vmm"}}; }

void mount_promql(httplib::Server& server, const rondo::Store& store) {
  rondo::promql::StoreSourceOptions options;
  options.extra_labels = export_labels();  // default naming, as the exporter's
  auto source = std::make_shared<rondo::promql::StoreSource>(store, options);
  rondo::prometheus::mount_query_api(server, std::make_shared<rondo::prometheus::QueryApi>(std::move(source)));
}

}  // namespace rondo::vmm
