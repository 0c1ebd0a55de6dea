#pragma once
// Internal: argument checks shared by the ops.
#include <fmt/format.h>

#include <xgrad/core/tensor.hpp>

namespace xg {

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);

// Arithmetic takes float32 and float64 only; ids and masks (int64, bool) are converted first.
inline void check_floating(const char* op, const Tensor& x) {
  if (!is_floating_point(x.dtype()))
    throw DTypeError(fmt::format("{}: takes float32 or float64 tensors, got {} {} (convert with "
                                 ".to(DType::Float32))", op, dtype_name(x.dtype()), shape_str(x.shape())));
}

// The values of an id, index or target tensor, which must be int64 (DTypeError naming the op and
// the argument otherwise).
inline std::vector<int64_t> int64_values(const char* op, const char* what, const Tensor& t) {
  if (t.dtype() != DType::Int64)
    throw DTypeError(fmt::format("{}: {} must be an int64 tensor, got {} {} (make it with Tensor::from_ints or "
                                 ".to(DType::Int64))", op, what, dtype_name(t.dtype()), shape_str(t.shape())));
  return t.to_ints();
}

// Class targets for rows of `input` (..., C): int64 of input's shape without its last axis.
inline std::vector<int64_t> target_values(const char* op, const Tensor& targets, const char* input_name,
                                          const Tensor& input) {
  if (input.dim() >= 1 && targets.shape() != Shape(input.shape().begin(), input.shape().end() - 1))
    throw ShapeError(fmt::format("{}: targets {} for {} {} (targets need the shape of the {} without its last axis)", op,
                                 shape_str(targets.shape()), input_name, shape_str(input.shape()), input_name));
  return int64_values(op, "targets", targets);
}

// Maps a possibly negative axis into [0, ndim); IndexError names the op otherwise.
inline int64_t normalize_axis(const char* op, int64_t axis, int64_t ndim) {
  if (axis < -ndim || axis >= ndim)
    throw IndexError(fmt::format("{}: axis {} is out of range for a {}-d tensor", op, axis, ndim));
  return axis < 0 ? axis + ndim : axis;
}

// An index into [0, bound) at `position` of an index list; IndexError names the op otherwise.
inline void check_index(const char* op, int64_t index, int64_t bound, std::size_t position) {
  if (index < 0 || index >= bound)
    throw IndexError(fmt::format("{}: index {} at position {} is out of range [0, {})", op, index,
                                 position, bound));
}

// Splits `shape` around `axis` into (outer, n, inner) so a kernel can walk one axis.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
inline AxisSplit split_at(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < axis) s.outer *= shape[d];
    else if (d == axis) s.n = shape[d];
    else s.inner *= shape[d];
  }
  return s;
}

}  // namespace xg
