#include <xgrad/core/indexing.hpp>

#include <cmath>
#include <cstring>
#include <type_traits>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/broadcast.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/kernels.hpp>

namespace xg {

namespace {
// Reads a mask of any dtype as booleans, broadcast to `shape`.
std::vector<char> mask_as_bool(const char* op, const Tensor& mask, const Shape& shape) {
  const Shape b = broadcast_shapes(op, mask.shape(), shape);
  if (b != shape)
    throw ShapeError(fmt::format("{}: mask {} does not broadcast to {}", op,
                                 shape_str(mask.shape()), shape_str(shape)));
  const auto sm = broadcast_strides(mask.shape(), shape);
  const auto s0 = broadcast_strides(shape, shape);
  std::vector<char> out(static_cast<std::size_t>(numel_of(shape)));
  dispatch_all(mask.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pm = mask.data<T>();
    for_each_broadcast(shape, sm, s0, [&](int64_t i, int64_t im, int64_t) { out[i] = pm[im] != T(0); });
  });
  return out;
}

// masked_fill's value in x's dtype: true for any non-zero value in a bool tensor; an int64 tensor
// takes only integral values (-100 for ignored targets, a padding id).
template <class T>
T fill_value(double value) {
  if constexpr (std::is_same_v<T, uint8_t>) {
    return value != 0.0 ? 1 : 0;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (value != std::trunc(value) || std::fabs(value) > 9.2e18)
      throw DTypeError(fmt::format("masked_fill: {} is not an int64 value (the tensor is int64)", value));
    return static_cast<T>(value);
  } else {
    return static_cast<T>(value);
  }
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& indices) {
  if (indices.dim() != 1)
    throw ShapeError(fmt::format("index_select: indices must be 1-d, got {}", shape_str(indices.shape())));
  return index_select(x, axis, int64_values("index_select", "indices", indices));
}

Tensor gather(const Tensor& x, int64_t axis, const Tensor& index) {
  return gather(x, axis, int64_values("gather", "index", index), index.shape());
}

Tensor embedding(const Tensor& weight, const Tensor& ids, int64_t padding_idx) {
  return embedding(weight, int64_values("embedding", "ids", ids), ids.shape(), padding_idx);
}

Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& indices) {
  axis = normalize_axis("index_select", axis, x.dim());
  const AxisSplit s = split_at(x.shape(), axis);
  for (std::size_t i = 0; i < indices.size(); ++i) check_index("index_select", indices[i], s.n, i);
  Shape out_shape = x.shape();
  out_shape[axis] = static_cast<int64_t>(indices.size());
  Tensor out = Tensor::uninitialized(out_shape, x.dtype());
  const int64_t m = static_cast<int64_t>(indices.size());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t j = 0; j < m; ++j)
        std::memcpy(po + (o * m + j) * s.inner, px + (o * s.n + indices[j]) * s.inner, sizeof(T) * s.inner);
  });
  return record("index_select", out, {x}, [=](const Tensor& g, GradSink& sink) {
    Tensor& gx = sink.buffer(0);
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t j = 0; j < m; ++j)
          kernels::add_into(pgx + (o * s.n + indices[j]) * s.inner, pg + (o * m + j) * s.inner, s.inner);
    });
  });
}

Tensor gather(const Tensor& x, int64_t axis, const std::vector<int64_t>& index,
              const Shape& index_shape) {
  axis = normalize_axis("gather", axis, x.dim());
  if (static_cast<int64_t>(index_shape.size()) != x.dim() || numel_of(index_shape) != static_cast<int64_t>(index.size()))
    throw ShapeError(fmt::format("gather: index of shape {} ({} values) for input {}",
                                 shape_str(index_shape), index.size(), shape_str(x.shape())));
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != axis && index_shape[d] != x.shape()[d])
      throw ShapeError(fmt::format("gather: index shape {} differs from input {} on axis {}",
                                   shape_str(index_shape), shape_str(x.shape()), d));
  const AxisSplit si = split_at(index_shape, axis), sx = split_at(x.shape(), axis);
  for (std::size_t i = 0; i < index.size(); ++i) check_index("gather", index[i], sx.n, i);
  Tensor out = Tensor::uninitialized(index_shape, x.dtype());
  auto idx = std::make_shared<const std::vector<int64_t>>(index);  // outlives this call
  auto offset = [si, sx, idx](int64_t o, int64_t j, int64_t i) {
    return (o * sx.n + (*idx)[(o * si.n + j) * si.inner + i]) * sx.inner + i;
  };
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < si.outer; ++o)
      for (int64_t j = 0; j < si.n; ++j)
        for (int64_t i = 0; i < si.inner; ++i) po[(o * si.n + j) * si.inner + i] = px[offset(o, j, i)];
  });
  return record("gather", out, {x}, [=](const Tensor& g, GradSink& sink) {
    Tensor& gx = sink.buffer(0);
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      for (int64_t o = 0; o < si.outer; ++o)
        for (int64_t j = 0; j < si.n; ++j)
          for (int64_t i = 0; i < si.inner; ++i) pgx[offset(o, j, i)] += pg[(o * si.n + j) * si.inner + i];
    });
  });
}

Tensor embedding(const Tensor& weight, const std::vector<int64_t>& ids, const Shape& ids_shape,
                 int64_t padding_idx) {
  if (weight.dim() != 2)
    throw ShapeError("embedding: weight must be (vocabulary, dim), got " + shape_str(weight.shape()));
  if (numel_of(ids_shape) != static_cast<int64_t>(ids.size()))
    throw ShapeError(fmt::format("embedding: {} ids for ids shape {}", ids.size(), shape_str(ids_shape)));
  const int64_t vocab = weight.shape()[0], d = weight.shape()[1];
  for (std::size_t i = 0; i < ids.size(); ++i) check_index("embedding", ids[i], vocab, i);
  Shape out_shape = ids_shape;
  out_shape.push_back(d);
  Tensor out = Tensor::uninitialized(out_shape, weight.dtype());
  dispatch(weight.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pw = weight.data<T>();
    T* po = out.data<T>();
    for (std::size_t i = 0; i < ids.size(); ++i) std::memcpy(po + i * d, pw + ids[i] * d, sizeof(T) * d);
  });
  return record("embedding", out, {weight}, [=](const Tensor& g, GradSink& sink) {
    Tensor& gw = sink.buffer(0);
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();
      T* pgw = gw.data<T>();
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] != padding_idx) kernels::add_into(pgw + ids[i] * d, pg + i * d, d);
    });
  });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  auto m = std::make_shared<std::vector<char>>(mask_as_bool("masked_fill", mask, x.shape()));
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const int64_t n = x.numel();
    const T fill = fill_value<T>(value);
    XG_PARALLEL_FOR(n)
    for (int64_t i = 0; i < n; ++i) po[i] = (*m)[i] ? fill : px[i];
  });
  return record("masked_fill", out, {x}, [m](const Tensor& g, GradSink& sink) {
    Tensor gx = Tensor::uninitialized(g.shape(), g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      for (int64_t i = 0, n = g.numel(); i < n; ++i) pgx[i] = (*m)[i] ? T(0) : pg[i];
    });
    sink.add(0, std::move(gx));
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_dtype("where", a, b);
  const Shape out_shape = broadcast_shapes("where", cond.shape(), broadcast_shapes("where", a.shape(), b.shape()));
  auto c = std::make_shared<std::vector<char>>(mask_as_bool("where", cond, out_shape));
  const auto sa = broadcast_strides(a.shape(), out_shape), sb = broadcast_strides(b.shape(), out_shape);
  Tensor out = Tensor::uninitialized(out_shape, a.dtype());
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    for_each_broadcast(out_shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
      po[i] = (*c)[i] ? pa[ia] : pb[ib];
    });
  });
  const Shape a_shape = a.shape(), b_shape = b.shape();
  return record("where", out, {a, b}, [=](const Tensor& g, GradSink& sink) {
    for (std::size_t side = 0; side < 2; ++side) {
      if (!sink.needs(side)) continue;
      Tensor full = Tensor::uninitialized(out_shape, g.dtype());
      dispatch(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* pg = g.data<T>();
        T* pf = full.data<T>();
        for (int64_t i = 0, n = g.numel(); i < n; ++i) pf[i] = ((*c)[i] != 0) == (side == 0) ? pg[i] : T(0);
      });
      sink.add(side, sum_to(full, side == 0 ? a_shape : b_shape));
    }
  });
}

}  // namespace xg
