#pragma once
// Internal: small loops shared by several ops.
#include <cmath>
#include <cstring>

#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/tensor.hpp>

namespace xg::kernels {

// dst += src, element-wise over n elements.
template <class T>
inline void add_into(T* dst, const T* src, int64_t n) {
  XG_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// dst += src for two tensors of one shape and dtype.
inline void add_into(Tensor& dst, const Tensor& src) {
  dispatch(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    add_into(dst.data<T>(), src.data<T>(), dst.numel());
  });
}

// a + b into a new tensor, for two tensors of one shape and dtype (the same sums as add_into).
inline Tensor sum_of(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::uninitialized(a.shape(), a.dtype());
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* po = out.data<T>();
    const int64_t n = a.numel();
    XG_PARALLEL_FOR(n)
    for (int64_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i];
  });
  return out;
}

template <class T>
inline bool all_finite(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

inline bool all_finite(const Tensor& t) {
  return dispatch(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return all_finite(t.data<T>(), t.numel());
  });
}

}  // namespace xg::kernels
