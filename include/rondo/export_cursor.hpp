// ExportCursor: how far drain() has read, per schema, for one tier.
//
// A value type: copy it, drain into the copy, and keep the copy only once
// the points are safely delivered. It serializes to a few bytes so the
// caller can persist it beside the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rondo/types.hpp"

namespace rondo {

class ExportCursor {
 public:
  ExportCursor() = default;  // a fresh cursor: drain starts at the oldest bucket held

  std::string serialize() const;
  // Throws Error(Corrupt) for bytes that are not a cursor.
  static ExportCursor deserialize(std::string_view bytes);

  // Start time of the next bucket to return for a schema (0 = from the oldest).
  Timestamp next(std::size_t schema) const noexcept {
    return schema < next_.size() ? next_[schema] : 0;
  }
  void set_next(std::size_t schema, Timestamp t);

  friend bool operator==(const ExportCursor&, const ExportCursor&) = default;

 private:
  std::vector<Timestamp> next_;
};

}  // namespace rondo
