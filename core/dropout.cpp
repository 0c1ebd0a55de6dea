#include <xgrad/core/dropout.hpp>

#include <fmt/format.h>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/creation.hpp>
#include <xgrad/core/elementwise.hpp>

namespace xg {

Tensor dropout_multipliers(const Shape& shape, double p, DType dtype, Generator& gen) {
  if (!(p >= 0.0 && p < 1.0)) throw Error(fmt::format("dropout_multipliers: p={} is outside [0, 1)", p));
  Tensor scale = Tensor::uninitialized(shape, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T keep = static_cast<T>(1.0 / (1.0 - p));
    T* ps = scale.data<T>();
    for (int64_t i = 0, n = scale.numel(); i < n; ++i) ps[i] = gen.uniform() < p ? T(0) : keep;
  });
  return scale;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  check_floating("dropout", x);
  if (!(p >= 0.0 && p <= 1.0)) throw Error(fmt::format("dropout: p={} is outside [0, 1]", p));
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  const Tensor scale = dropout_multipliers(x.shape(), p, x.dtype(), gen);  // saved for the backward
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* ps = scale.data<T>();
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) po[i] = px[i] * ps[i];
  });
  return record("dropout", out, {x}, [scale](const Tensor& g, GradSink& sink) {
    Tensor gx = Tensor::uninitialized(g.shape(), g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();
      const T* ps = scale.data<T>();
      T* pgx = gx.data<T>();
      for (int64_t i = 0, n = g.numel(); i < n; ++i) pgx[i] = pg[i] * ps[i];
    });
    sink.add(0, std::move(gx));
  });
}

}  // namespace xg
