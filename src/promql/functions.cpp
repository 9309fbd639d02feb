// PromQL's functions over float samples, with Prometheus 2.42's arithmetic.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>

#include "evaluator.hpp"
#include "function_table.hpp"
#include "regex.hpp"
#include "rondo/prometheus/naming.hpp"

namespace rondo::promql::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Go's math.Max / math.Min (NaN wins except against the matching infinity).
double go_max(double x, double y) {
  if (std::isinf(x) && x > 0) return x;
  if (std::isinf(y) && y > 0) return y;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  if (x == 0 && x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}
double go_min(double x, double y) {
  if (std::isinf(x) && x < 0) return x;
  if (std::isinf(y) && y < 0) return y;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  if (x == 0 && x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

// Neumaier's compensated sum, as Prometheus's kahanSumInc.
struct KahanSum {
  double sum = 0, c = 0;
  void add(double inc) {
    const double t = sum + inc;
    if (std::fabs(sum) >= std::fabs(inc)) {
      c += (sum - t) + inc;
    } else {
      c += (inc - t) + sum;
    }
    sum = t;
  }
  double value() const { return std::isinf(sum) ? sum : sum + c; }
};

using Points = std::span<const Sample>;

// ---- the rate family ---------------------------------------------------------------

// rate, increase, delta: the change over the window, extrapolated towards
// its edges (at most half a sample interval past the first/last sample, and
// for counters not below zero).
std::optional<double> extrapolated_rate(Points p, Millis range_start, Millis range_end, bool counter, bool rate) {
  if (p.size() < 2) return std::nullopt;
  double result = p.back().v - p.front().v;
  if (counter) {
    double last = 0;
    for (const Sample& s : p) {
      if (s.v < last) result += last;
      last = s.v;
    }
  }
  double to_start = static_cast<double>(p.front().t - range_start) / 1000;
  const double to_end = static_cast<double>(range_end - p.back().t) / 1000;
  const double sampled = static_cast<double>(p.back().t - p.front().t) / 1000;
  const double average = sampled / static_cast<double>(p.size() - 1);
  if (counter && result > 0 && p.front().v >= 0) {
    const double to_zero = sampled * (p.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  const double threshold = average * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : average / 2;
  interval += to_end < threshold ? to_end : average / 2;
  result = result * (interval / sampled);
  if (rate) result /= static_cast<double>(range_end - range_start) / 1000;
  return result;
}

std::optional<double> instant_value(Points p, bool rate) {
  if (p.size() < 2) return std::nullopt;
  const Sample& last = p[p.size() - 1];
  const Sample& prev = p[p.size() - 2];
  double result = rate && last.v < prev.v ? last.v : last.v - prev.v;
  const Millis interval = last.t - prev.t;
  if (interval == 0) return std::nullopt;
  if (rate) result /= static_cast<double>(interval) / 1000;
  return result;
}

// Least squares of value over time (seconds from `intercept_time`).
std::pair<double, double> linear_regression(Points p, Millis intercept_time) {
  double n = 0;
  KahanSum sx, sy, sxy, sx2;
  bool constant = true;
  const double first = p.front().v;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (constant && i > 0 && p[i].v != first) constant = false;
    n += 1;
    const double x = static_cast<double>(p[i].t - intercept_time) / 1e3;
    sx.add(x);
    sy.add(p[i].v);
    sxy.add(x * p[i].v);
    sx2.add(x * x);
  }
  if (constant) {
    if (std::isinf(first)) return {kNaN, kNaN};
    return {0, first};
  }
  const double sum_x = sx.sum + sx.c, sum_y = sy.sum + sy.c, sum_xy = sxy.sum + sxy.c, sum_x2 = sx2.sum + sx2.c;
  const double cov = sum_xy - sum_x * sum_y / n;
  const double var = sum_x2 - sum_x * sum_x / n;
  const double slope = cov / var;
  return {slope, sum_y / n - slope * sum_x / n};
}

// ---- *_over_time ---------------------------------------------------------------------

double avg_over(Points p) {
  double mean = 0, count = 0;
  KahanSum k;
  for (const Sample& s : p) {
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(s.v) && (mean > 0) == (s.v > 0)) continue;
      if (!std::isinf(s.v) && !std::isnan(s.v)) continue;
    }
    k.add(s.v / count - mean / count);
    mean = k.sum;
  }
  return std::isinf(mean) ? mean : k.sum + k.c;
}

double variance_over(Points p) {
  double count = 0;
  KahanSum mean, aux;
  for (const Sample& s : p) {
    count++;
    const double delta = s.v - (mean.sum + mean.c);
    mean.add(delta / count);
    aux.add(delta * (s.v - (mean.sum + mean.c)));
  }
  return (aux.sum + aux.c) / count;
}

std::optional<double> over_time(std::string_view f, Points p) {
  if (f == "avg_over_time") return avg_over(p);
  if (f == "count_over_time") return static_cast<double>(p.size());
  if (f == "last_over_time") return p.back().v;
  if (f == "present_over_time") return 1.0;
  if (f == "max_over_time" || f == "min_over_time") {
    const bool is_max = f == "max_over_time";
    double v = p.front().v;
    for (const Sample& s : p) {
      if ((is_max ? s.v > v : s.v < v) || std::isnan(v)) v = s.v;
    }
    return v;
  }
  if (f == "sum_over_time") {
    KahanSum k;
    for (const Sample& s : p) k.add(s.v);
    return k.value();
  }
  if (f == "stddev_over_time") return std::sqrt(variance_over(p));
  if (f == "stdvar_over_time") return variance_over(p);
  if (f == "changes" || f == "resets") {
    double n = 0;
    for (std::size_t i = 1; i < p.size(); ++i) {
      const double a = p[i - 1].v, b = p[i].v;
      if (f == "resets" ? b < a : (a != b && !(std::isnan(a) && std::isnan(b)))) n++;
    }
    return n;
  }
  return std::nullopt;
}

// ---- dates -------------------------------------------------------------------------

struct Civil {
  long long year;
  unsigned month, day;  // 1-based
  long long days;       // since the epoch
  long long seconds_of_day;
};

// Howard Hinnant's civil_from_days.
Civil civil(long long unix_seconds) {
  long long days = unix_seconds / 86400;
  long long sod = unix_seconds % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  const long long z = days + 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long y = static_cast<long long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d, days, sod};
}

bool leap(long long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

double date_part(std::string_view f, double value) {
  // Go: time.Unix(int64(v), 0); NaN and out-of-range values are undefined there.
  if (!std::isfinite(value) || std::fabs(value) > 9.2e18) return kNaN;
  const Civil c = civil(static_cast<long long>(value));
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (f == "year") return static_cast<double>(c.year);
  if (f == "month") return c.month;
  if (f == "day_of_month") return c.day;
  if (f == "hour") return static_cast<double>(c.seconds_of_day / 3600);
  if (f == "minute") return static_cast<double>(c.seconds_of_day % 3600 / 60);
  if (f == "day_of_week") return static_cast<double>(((c.days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  const unsigned in_month = kDays[c.month - 1] + (c.month == 2 && leap(c.year) ? 1 : 0);
  if (f == "days_in_month") return in_month;
  unsigned yday = c.day;
  for (unsigned m = 1; m < c.month; ++m) yday += kDays[m - 1] + (m == 2 && leap(c.year) ? 1 : 0);
  return yday;  // day_of_year
}

bool is_date_function(std::string_view f) {
  return f == "year" || f == "month" || f == "day_of_month" || f == "day_of_week" || f == "day_of_year" ||
         f == "days_in_month" || f == "hour" || f == "minute";
}

// ---- instant-vector math --------------------------------------------------------------

std::optional<std::function<double(double)>> math_function(std::string_view f) {
  static const std::map<std::string_view, double (*)(double)> kMath = {
      {"abs", [](double v) { return std::fabs(v); }},   {"ceil", [](double v) { return std::ceil(v); }},
      {"floor", [](double v) { return std::floor(v); }}, {"exp", [](double v) { return std::exp(v); }},
      {"sqrt", [](double v) { return std::sqrt(v); }},  {"ln", [](double v) { return std::log(v); }},
      {"log2", [](double v) { return std::log2(v); }},  {"log10", [](double v) { return std::log10(v); }},
      {"sin", [](double v) { return std::sin(v); }},    {"cos", [](double v) { return std::cos(v); }},
      {"tan", [](double v) { return std::tan(v); }},    {"asin", [](double v) { return std::asin(v); }},
      {"acos", [](double v) { return std::acos(v); }},  {"atan", [](double v) { return std::atan(v); }},
      {"sinh", [](double v) { return std::sinh(v); }},  {"cosh", [](double v) { return std::cosh(v); }},
      {"tanh", [](double v) { return std::tanh(v); }},  {"asinh", [](double v) { return std::asinh(v); }},
      {"acosh", [](double v) { return std::acosh(v); }}, {"atanh", [](double v) { return std::atanh(v); }},
      {"deg", [](double v) { return v * 180 / M_PI; }}, {"rad", [](double v) { return v * M_PI / 180; }},
      {"sgn", [](double v) { return v < 0 ? -1.0 : v > 0 ? 1.0 : v; }},
  };
  const auto it = kMath.find(f);
  if (it == kMath.end()) return std::nullopt;
  return std::function<double(double)>(it->second);
}

// ---- the call ---------------------------------------------------------------------

class Call {
 public:
  Call(Evaluator& ev, const Node& node, Millis ts) : ev_(ev), node_(node), ts_(ts), f_(node.function) {}

  Value run() {
    if (f_ == "time") return Value::of_scalar(static_cast<double>(ts_) / 1000);
    if (f_ == "pi") return Value::of_scalar(M_PI);
    if (f_ == "vector") return Value::of_vector({{ev_.intern({}), scalar(0), ts_}});
    if (f_ == "scalar") {
      const Vector v = vector(0);
      return Value::of_scalar(v.size() == 1 ? v[0].v : kNaN);
    }
    if (find_function(f_)->args.size() > 0 && arg_is_range()) return range_function();
    if (auto fn = math_function(f_)) return map(*fn);
    if (is_date_function(f_)) return date();
    if (f_ == "timestamp") return timestamp();
    if (f_ == "clamp" || f_ == "clamp_min" || f_ == "clamp_max") return clamp();
    if (f_ == "round") {
      const double to = node_.children.size() > 1 ? scalar(1) : 1.0;
      const double inverse = 1.0 / to;
      return map([inverse](double v) { return std::floor(v * inverse + 0.5) / inverse; });
    }
    if (f_ == "sort" || f_ == "sort_desc") return sort();
    if (f_ == "absent") return absent(vector(0).empty());
    if (f_ == "label_replace") return label_replace();
    if (f_ == "label_join") return label_join();
    if (f_ == "histogram_quantile") return histogram_quantile();
    throw QueryError(ErrorType::BadData, "function \"" + std::string(f_) + "\" is not supported");
  }

 private:
  const Node& arg(std::size_t i) const { return node_.child(i); }
  double scalar(std::size_t i) { return ev_.eval(arg(i), ts_).scalar; }
  Vector vector(std::size_t i) { return ev_.eval(arg(i), ts_).vector; }
  std::string string(std::size_t i) { return ev_.eval(arg(i), ts_).string; }

  bool arg_is_range() const {
    for (const auto& a : node_.children) {
      if (a->type == ValueType::Matrix) return true;
    }
    return false;
  }

  Value map(const std::function<double(double)>& fn) {
    Vector v = vector(0);
    for (Element& e : v) {
      e.v = fn(e.v);
      e.labels = ev_.drop_name(e.labels);
      e.t = ts_;
    }
    return Value::of_vector(std::move(v));
  }

  Value range_function() {
    const std::size_t m = arg(0).type == ValueType::Matrix ? 0 : 1;
    const double param = node_.children.size() > 1 ? scalar(m == 0 ? 1 : 0) : 0;
    const Evaluator::RangeArg r = ev_.eval_range(arg(m), ts_);
    if (f_ == "absent_over_time") return absent(r.matrix.series.empty());
    Vector out;
    out.reserve(r.matrix.series.size());
    for (const RangeSeries& s : r.matrix.series) {
      std::optional<double> v = range_value(s.points, r, param);
      if (!v) continue;
      // last_over_time returns the samples themselves and keeps their name.
      out.push_back({f_ == "last_over_time" ? s.labels : ev_.drop_name(s.labels), *v, ts_});
    }
    return Value::of_vector(std::move(out));
  }

  std::optional<double> range_value(Points p, const Evaluator::RangeArg& r, double param) {
    if (f_ == "rate") return extrapolated_rate(p, r.range_start, r.range_end, true, true);
    if (f_ == "increase") return extrapolated_rate(p, r.range_start, r.range_end, true, false);
    if (f_ == "delta") return extrapolated_rate(p, r.range_start, r.range_end, false, false);
    if (f_ == "irate") return instant_value(p, true);
    if (f_ == "idelta") return instant_value(p, false);
    if (f_ == "deriv") {
      if (p.size() < 2) return std::nullopt;
      return linear_regression(p, p.front().t).first;
    }
    if (f_ == "predict_linear") {
      if (p.size() < 2) return std::nullopt;
      const auto [slope, intercept] = linear_regression(p, ts_);
      return slope * param + intercept;
    }
    if (f_ == "quantile_over_time") {
      std::vector<double> values;
      for (const Sample& s : p) values.push_back(s.v);
      return quantile(param, values);
    }
    return over_time(f_, p);
  }

  Value date() {
    Vector v = node_.children.empty() ? Vector{{ev_.intern({}), static_cast<double>(ts_) / 1000, ts_}} : vector(0);
    for (Element& e : v) {
      e.v = date_part(f_, e.v);
      e.labels = ev_.drop_name(e.labels);
      e.t = ts_;
    }
    return Value::of_vector(std::move(v));
  }

  Value timestamp() {
    // A selector's samples keep their own time; anything else is "now".
    const Node& a = unwrap_parens(arg(0));
    Vector v = a.kind == Node::Kind::VectorSelector ? ev_.select_instant(a, ts_) : vector(0);
    for (Element& e : v) {
      e.v = static_cast<double>(a.kind == Node::Kind::VectorSelector ? e.t : ts_) / 1000;
      e.labels = ev_.drop_name(e.labels);
      e.t = ts_;
    }
    return Value::of_vector(std::move(v));
  }

  Value clamp() {
    Vector v = vector(0);
    double lo = -HUGE_VAL, hi = HUGE_VAL;
    if (f_ == "clamp") {
      lo = scalar(1);
      hi = scalar(2);
      if (hi < lo) return Value::of_vector({});
    } else if (f_ == "clamp_min") {
      lo = scalar(1);
    } else {
      hi = scalar(1);
    }
    for (Element& e : v) {
      if (f_ == "clamp") e.v = go_max(lo, go_min(hi, e.v));
      if (f_ == "clamp_min") e.v = go_max(lo, e.v);
      if (f_ == "clamp_max") e.v = go_min(hi, e.v);
      e.labels = ev_.drop_name(e.labels);
      e.t = ts_;
    }
    return Value::of_vector(std::move(v));
  }

  Value sort() {
    Vector v = vector(0);
    const bool desc = f_ == "sort_desc";
    std::stable_sort(v.begin(), v.end(), [desc](const Element& a, const Element& b) {
      if (std::isnan(a.v)) return false;  // NaN last, either way
      if (std::isnan(b.v)) return true;
      return desc ? a.v > b.v : a.v < b.v;
    });
    return Value::of_vector(std::move(v));
  }

  // absent(): the labels the selector pins with '=' (each at most once).
  Value absent(bool is_absent) {
    if (!is_absent) return Value::of_vector({});
    const Node* a = &unwrap_parens(arg(0));
    if (a->kind == Node::Kind::MatrixSelector) a = &a->child();
    Labels labels;
    if (a->kind == Node::Kind::VectorSelector) {
      std::vector<std::string> drop;
      for (const LabelMatcher::Term& t : a->terms) {
        if (t.label == kMetricName) continue;
        if (t.op == LabelMatcher::Op::Equal && get(labels, t.label).empty() &&
            std::none_of(labels.begin(), labels.end(), [&](const Label& l) { return l.name == t.label; })) {
          labels.push_back({t.label, t.value});
        } else {
          drop.push_back(t.label);
        }
      }
      std::erase_if(labels, [&](const Label& l) {
        return l.value.empty() || std::find(drop.begin(), drop.end(), l.name) != drop.end();
      });
    }
    return Value::of_vector({{ev_.intern(std::move(labels)), 1.0, ts_}});
  }

  Value label_replace() {
    Vector v = vector(0);
    const std::string dst = string(1), replacement = string(2), src = string(3), pattern = string(4);
    const Regex re("^(?:" + pattern + ")$");
    if (!prometheus::is_valid_label_name(dst)) {
      throw QueryError(ErrorType::Execution, "invalid destination label name in label_replace(): " + dst);
    }
    for (Element& e : v) {
      const auto groups = re.match(std::string(get(*e.labels, src)));
      if (!groups) continue;
      Labels labels = *e.labels;
      set_label(labels, dst, expand(replacement, *groups));
      e.labels = ev_.intern(std::move(labels));
      e.t = ts_;
    }
    return Value::of_vector(std::move(v));
  }

  Value label_join() {
    Vector v = vector(0);
    const std::string dst = string(1), sep = string(2);
    std::vector<std::string> sources;
    for (std::size_t i = 3; i < node_.children.size(); ++i) sources.push_back(string(i));
    if (!prometheus::is_valid_label_name(dst)) {
      throw QueryError(ErrorType::Execution, "invalid destination label name in label_join(): " + dst);
    }
    for (Element& e : v) {
      std::string joined;
      for (std::size_t i = 0; i < sources.size(); ++i) {
        if (i > 0) joined += sep;
        joined += get(*e.labels, sources[i]);
      }
      Labels labels = *e.labels;
      set_label(labels, dst, joined);
      e.labels = ev_.intern(std::move(labels));
      e.t = ts_;
    }
    return Value::of_vector(std::move(v));
  }

  Value histogram_quantile();

  Evaluator& ev_;
  const Node& node_;
  Millis ts_;
  std::string_view f_;
};

// ---- histogram_quantile over classic _bucket series ----------------------------------

struct Bucket {
  double upper;
  double count;
};

double bucket_quantile(double q, std::vector<Bucket> buckets) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -HUGE_VAL;
  if (q > 1) return HUGE_VAL;
  std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (buckets.empty() || !(std::isinf(buckets.back().upper) && buckets.back().upper > 0)) return kNaN;
  // Buckets with the same bound are one bucket.
  std::vector<Bucket> merged;
  for (const Bucket& b : buckets) {
    if (!merged.empty() && merged.back().upper == b.upper) {
      merged.back().count += b.count;
    } else {
      merged.push_back(b);
    }
  }
  // Counts that go down (scraped at different times) are raised to the previous one.
  double max = -HUGE_VAL;
  for (Bucket& b : merged) {
    if (b.count > max) {
      max = b.count;
    } else if (b.count < max) {
      b.count = max;
    }
  }
  if (merged.size() < 2) return kNaN;
  const double observations = merged.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  std::size_t b = 0;
  while (b < merged.size() - 1 && !(merged[b].count >= rank)) ++b;
  if (b == merged.size() - 1) return merged[merged.size() - 2].upper;
  if (b == 0 && merged[0].upper <= 0) return merged[0].upper;
  double start = 0;
  const double end = merged[b].upper;
  double count = merged[b].count;
  if (b > 0) {
    start = merged[b - 1].upper;
    count -= merged[b - 1].count;
    rank -= merged[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

Value Call::histogram_quantile() {
  const double q = scalar(0);
  const Vector v = vector(1);
  std::map<std::string, std::pair<LabelsPtr, std::vector<Bucket>>> groups;
  std::vector<std::string> order;
  static const std::vector<std::string> kLe = {"le"};
  for (const Element& e : v) {
    const std::string_view le = get(*e.labels, "le");
    if (le.empty()) continue;
    char* end = nullptr;
    const std::string text(le);
    const double upper = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) continue;  // not a number: not a bucket
    const std::string key = key_ignoring(*e.labels, kLe);
    auto [it, fresh] = groups.try_emplace(key);
    if (fresh) {
      Labels labels = without_name(*e.labels);
      set_label(labels, "le", "");
      it->second.first = ev_.intern(std::move(labels));
      order.push_back(key);
    }
    it->second.second.push_back({upper, e.v});
  }
  Vector out;
  for (const std::string& key : order) {
    const auto& [labels, buckets] = groups.at(key);
    out.push_back({labels, bucket_quantile(q, buckets), ts_});
  }
  return Value::of_vector(std::move(out));
}

}  // namespace

double quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return kNaN;
  if (q < 0) return -HUGE_VAL;
  if (q > 1) return HUGE_VAL;
  // Go's sort.Float64s order: NaN first.
  std::sort(values.begin(), values.end(), [](double a, double b) { return a < b || (std::isnan(a) && !std::isnan(b)); });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<std::size_t>(lower)] * (1 - weight) + values[static_cast<std::size_t>(upper)] * weight;
}

Value call_function(Evaluator& ev, const Node& call, Millis ts) { return Call(ev, call, ts).run(); }

}  // namespace rondo::promql::detail
