#include "response_cache.hpp"

#include <stdexcept>

#include <catch2/catch.hpp>

using rondo::vmm::ResponseCache;

TEST_CASE("a second's answer is computed once, and the next second computes again", "[vmm][cache]") {
  ResponseCache cache;
  int computed = 0;
  auto compute = [&] { return "answer " + std::to_string(++computed); };
  CHECK(cache.get("q", 100, compute) == "answer 1");
  CHECK(cache.get("q", 100, compute) == "answer 1");
  CHECK(cache.get("other", 100, compute) == "answer 2");
  CHECK(cache.get("q", 101, compute) == "answer 3");
  CHECK(cache.get("q", 101, compute) == "answer 3");
  CHECK(cache.hits() == 2);
  CHECK(cache.misses() == 3);
}

TEST_CASE("a failed computation is not kept, and a full cache forgets", "[vmm][cache]") {
  ResponseCache cache(2);
  CHECK_THROWS_AS(cache.get("q", 1, []() -> std::string { throw std::runtime_error("no"); }), std::runtime_error);
  CHECK(cache.get("q", 1, [] { return std::string("ok"); }) == "ok");
  CHECK(cache.get("a", 1, [] { return std::string("a"); }) == "a");
  CHECK(cache.get("b", 1, [] { return std::string("b"); }) == "b");  // full of this second: starts over
  CHECK(cache.get("b", 1, [] { return std::string("again"); }) == "b");
  CHECK(cache.get("q", 1, [] { return std::string("recomputed"); }) == "recomputed");
}
