// ExportCursor bytes: "RDC1" | u32 count | u64 next[count] | u32 crc32c(all before).
#include "rondo/export_cursor.hpp"

#include <cstring>
#include <span>

#include "crc32c.hpp"
#include "rondo/error.hpp"

namespace rondo {

namespace {
constexpr char kMagic[4] = {'R', 'D', 'C', '1'};
}

void ExportCursor::set_next(std::size_t schema, Timestamp t) {
  if (next_.size() <= schema) next_.resize(schema + 1, 0);
  next_[schema] = t;
}

std::string ExportCursor::serialize() const {
  std::string out(kMagic, sizeof(kMagic));
  const auto count = static_cast<std::uint32_t>(next_.size());
  out.append(reinterpret_cast<const char*>(&count), 4);
  out.append(reinterpret_cast<const char*>(next_.data()), next_.size() * 8);
  const std::uint32_t crc = detail::crc32c(std::as_bytes(std::span(out.data(), out.size())));
  out.append(reinterpret_cast<const char*>(&crc), 4);
  return out;
}

ExportCursor ExportCursor::deserialize(std::string_view bytes) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::Corrupt, "export cursor: " + why); };
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, 4) != 0) throw bad("not a cursor");
  std::uint32_t count;
  std::memcpy(&count, bytes.data() + 4, 4);
  if (bytes.size() != 12 + std::uint64_t{count} * 8) throw bad("wrong length");
  std::uint32_t crc;
  std::memcpy(&crc, bytes.data() + bytes.size() - 4, 4);
  if (crc != detail::crc32c(std::as_bytes(std::span(bytes.data(), bytes.size() - 4)))) throw bad("checksum mismatch");
  ExportCursor cursor;
  cursor.next_.resize(count);
  std::memcpy(cursor.next_.data(), bytes.data() + 8, std::size_t{count} * 8);
  return cursor;
}

}  // namespace rondo
