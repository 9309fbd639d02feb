#include "rondo/series_query.hpp"

#include "rondo/label_matcher.hpp"

#include <variant>

namespace rondo {
namespace {

bool every_tier_answers(const SchemaConfig& schema, ConsolidationFn fn) {
  for (std::size_t t = 0; t < schema.tiers.size(); ++t) {
    if (function_source(stored_functions(schema, t), fn) == FunctionSource::None) return false;
  }
  return true;
}

std::string no_such_tier(const Store& store, const SeriesInfo& s, std::size_t tier) {
  const SchemaConfig& schema = store.schemas()[s.schema];
  return "series " + series_text(s.name, s.labels) + " has no tier " + std::to_string(tier) + ": its schema " +
         schema.name + " has tiers 0.." + std::to_string(schema.tiers.size() - 1);
}

}  // namespace

QueryFunction default_function(const Store& store, const SeriesInfo& series, std::optional<std::size_t> tier) {
  const SchemaConfig& schema = store.schemas().at(series.schema);
  if (tier.value_or(0) >= schema.tiers.size()) return ConsolidationFn::Average;  // query_series says there is no such tier
  const std::vector<ConsolidationFn> first = stored_functions(schema, tier.value_or(0));
  if (tier) return first.front();
  for (ConsolidationFn fn : first) {
    if (every_tier_answers(schema, fn)) return fn;
  }
  return every_tier_answers(schema, ConsolidationFn::Average) ? ConsolidationFn::Average : first.front();
}

std::vector<SeriesAnswer> query_series(const Store& store, std::span<const SeriesInfo> series,
                                       const SeriesQuery& query) {
  std::vector<SeriesAnswer> answers;
  for (const SeriesInfo& s : series) {
    SeriesAnswer& a = answers.emplace_back(
        SeriesAnswer{s, query.fn.value_or(default_function(store, s, query.tier)), {}, {}, std::nullopt});
    if (query.tier && *query.tier >= store.schemas()[s.schema].tiers.size()) {
      a.error = no_such_tier(store, s, *query.tier);
      continue;
    }
    try {
      std::visit(
          [&](auto fn) {
            if (query.tier) {
              a.points = store.query(s.handle, *query.tier, query.start, query.end, fn, query.options);
              a.plan = {TierSpan{*query.tier, query.start, query.end}};
            } else {
              QueryResult r = store.query_auto(s.handle, query.start, query.end, fn, query.options);
              a.points = std::move(r.points);
              a.plan = std::move(r.plan);
            }
          },
          a.fn);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::NotFound && e.code() != ErrorCode::InvalidArgument) throw;
      a.error = e.what();
      a.points.clear();
      a.plan.clear();
    }
  }
  return answers;
}

}  // namespace rondo
