#pragma once
// Internal: numpy broadcasting. Shapes align on the right; a dimension of 1 (or a missing one)
// stretches to the other operand's size.
#include <fmt/format.h>

#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/tensor.hpp>

namespace xg {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

// Strides of `in` expressed in the index space of `out`, 0 along broadcast dimensions.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Calls fn(out_offset, a_offset, b_offset) for every element of `out`, rows in parallel.
template <class Fn>
void for_each_broadcast(const Shape& out, const std::vector<int64_t>& sa,
                        const std::vector<int64_t>& sb, Fn&& fn) {
  const int64_t nd = static_cast<int64_t>(out.size());
  if (nd == 0) {
    fn(0, 0, 0);
    return;
  }
  const int64_t inner = out[nd - 1];
  const int64_t rows = inner == 0 ? 0 : numel_of(out) / inner;
  const int64_t ia = sa[nd - 1], ib = sb[nd - 1];
  XG_PRAGMA(omp parallel for if (rows * inner > kParallelGrain) schedule(static))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, oa = 0, ob = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      const int64_t idx = rem % out[d];
      rem /= out[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    const int64_t base = r * inner;
    for (int64_t j = 0; j < inner; ++j) fn(base + j, oa + j * ia, ob + j * ib);
  }
}

// Sums a gradient of shape `from` down to the broadcast operand's shape `to`.
Tensor sum_to(const Tensor& g, const Shape& to);

}  // namespace xg
