#include <xgrad/core/reduction.hpp>

#include <algorithm>
#include <type_traits>
#include <limits>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/elementwise.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/shape_ops.hpp>

namespace xg {

namespace {

Shape reduced_shape(const Shape& s, int64_t axis, bool keepdim) {
  Shape out = s;
  if (keepdim) out[static_cast<std::size_t>(axis)] = 1;
  else out.erase(out.begin() + axis);
  return out;
}

// Sum along one axis, with (outer, n, inner) layout; keeps the axis as size 1.
Tensor sum_axis_keep(const Tensor& x, int64_t axis) {
  const AxisSplit s = split_at(x.shape(), axis);
  Tensor out = Tensor::empty(reduced_shape(x.shape(), axis, true), x.dtype());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    XG_PRAGMA(omp parallel for if (s.outer * s.n * s.inner > kParallelGrain) schedule(static))
    for (int64_t o = 0; o < s.outer; ++o) {
      T* dst = po + o * s.inner;
      for (int64_t k = 0; k < s.n; ++k) {
        const T* src = px + (o * s.n + k) * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) dst[i] += src[i];
      }
    }
  });
  const Shape in_shape = x.shape();
  return record("sum", out, {x}, [in_shape, s](const Tensor& g, GradSink& sink) {
    Tensor gx = Tensor::uninitialized(in_shape, g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t k = 0; k < s.n; ++k)
          std::copy(pg + o * s.inner, pg + (o + 1) * s.inner, pgx + (o * s.n + k) * s.inner);
    });
    sink.add(0, std::move(gx));
  });
}

std::vector<int64_t> normalized_axes(const char* op, const std::vector<int64_t>& axes, int64_t nd) {
  std::vector<int64_t> out;
  for (auto a : axes) out.push_back(normalize_axis(op, a, nd));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw IndexError(fmt::format("{}: an axis is repeated in the axis list", op));
  return out;
}

}  // namespace

namespace {
template <class T> bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}
}  // namespace

Tensor sum(const Tensor& x) { return sum(x, [&] {
  std::vector<int64_t> all(static_cast<std::size_t>(x.dim()));
  for (int64_t i = 0; i < x.dim(); ++i) all[static_cast<std::size_t>(i)] = i;
  return all;
}(), false); }

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  // Counting (a mask's true elements, the non-padding tokens) sums in int64, as torch does.
  if (!is_floating_point(x.dtype()) && x.dtype() != DType::Int64) return sum(x.to(DType::Int64), axes, keepdim);
  const auto ax = normalized_axes("sum", axes, x.dim());
  Tensor out = x;
  for (auto a : ax) out = sum_axis_keep(out, a);
  if (ax.empty()) out = x.dim() == 0 ? x.clone() : out;
  if (keepdim) return name_result(out, x, "sum");
  Shape s;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(ax.begin(), ax.end(), d)) s.push_back(x.shape()[static_cast<std::size_t>(d)]);
  return name_result(reshape(out, s), x, "sum");
}

Tensor mean(const Tensor& x) {
  check_floating("mean", x);
  return name_result(sum(x) * (1.0 / static_cast<double>(std::max<int64_t>(x.numel(), 1))), x, "mean");
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  check_floating("mean", x);
  const auto ax = normalized_axes("mean", axes, x.dim());
  int64_t count = 1;
  for (auto a : ax) count *= x.shape()[static_cast<std::size_t>(a)];
  return name_result(sum(x, ax, keepdim) * (1.0 / static_cast<double>(std::max<int64_t>(count, 1))), x, "mean");
}

Tensor max(const Tensor& x, int64_t axis, bool keepdim) {
  axis = normalize_axis("max", axis, x.dim());
  const AxisSplit s = split_at(x.shape(), axis);
  if (s.n == 0) throw ShapeError("max: reduction over an empty axis of shape " + shape_str(x.shape()));
  const auto idx = std::make_shared<std::vector<int64_t>>(static_cast<std::size_t>(s.outer * s.inner));
  Tensor out = Tensor::uninitialized(reduced_shape(x.shape(), axis, keepdim), x.dtype());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        int64_t best = 0;
        T bv = px[o * s.n * s.inner + i];
        for (int64_t k = 1; k < s.n; ++k) {
          const T v = px[(o * s.n + k) * s.inner + i];
          if (v > bv || (is_nan(v) && !is_nan(bv))) bv = v, best = k;
        }
        po[o * s.inner + i] = bv;
        (*idx)[static_cast<std::size_t>(o * s.inner + i)] = best;
      }
  });
  const Shape in_shape = x.shape();
  return record("max", out, {x}, [in_shape, s, idx](const Tensor& g, GradSink& sink) {
    Tensor gx = Tensor::empty(in_shape, g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i) {
          const int64_t k = (*idx)[static_cast<std::size_t>(o * s.inner + i)];
          pgx[(o * s.n + k) * s.inner + i] = pg[o * s.inner + i];
        }
    });
    sink.add(0, std::move(gx));
  });
}

Tensor max(const Tensor& x) { return max(reshape(x, {x.numel()}), 0, false); }

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  axis = normalize_axis("argmax", axis, x.dim());
  const AxisSplit s = split_at(x.shape(), axis);
  if (s.n == 0) throw ShapeError("argmax: reduction over an empty axis of shape " + shape_str(x.shape()));
  Tensor out = Tensor::uninitialized(reduced_shape(x.shape(), axis, keepdim), DType::Int64);
  int64_t* po = out.data<int64_t>();
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        int64_t best = 0;
        T bv = px[o * s.n * s.inner + i];
        for (int64_t k = 1; k < s.n; ++k) {
          const T v = px[(o * s.n + k) * s.inner + i];
          if (v > bv) bv = v, best = k;
        }
        po[o * s.inner + i] = best;
      }
  });
  return out;
}

}  // namespace xg
