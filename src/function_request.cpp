#include "rondo/function_request.hpp"

namespace rondo {

std::optional<FunctionRequest> parse_function_request(std::string_view name) noexcept {
  if (const auto q = parse_quantile(name)) return FunctionRequest{std::nullopt, q};
  if (const auto fn = parse_consolidation_fn(name)) return FunctionRequest{fn, std::nullopt};
  return std::nullopt;
}

std::string to_string(const FunctionRequest& request) {
  if (request.quantile) return to_string(*request.quantile);
  return request.fn ? std::string(to_string(*request.fn)) : std::string();
}

}  // namespace rondo
