// SlabFile: creates, validates and maps one tier's slab file.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <vector>

#include "file.hpp"
#include "rondo/detail/ring.hpp"
#include "rondo/detail/slab_format.hpp"
#include "rondo/types.hpp"
#include "tier_identity.hpp"

namespace rondo::detail {

// Everything the header says about a tier; what the store expects a slab to be.
struct SlabIdentity : TierIdentity {
  std::vector<ConsolidationFn> functions;
};

SlabHeader make_slab_header(const SlabIdentity& id);

class SlabFile {
 public:
  // Writes a new, fully allocated slab (temporary name, then rename).
  static void create(const std::filesystem::path& path, const SlabIdentity& id);
  // Maps and checks an existing slab against what the store expects; throws
  // Error(Corrupt) naming the file and the first check that failed. A
  // writable open also repairs a write cut short by a crash.
  static SlabFile open(const std::filesystem::path& path, const SlabIdentity& id, bool writable);

  // True only for a complete slab that no write ever touched (what an
  // interrupted create leaves); false for anything else, readable or not.
  static bool never_written(const std::filesystem::path& path);

  Ring& ring() { return ring_; }
  const Ring& ring() const { return ring_; }
  const std::filesystem::path& path() const { return file_.path(); }
  std::uint64_t size() const { return map_.size(); }
  void sync() { map_.sync(); }

 private:
  static void check_state(SlabFile& slab, bool writable);

  File file_;
  MappedFile map_;
  Ring ring_;
  ZeroPages verified_;  // the ring's verified-sum memo
};

}  // namespace rondo::detail
