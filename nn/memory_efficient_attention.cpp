#include <xgrad/nn/memory_efficient_attention.hpp>

#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <vector>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/kernels.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/nn/detail/key_padding.hpp>
#include <xgrad/nn/detail/memory_efficient_kernels.hpp>

namespace xg::nn {

namespace {
using detail::AttentionDims;

// One (batch, head) per task; each thread keeps its own tile scratch.
template <class T, class Range>
void for_each_head(const AttentionDims& n, Range range) {
  XG_PRAGMA(omp parallel if (n.BH * n.Tq * n.Tk > kParallelGrain))
  {
    std::vector<T> scratch(static_cast<std::size_t>(detail::scratch_elements(n)));
    XG_PRAGMA(omp for schedule(dynamic))
    for (int64_t bh = 0; bh < n.BH; ++bh) range(bh, bh + 1, scratch.data());
  }
}

template <class T>
void forward_kernel(const AttentionDims& n, bool causal, const T* q, const T* k, const T* v, const T* mask, T* out, T* lse) {
  const bool avx2 = detail::use_avx2_kernels();
  for_each_head<T>(n, [&](int64_t b0, int64_t b1, T* scratch) {
    (avx2 ? detail::avx2::forward_range<T> : detail::baseline::forward_range<T>)(n, causal, q, k, v, mask, out, lse, b0, b1, scratch);
  });
}

template <class T>
void backward_kernel(const AttentionDims& n, bool causal, const T* q, const T* k, const T* v, const T* mask, const T* out,
                     const T* lse, const T* g, T* dq, T* dk, T* dv) {
  const bool avx2 = detail::use_avx2_kernels();
  for_each_head<T>(n, [&](int64_t b0, int64_t b1, T* scratch) {
    (avx2 ? detail::avx2::backward_range<T> : detail::baseline::backward_range<T>)(n, causal, q, k, v, mask, out, lse, g, dq,
                                                                                   dk, dv, b0, b1, scratch);
  });
}
}  // namespace

Tensor memory_efficient_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_padding_mask,
                                  bool causal) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || k.shape()[0] != q.shape()[0] || k.shape()[1] != q.shape()[1] ||
      k.shape()[3] != q.shape()[3] || v.shape()[0] != q.shape()[0] || v.shape()[1] != q.shape()[1] ||
      v.shape()[2] != k.shape()[2])
    throw ShapeError(fmt::format("memory_efficient_attention: q {}, k {}, v {} (need (B, H, Tq, d), (B, H, Tk, d), (B, H, Tk, dv))",
                                 shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape())));
  check_same_dtype("memory_efficient_attention", q, k);
  check_same_dtype("memory_efficient_attention", q, v);
  const AttentionDims n{q.shape()[0] * q.shape()[1], q.shape()[1], q.shape()[2], k.shape()[2], q.shape()[3], v.shape()[3]};
  const Tensor mask = detail::checked_key_padding("memory_efficient_attention", key_padding_mask, k, q.shape()[0], n.Tk, q.dtype());
  Tensor out = Tensor::uninitialized({q.shape()[0], q.shape()[1], n.Tq, n.dv}, q.dtype());
  Tensor lse = Tensor::uninitialized({n.BH, n.Tq}, q.dtype());  // log Σ exp(scores) per query row
  dispatch(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    forward_kernel<T>(n, causal, q.data<T>(), k.data<T>(), v.data<T>(), mask.defined() ? mask.data<T>() : nullptr,
                      out.data<T>(), lse.data<T>());
  });
  const Tensor qd = q.detach(), kd = k.detach(), vd = v.detach(), od = out.detach();
  return record("memory_efficient_attention", out, {q, k, v},
                [qd, kd, vd, od, lse, mask, n, causal](const Tensor& g, GradSink& sink) {
                  Tensor dq = Tensor::empty(qd.shape(), g.dtype()), dk = Tensor::empty(kd.shape(), g.dtype()),
                         dv = Tensor::empty(vd.shape(), g.dtype());
                  dispatch(g.dtype(), [&](auto tag) {
                    using T = typename decltype(tag)::type;
                    backward_kernel<T>(n, causal, qd.data<T>(), kd.data<T>(), vd.data<T>(),
                                       mask.defined() ? mask.data<T>() : nullptr, od.data<T>(), lse.data<T>(),
                                       g.data<T>(), dq.data<T>(), dk.data<T>(), dv.data<T>());
                  });
                  if (sink.needs(0)) sink.add(0, std::move(dq));
                  if (sink.needs(1)) sink.add(1, std::move(dk));
                  if (sink.needs(2)) sink.add(2, std::move(dv));
                });
}

}  // namespace xg::nn
