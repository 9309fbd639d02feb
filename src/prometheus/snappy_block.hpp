// Snappy block format (not the framed/stream format, which remote write
// forbids), as a thin wrapper over libsnappy.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rondo::prometheus::detail {

std::string snappy_compress(std::string_view raw);
// nullopt when `compressed` is not a valid snappy block.
std::optional<std::string> snappy_uncompress(std::string_view compressed);

}  // namespace rondo::prometheus::detail
