#include <xgrad/nn/attention_ops.hpp>

#include <fmt/format.h>
#include <vector>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/blas.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/detail/vecmath.hpp>
#include <xgrad/nn/detail/layer_kernels.hpp>

namespace xg::nn {

Tensor additive_scores(const Tensor& q, const Tensor& k, const Tensor& v) {
  const int64_t A = q.dim() == 2 ? q.shape()[1] : -1;
  if (q.dim() != 2 || k.dim() != 3 || k.shape()[0] != q.shape()[0] || k.shape()[2] != A || v.numel() != A)
    throw ShapeError(fmt::format("additive_scores: q {}, k {}, v {} (need (B, A), (B, S, A), (A))", shape_str(q.shape()),
                                 shape_str(k.shape()), shape_str(v.shape())));
  check_same_dtype("additive_scores", q, k);
  check_same_dtype("additive_scores", q, v);
  const int64_t B = k.shape()[0], S = k.shape()[1];
  Tensor out = Tensor::uninitialized({B, S}, q.dtype());
  Tensor energy = Tensor::uninitialized(k.shape(), q.dtype());  // (B, S, A) tanh values, saved for the backward
  dispatch(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const detail::LayerKernels<T>& kernels = detail::layer_kernels<T>();  // looked up once, not per row
    const T* pq = q.data<T>();
    const T* pk = k.data<T>();
    const T* pv = v.data<T>();
    T* pe = energy.data<T>();
    T* po = out.data<T>();
    XG_PRAGMA(omp parallel for if (B * S * A > kParallelGrain) schedule(static))
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s)
        po[b * S + s] = kernels.additive_energy(pq + b * A, pk + (b * S + s) * A, pv, pe + (b * S + s) * A, A);
  });
  const Tensor vd = v.detach();
  return record("additive_scores", out, {q, k, v}, [energy, vd, B, S, A](const Tensor& g, GradSink& sink) {
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const detail::LayerKernels<T>& kernels = detail::layer_kernels<T>();  // looked up once, not per row
      const T* pg = g.data<T>();
      const T* pe = energy.data<T>();
      const T* pv = vd.data<T>();
      T* dq = sink.needs(0) ? sink.buffer(0).data<T>() : nullptr;
      // Into the keys' gradient buffer itself: a decoder adds one (B, S, A) gradient per step to
      // the same keys, and a fresh tensor per step cost an allocation and an extra pass each.
      T* pdk = sink.needs(1) ? sink.buffer(1).data<T>() : nullptr;
      XG_PRAGMA(omp parallel for if (B * S * A > kParallelGrain) schedule(static))
      for (int64_t b = 0; b < B; ++b)
        for (int64_t s = 0; s < S; ++s)  // through the tanh
          kernels.additive_energy_backward(pg[b * S + s], pv, pe + (b * S + s) * A, dq ? dq + b * A : nullptr,
                                            pdk ? pdk + (b * S + s) * A : nullptr, A);
      if (sink.needs(2))  // dv (1, A) += g (1, B·S) · e (B·S, A): a gemv, one thread, fixed sum order
        blas::gemm<T>(false, false, 1, A, B * S, T(1), pg, B * S, pe, A, T(1), sink.buffer(2).data<T>(), A);
    });
  });
}

Tensor weighted_sum(const Tensor& w, const Tensor& values) {
  if (w.dim() != 2 || values.dim() != 3 || values.shape()[0] != w.shape()[0] || values.shape()[1] != w.shape()[1])
    throw ShapeError(fmt::format("weighted_sum: weights {} and values {} (need (B, S) and (B, S, D))",
                                 shape_str(w.shape()), shape_str(values.shape())));
  check_same_dtype("weighted_sum", w, values);
  const int64_t B = values.shape()[0], S = values.shape()[1], D = values.shape()[2];
  Tensor out = Tensor::empty({B, D}, w.dtype());
  dispatch(w.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const vecmath::Kernels<T>& kernels = vecmath::best<T>();  // looked up once, not per row
    const T* pw = w.data<T>();
    const T* pv = values.data<T>();
    T* po = out.data<T>();
    XG_PRAGMA(omp parallel for if (B * S * D > kParallelGrain) schedule(static))
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s) {
        kernels.axpy(pw[b * S + s], pv + (b * S + s) * D, po + b * D, D);
      }
  });
  const Tensor wd = w.detach(), vd = values.detach();
  return record("weighted_sum", out, {w, values}, [wd, vd, B, S, D](const Tensor& g, GradSink& sink) {
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const vecmath::Kernels<T>& kernels = vecmath::best<T>();  // looked up once, not per row
      const T* pg = g.data<T>();
      const T* pw = wd.data<T>();
      const T* pv = vd.data<T>();
      T* dw = sink.needs(0) ? sink.buffer(0).data<T>() : nullptr;
      T* dv = sink.needs(1) ? sink.buffer(1).data<T>() : nullptr;
      XG_PRAGMA(omp parallel for if (B * S * D > kParallelGrain) schedule(static))
      for (int64_t b = 0; b < B; ++b)
        for (int64_t s = 0; s < S; ++s) {
          const T* vr = pv + (b * S + s) * D;
          const T* gr = pg + b * D;
          if (dw && dv) dw[b * S + s] += kernels.dot_and_axpy(gr, vr, pw[b * S + s], dv + (b * S + s) * D, D);
          else if (dw) dw[b * S + s] += kernels.dot(gr, vr, D);
          else if (dv) kernels.axpy(pw[b * S + s], gr, dv + (b * S + s) * D, D);
        }
    });
  });
}

}  // namespace xg::nn
