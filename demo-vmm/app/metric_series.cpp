#include "metric_series.hpp"

#include <stdexcept>
#include <string>

namespace rondo::vmm {

void register_declared(rondo::Store& store, const SeriesDecl& decl, std::span<rondo::SeriesHandle> out) {
  if (out.size() != decl.count || (decl.count > 1 && decl.value == nullptr)) {
    throw std::logic_error("series declaration '" + std::string(decl.name) + "' does not match its handles");
  }
  if (decl.label.empty()) {
    out[0] = store.register_series(decl.name);
    return;
  }
  for (std::size_t i = 0; i < decl.count; ++i) {
    const rondo::Label l{std::string(decl.label), std::string(decl.value(i))};
    out[i] = store.register_series(decl.name, std::span(&l, 1));
  }
}

rondo::SeriesHandle register_declared(rondo::Store& store, const SeriesDecl& decl) {
  rondo::SeriesHandle h;
  register_declared(store, decl, std::span(&h, 1));
  return h;
}

}  // namespace rondo::vmm
