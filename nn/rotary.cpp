#include <xgrad/nn/rotary.hpp>

#include <cmath>
#include <fmt/format.h>
#include <vector>

#include <xgrad/core/ops.hpp>

namespace xg::nn {

Tensor apply_rotary(const Tensor& x, int64_t offset, double base) {
  if (x.dim() < 2 || x.shape().back() % 2 != 0 || offset < 0)
    throw ShapeError(fmt::format("apply_rotary: input {} at offset {} (needs (..., T, d) with even d)", shape_str(x.shape()), offset));
  const int64_t T = x.shape()[x.dim() - 2], half = x.shape().back() / 2;
  std::vector<double> cos_table(static_cast<std::size_t>(T * half)), sin_table(cos_table.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(offset + t) * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(2 * half));
      cos_table[static_cast<std::size_t>(t * half + i)] = std::cos(angle);
      sin_table[static_cast<std::size_t>(t * half + i)] = std::sin(angle);
    }
  const Tensor c = Tensor::from_vector(cos_table, {T, half}, x.dtype());  // broadcasts over the leading axes
  const Tensor s = Tensor::from_vector(sin_table, {T, half}, x.dtype());
  const int64_t last = x.dim() - 1;
  const Tensor x1 = narrow(x, last, 0, half), x2 = narrow(x, last, half, half);
  return concat({x1 * c - x2 * s, x2 * c + x1 * s}, last);
}

}  // namespace xg::nn
