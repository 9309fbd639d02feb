// meta.json: the store's identity and its schemas, as readable JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "rondo/schema.hpp"

namespace rondo::detail {

inline constexpr int kMetaVersion = 1;

struct StoreMeta {
  std::uint32_t store_id = 0;
  std::vector<SchemaConfig> schemas;
};

std::string to_json(const StoreMeta& meta);
// Throws Error(Corrupt) naming the file for anything that is not a valid meta.json.
StoreMeta parse_meta(const std::string& text, const std::filesystem::path& file);
// The schemas alone, from meta.json's "schemas" array or a whole meta.json
// (for callers that configure a store in JSON: the C API). Throws
// Error(InvalidArgument) saying what is wrong.
std::vector<SchemaConfig> parse_schemas_json(const std::string& text);

// meta.json is created durably (src/file.cpp's replace_file_durably), so
// after a power cut it is either absent or complete.
void write_meta(const std::filesystem::path& file, const StoreMeta& meta);
StoreMeta read_meta(const std::filesystem::path& file);

// Identifies a schema's shape; written into every slab header.
std::uint64_t schema_hash(const SchemaConfig& schema);

// Empty when the schemas are the same; otherwise the first difference in words.
std::string describe_difference(std::span<const SchemaConfig> stored, std::span<const SchemaConfig> requested);

}  // namespace rondo::detail
