#include <xgrad/core/softmax.hpp>

#include <cmath>
#include <limits>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/detail/vecmath.hpp>

namespace xg {

namespace {
// Walks every softmax row (stride `inner` between its n elements).
template <class Fn>
void for_each_row(const AxisSplit& s, Fn&& fn) {
  const int64_t rows = s.outer * s.inner;
  XG_PRAGMA(omp parallel for if (rows * s.n > kParallelGrain) schedule(static))
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t o = r / s.inner, i = r % s.inner;
    fn(o * s.n * s.inner + i);
  }
}

template <class T>
T row_max(const T* x, int64_t n, int64_t stride) {
  // Not std::max, whose reference arguments had GCC keep m on the stack in one build (a
  // store-forwarding stall per entry: 3% of a GRU greedy decode). A NaN entry leaves m as it is.
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < n; ++k) {
    const T v = x[k * stride];
    m = v > m ? v : m;
  }
  return m;
}
// The forward of both: softmax, or its logarithm, of every row of x along `axis`.
struct SoftmaxForward {
  AxisSplit split;
  Tensor out;
};
SoftmaxForward softmax_forward(const char* op, const Tensor& x, int64_t axis, bool log) {
  check_floating(op, x);
  axis = normalize_axis(op, axis, std::max<int64_t>(x.dim(), 1));
  const AxisSplit s = x.dim() == 0 ? AxisSplit{} : split_at(x.shape(), axis);
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const vecmath::Kernels<T>& kernels = vecmath::best<T>();  // looked up once, not per row
    const T* px = x.data<T>();
    T* py = out.data<T>();
    const int64_t st = s.inner;
    const T ninf = -std::numeric_limits<T>::infinity();
    for_each_row(s, [&](int64_t base) {
      const T* xr = px + base;
      T* yr = py + base;
      const T m = row_max(xr, s.n, st);
      if (m == ninf) {  // fully masked row: defined as softmax 0, log-softmax -inf
        for (int64_t k = 0; k < s.n; ++k) yr[k * st] = log ? ninf : T(0);
        return;
      }
      T total = 0;
      if (st == 1) {  // the usual last axis: one vectorised exp over the row (scalar std::exp was
                      // 3% of a GRU greedy decode, its log-probabilities over the vocabulary)
        for (int64_t k = 0; k < s.n; ++k) yr[k] = xr[k] - m;
        kernels.exp(yr, yr, s.n);
        for (int64_t k = 0; k < s.n; ++k) total += yr[k];
      } else {
        for (int64_t k = 0; k < s.n; ++k) total += (yr[k * st] = std::exp(xr[k * st] - m));
      }
      if (log) {
        const T log_total = std::log(total);  // subtract m first: x - (m + log_total) loses digits
        for (int64_t k = 0; k < s.n; ++k) yr[k * st] = (xr[k * st] - m) - log_total;
      } else {
        const T inv = T(1) / total;
        for (int64_t k = 0; k < s.n; ++k) yr[k * st] *= inv;
      }
    });
  });
  return {s, out};
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) {
  const SoftmaxForward f = softmax_forward("softmax", x, axis, false);
  const AxisSplit s = f.split;
  const Tensor out = f.out;
  const Tensor yd = out.detach();
  return record("softmax", out, {x}, [yd, s](const Tensor& g, GradSink& sink) {
    Tensor gx = Tensor::uninitialized(g.shape(), g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* py = yd.data<T>();
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      const int64_t st = s.inner;
      for_each_row(s, [&](int64_t base) {  // dx = y * (g - <g, y>)
        T dot = 0;
        for (int64_t k = 0; k < s.n; ++k) dot += pg[base + k * st] * py[base + k * st];
        for (int64_t k = 0; k < s.n; ++k)
          pgx[base + k * st] = py[base + k * st] * (pg[base + k * st] - dot);
      });
    });
    sink.add(0, std::move(gx));
  });
}

Tensor log_softmax(const Tensor& x, int64_t axis) {
  const SoftmaxForward f = softmax_forward("log_softmax", x, axis, true);
  const AxisSplit s = f.split;
  const Tensor out = f.out;
  const Tensor yd = out.detach();
  return record("log_softmax", out, {x}, [yd, s](const Tensor& g, GradSink& sink) {
    Tensor gx = Tensor::uninitialized(g.shape(), g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* py = yd.data<T>();
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      const int64_t st = s.inner;
      for_each_row(s, [&](int64_t base) {  // dx = g - softmax * sum(g)
        if (s.n > 0 && py[base] == -std::numeric_limits<T>::infinity() &&
            row_max(py + base, s.n, st) == -std::numeric_limits<T>::infinity()) {
          for (int64_t k = 0; k < s.n; ++k) pgx[base + k * st] = T(0);
          return;
        }
        T total = 0;
        for (int64_t k = 0; k < s.n; ++k) total += pg[base + k * st];
        for (int64_t k = 0; k < s.n; ++k)
          pgx[base + k * st] = pg[base + k * st] - std::exp(py[base + k * st]) * total;
      });
    });
    sink.add(0, std::move(gx));
  });
}

}  // namespace xg
