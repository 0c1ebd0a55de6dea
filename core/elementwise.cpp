#include <xgrad/core/elementwise.hpp>

#include <cmath>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/broadcast.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/creation.hpp>
#include <xgrad/core/detail/tensor_impl.hpp>
#include <xgrad/core/detail/vecmath.hpp>

namespace xg {

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw DTypeError(fmt::format("{}: operands have dtypes {} {} and {} {}", op,
                                 dtype_name(a.dtype()), shape_str(a.shape()),
                                 dtype_name(b.dtype()), shape_str(b.shape())));
}

namespace {

// Each binary rule: forward f, and the partial derivatives times the incoming gradient g.
// passes_a/passes_b: that partial derivative is g itself, so the backward hands g on (summed
// over broadcast axes) instead of computing it element by element into a new tensor.
struct AddOp {
  static constexpr bool uses_inputs = false, uses_output = false, passes_a = true, passes_b = true;
  template <class T> static T f(T a, T b) { return a + b; }
  template <class T> static T da(T, T, T, T g) { return g; }
  template <class T> static T db(T, T, T, T g) { return g; }
};
struct SubOp {
  static constexpr bool uses_inputs = false, uses_output = false, passes_a = true, passes_b = false;
  template <class T> static T f(T a, T b) { return a - b; }
  template <class T> static T da(T, T, T, T g) { return g; }
  template <class T> static T db(T, T, T, T g) { return -g; }
};
struct MulOp {
  static constexpr bool uses_inputs = true, uses_output = false, passes_a = false, passes_b = false;
  template <class T> static T f(T a, T b) { return a * b; }
  template <class T> static T da(T, T b, T, T g) { return g * b; }
  template <class T> static T db(T a, T, T, T g) { return g * a; }
};
struct DivOp {
  static constexpr bool uses_inputs = true, uses_output = false, passes_a = false, passes_b = false;
  template <class T> static T f(T a, T b) { return a / b; }
  template <class T> static T da(T, T b, T, T g) { return g / b; }
  template <class T> static T db(T a, T b, T, T g) { return -g * a / (b * b); }
};
struct PowOp {
  static constexpr bool uses_inputs = true, uses_output = true, passes_a = false, passes_b = false;
  template <class T> static T f(T a, T b) { return std::pow(a, b); }
  template <class T> static T da(T a, T b, T, T g) {
    return b == T(0) ? T(0) : g * b * std::pow(a, b - T(1));
  }
  template <class T> static T db(T a, T, T y, T g) { return a > T(0) ? g * y * std::log(a) : T(0); }
};

template <class Op>
Tensor binary(const char* name, const Tensor& a, const Tensor& b) {
  check_floating(name, a);
  check_floating(name, b);
  check_same_dtype(name, a, b);
  const Shape out_shape = broadcast_shapes(name, a.shape(), b.shape());
  Tensor out = Tensor::uninitialized(out_shape, a.dtype());
  const auto sa = broadcast_strides(a.shape(), out_shape);
  const auto sb = broadcast_strides(b.shape(), out_shape);
  const bool same = a.shape() == b.shape();
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    if (same) {
      const int64_t n = out.numel();
      XG_PARALLEL_FOR(n)
      for (int64_t i = 0; i < n; ++i) po[i] = Op::f(pa[i], pb[i]);
    } else {
      for_each_broadcast(out_shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
        po[i] = Op::f(pa[ia], pb[ib]);
      });
    }
  });
  const Tensor ad = Op::uses_inputs ? a.detach() : Tensor();
  const Tensor bd = Op::uses_inputs ? b.detach() : Tensor();
  const Tensor od = Op::uses_output ? out.detach() : Tensor();
  const Shape a_shape = a.shape(), b_shape = b.shape();
  return record(name, out, {a, b},
                [=](const Tensor& g, GradSink& sink) {
                  for (std::size_t side = 0; side < 2; ++side) {
                    if (!sink.needs(side)) continue;
                    if (side == 0 ? Op::passes_a : Op::passes_b) {  // a residual connection's two branches
                      sink.add(side, sum_to(g, side == 0 ? a_shape : b_shape));
                      continue;
                    }
                    Tensor full = Tensor::uninitialized(out_shape, g.dtype());
                    dispatch(g.dtype(), [&](auto tag) {
                      using T = typename decltype(tag)::type;
                      const T* pa = ad.defined() ? ad.data<T>() : nullptr;
                      const T* pb = bd.defined() ? bd.data<T>() : nullptr;
                      const T* py = od.defined() ? od.data<T>() : nullptr;
                      const T* pg = g.data<T>();
                      T* pf = full.data<T>();
                      for_each_broadcast(out_shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
                        const T av = pa ? pa[ia] : T(0), bv = pb ? pb[ib] : T(0);
                        const T yv = py ? py[i] : T(0);
                        pf[i] = side == 0 ? Op::da(av, bv, yv, pg[i]) : Op::db(av, bv, yv, pg[i]);
                      });
                    });
                    sink.add(side, sum_to(full, side == 0 ? a_shape : b_shape));
                  }
                });
}

// Each unary rule: forward f(x), and dx = g * f'(x) written with x and/or the output y.
template <class Op>
Tensor unary(const char* name, const Tensor& x, Op op) {
  check_floating(name, x);
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const int64_t n = x.numel();
    if constexpr (Op::vectorized) {
      // Blocks of 8192 so that large arrays still split across threads.
      const int64_t blocks = (n + 8191) / 8192;
      XG_PRAGMA(omp parallel for if (n > kParallelGrain) schedule(static))
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t start = blk * 8192;
        op.array(px + start, po + start, std::min<int64_t>(8192, n - start));
      }
    } else {
      XG_PARALLEL_FOR(n)
      for (int64_t i = 0; i < n; ++i) po[i] = op.f(px[i]);
    }
  });
  const Tensor xd = Op::uses_input ? x.detach() : Tensor();
  const Tensor yd = Op::uses_output ? out.detach() : Tensor();
  return record(name, out, {x}, [=](const Tensor& g, GradSink& sink) {
    Tensor gx = Tensor::uninitialized(g.shape(), g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = xd.defined() ? xd.data<T>() : nullptr;
      const T* py = yd.defined() ? yd.data<T>() : nullptr;
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      const int64_t n = g.numel();
      XG_PARALLEL_FOR(n)
      for (int64_t i = 0; i < n; ++i) pgx[i] = op.df(px ? px[i] : T(0), py ? py[i] : T(0), pg[i]);
    });
    sink.add(0, std::move(gx));
  });
}

struct NegOp {
  static constexpr bool uses_input = false, uses_output = false, vectorized = false;
  template <class T> T f(T x) const { return -x; }
  template <class T> T df(T, T, T g) const { return -g; }
};
// exp, tanh and sigmoid run over whole arrays in vecmath's kernels (their scalar formulas are
// the reference kernels, core/detail/vecmath_reference.cpp).
struct ExpOp {
  static constexpr bool uses_input = false, uses_output = true, vectorized = true;
  template <class T> void array(const T* x, T* y, int64_t n) const { vecmath::best<T>().exp(x, y, n); }
  template <class T> T df(T, T y, T g) const { return g * y; }
};
struct LogOp {
  static constexpr bool uses_input = true, uses_output = false, vectorized = false;
  template <class T> T f(T x) const { return std::log(x); }
  template <class T> T df(T x, T, T g) const { return g / x; }
};
struct SqrtOp {
  static constexpr bool uses_input = false, uses_output = true, vectorized = false;
  template <class T> T f(T x) const { return std::sqrt(x); }
  template <class T> T df(T, T y, T g) const { return g / (T(2) * y); }
};
struct AbsOp {
  static constexpr bool uses_input = true, uses_output = false, vectorized = false;
  template <class T> T f(T x) const { return std::abs(x); }
  template <class T> T df(T x, T, T g) const { return x > T(0) ? g : (x < T(0) ? -g : T(0)); }
};
struct TanhOp {
  static constexpr bool uses_input = false, uses_output = true, vectorized = true;
  template <class T> void array(const T* x, T* y, int64_t n) const { vecmath::best<T>().tanh(x, y, n); }
  template <class T> T df(T, T y, T g) const { return g * (T(1) - y * y); }
};
struct SigmoidOp {
  static constexpr bool uses_input = false, uses_output = true, vectorized = true;
  template <class T> void array(const T* x, T* y, int64_t n) const { vecmath::best<T>().sigmoid(x, y, n); }
  template <class T> T df(T, T y, T g) const { return g * y * (T(1) - y); }
};
struct ReluOp {
  static constexpr bool uses_input = false, uses_output = true, vectorized = false;
  template <class T> T f(T x) const { return x > T(0) ? x : T(0); }
  template <class T> T df(T, T y, T g) const { return y > T(0) ? g : T(0); }
};
struct GeluOp {
  static constexpr bool uses_input = true, uses_output = false, vectorized = false;
  template <class T> T f(T x) const { return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2))); }
  template <class T> T df(T x, T, T g) const {
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
    const T pdf = std::exp(T(-0.5) * x * x) * T(0.3989422804014327);  // 1/sqrt(2 pi)
    return g * (cdf + x * pdf);
  }
};
struct ClampOp {
  static constexpr bool uses_input = true, uses_output = false, vectorized = false;
  double lo, hi;
  template <class T> T f(T x) const { return std::min(std::max(x, T(lo)), T(hi)); }
  template <class T> T df(T x, T, T g) const { return x >= T(lo) && x <= T(hi) ? g : T(0); }
};
struct PowScalarOp {
  static constexpr bool uses_input = true, uses_output = false, vectorized = false;
  double p;
  template <class T> T f(T x) const { return std::pow(x, T(p)); }
  template <class T> T df(T x, T, T g) const {
    return p == 0.0 ? T(0) : g * T(p) * std::pow(x, T(p - 1.0));
  }
};
struct AffineOp {
  static constexpr bool uses_input = false, uses_output = false, vectorized = false;
  double scale, shift;
  template <class T> T f(T x) const { return T(scale) * x + T(shift); }
  template <class T> T df(T, T, T g) const { return T(scale) * g; }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary<AddOp>("add", a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary<SubOp>("sub", a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary<MulOp>("mul", a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary<DivOp>("div", a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary<PowOp>("pow", a, b); }
Tensor pow(const Tensor& a, double exponent) { return unary("pow", a, PowScalarOp{exponent}); }
Tensor neg(const Tensor& x) { return unary("neg", x, NegOp{}); }
Tensor exp(const Tensor& x) { return unary("exp", x, ExpOp{}); }
Tensor log(const Tensor& x) { return unary("log", x, LogOp{}); }
Tensor sqrt(const Tensor& x) { return unary("sqrt", x, SqrtOp{}); }
Tensor abs(const Tensor& x) { return unary("abs", x, AbsOp{}); }
Tensor tanh(const Tensor& x) { return unary("tanh", x, TanhOp{}); }
Tensor sigmoid(const Tensor& x) { return unary("sigmoid", x, SigmoidOp{}); }
Tensor relu(const Tensor& x) { return unary("relu", x, ReluOp{}); }
Tensor gelu(const Tensor& x) { return unary("gelu", x, GeluOp{}); }
Tensor clamp(const Tensor& x, double lo, double hi) {
  if (lo > hi) throw Error(fmt::format("clamp: lo={} is above hi={}", lo, hi));
  return unary("clamp", x, ClampOp{lo, hi});
}
Tensor affine(const Tensor& x, double scale, double shift) {
  return unary("affine", x, AffineOp{scale, shift});
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double s) { return affine(a, 1.0, s); }
Tensor operator+(double s, const Tensor& a) { return affine(a, 1.0, s); }
Tensor operator-(const Tensor& a, double s) { return affine(a, 1.0, -s); }
Tensor operator-(double s, const Tensor& a) { return affine(a, -1.0, s); }
Tensor operator*(const Tensor& a, double s) { return affine(a, s, 0.0); }
Tensor operator*(double s, const Tensor& a) { return affine(a, s, 0.0); }
Tensor operator/(const Tensor& a, double s) { return affine(a, 1.0 / s, 0.0); }
Tensor operator/(double s, const Tensor& a) { return div(scalar(s, a.dtype()), a); }

}  // namespace xg
