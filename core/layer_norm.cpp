#include "core/layer_norm.hpp"

#include <cmath>

#include "core/autograd.hpp"
#include "core/detail/checks.hpp"
#include "core/detail/parallel.hpp"

namespace xg {

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  if (x.dim() < 1) throw ShapeError("layer_norm: input must have at least one axis");
  const int64_t c = x.shape().back();
  const int64_t rows = x.numel() / std::max<int64_t>(c, 1);
  for (const Tensor* p : {&weight, &bias})
    if (p->defined()) {
      if (p->shape() != Shape{c})
        throw ShapeError(fmt::format("layer_norm: parameter of shape {} for input {} (needs [{}])",
                                     shape_str(p->shape()), shape_str(x.shape()), c));
      check_same_dtype("layer_norm", x, *p);
    }
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  // (rows) each: saved for the backward
  auto mean = std::make_shared<std::vector<double>>(static_cast<std::size_t>(rows));
  auto rstd = std::make_shared<std::vector<double>>(static_cast<std::size_t>(rows));
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = out.data<T>();
    XG_PRAGMA(omp parallel for if (x.numel() > kParallelGrain) schedule(static))
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * c;
      T* yr = py + r * c;
      double m = 0, v = 0;
      for (int64_t j = 0; j < c; ++j) m += xr[j];
      m /= static_cast<double>(c);
      for (int64_t j = 0; j < c; ++j) v += (xr[j] - m) * (xr[j] - m);
      v /= static_cast<double>(c);
      const double rs = 1.0 / std::sqrt(v + eps);
      (*mean)[r] = m;
      (*rstd)[r] = rs;
      for (int64_t j = 0; j < c; ++j) {
        const T xhat = static_cast<T>((xr[j] - m) * rs);
        yr[j] = (pw ? pw[j] : T(1)) * xhat + (pb ? pb[j] : T(0));
      }
    }
  });
  const Tensor xd = x.detach(), wd = weight.defined() ? weight.detach() : Tensor();
  return record("layer_norm", out, {x, weight, bias}, [=](const Tensor& g, GradSink& sink) {
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = xd.data<T>();
      const T* pw = wd.defined() ? wd.data<T>() : nullptr;
      const T* pg = g.data<T>();
      T* pgw = sink.needs(1) ? sink.buffer(1).data<T>() : nullptr;
      T* pgb = sink.needs(2) ? sink.buffer(2).data<T>() : nullptr;
      // Parameter gradients sum over rows: serial, to stay deterministic.
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = px + r * c;
        const T* gr = pg + r * c;
        for (int64_t j = 0; j < c; ++j) {
          if (pgw) pgw[j] += gr[j] * static_cast<T>((xr[j] - (*mean)[r]) * (*rstd)[r]);
          if (pgb) pgb[j] += gr[j];
        }
      }
      if (!sink.needs(0)) return;
      Tensor gx = Tensor::uninitialized(xd.shape(), g.dtype());
      T* pgx = gx.data<T>();
      // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = g * w
      XG_PRAGMA(omp parallel for if (g.numel() > kParallelGrain) schedule(static))
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = px + r * c;
        const T* gr = pg + r * c;
        const double m = (*mean)[r], rs = (*rstd)[r];
        double sum_dxhat = 0, sum_dxhat_xhat = 0;
        for (int64_t j = 0; j < c; ++j) {
          const double dxhat = gr[j] * (pw ? pw[j] : T(1));
          sum_dxhat += dxhat;
          sum_dxhat_xhat += dxhat * (xr[j] - m) * rs;
        }
        const double a = sum_dxhat / static_cast<double>(c), b = sum_dxhat_xhat / static_cast<double>(c);
        for (int64_t j = 0; j < c; ++j) {
          const double dxhat = gr[j] * (pw ? pw[j] : T(1));
          pgx[r * c + j] = static_cast<T>(rs * (dxhat - a - (xr[j] - m) * rs * b));
        }
      }
      sink.add(0, std::move(gx));
    });
  });
}

}  // namespace xg
