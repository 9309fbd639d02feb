// mount_metrics: the only part of the exposition that knows cpp-httplib.
#include <httplib.h>

#include <exception>

#include "rondo/prometheus/exposition.hpp"

namespace rondo::prometheus {

void mount_metrics(httplib::Server& server, const Store& store, ExpositionOptions options,
                   std::string path) {
  server.Get(path, [&store, options = std::move(options)](const httplib::Request&, httplib::Response& res) {
    try {
      res.set_content(render_text(store, options), std::string(kTextContentType));
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("rondo: cannot render metrics: ") + e.what() + "\n", "text/plain");
    }
  });
}

}  // namespace rondo::prometheus
