// What the evaluator passes between nodes at one evaluation time.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "labels.hpp"
#include "rondo/promql.hpp"

namespace rondo::promql::detail {

struct Element {
  LabelsPtr labels;
  double v;
  Millis t;  // the sample's own time for a selector (timestamp() needs it); else the evaluation time
};
using Vector = std::vector<Element>;

struct RangeSeries {
  LabelsPtr labels;
  std::span<const Sample> points;  // into the selector's cache or the subquery's storage
};

struct Matrix {
  std::vector<RangeSeries> series;
  std::shared_ptr<std::vector<std::vector<Sample>>> storage;  // a subquery's points
};

struct Value {
  ValueType type = ValueType::Vector;
  double scalar = 0;
  Vector vector;
  Matrix matrix;
  std::string string;

  static Value of_scalar(double v) {
    Value out;
    out.type = ValueType::Scalar;
    out.scalar = v;
    return out;
  }
  static Value of_vector(Vector v) {
    Value out;
    out.vector = std::move(v);
    return out;
  }
};

}  // namespace rondo::promql::detail
