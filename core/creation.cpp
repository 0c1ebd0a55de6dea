#include <xgrad/core/creation.hpp>

#include <cmath>
#include <fmt/format.h>

namespace xg {

Tensor zeros(const Shape& shape, DType dtype) { return Tensor::empty(shape, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::uninitialized(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar(double value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }

Tensor arange(double start, double end, double step, DType dtype) {
  if (step == 0.0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    throw Error(fmt::format("arange: invalid range start={} end={} step={}", start, end, step));
  const double count = std::ceil((end - start) / step);
  const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = start + static_cast<double>(i) * step;
  return Tensor::from_vector(v, {n}, dtype);
}

Tensor randn(const Shape& shape, DType dtype, Generator& gen) {
  Tensor t = Tensor::uninitialized(shape, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(gen.normal());
  });
  return t;
}

Tensor uniform(const Shape& shape, double lo, double hi, DType dtype, Generator& gen) {
  if (!(lo <= hi)) throw Error(fmt::format("uniform: lo={} is above hi={}", lo, hi));
  Tensor t = Tensor::uninitialized(shape, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(gen.uniform(lo, hi));
  });
  return t;
}

Tensor tensor(const std::vector<double>& values, const Shape& shape, DType dtype) {
  return Tensor::from_vector(values, shape, dtype);
}

}  // namespace xg
