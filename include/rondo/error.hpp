// rondo::Error: what every cold-path function throws. The hot path
// (record, record_batch) never throws; it returns a WriteStatus.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace rondo {

enum class ErrorCode {
  InvalidArgument,   // a bad schema, selector, range or option
  NotFound,          // no such store, tier, function or series
  NotAStore,         // the directory holds something that is not a rondo store
  Corrupt,           // a store file fails its checks (truncated, garbage, foreign)
  SchemaMismatch,    // reopened with schemas that differ from the stored ones
  SchemaFull,        // register_series: the schema already holds max_series
  NoMatchingSchema,  // register_series: no schema's matcher accepts the series
  Busy,              // another writer has the store open
  Io,                // a system call failed
};

std::string_view to_string(ErrorCode code) noexcept;

// The message names the file or series and what is wrong with it.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace rondo
