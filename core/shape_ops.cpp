#include <xgrad/core/shape_ops.hpp>

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/kernels.hpp>
#include <xgrad/core/detail/tensor_impl.hpp>

namespace xg {

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape target = shape;
  int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (infer >= 0) throw ShapeError("reshape: more than one -1 in " + shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else if (target[i] < 0) {
      throw ShapeError("reshape: negative dimension in " + shape_str(shape));
    } else {
      known *= target[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      throw ShapeError("reshape: cannot reshape " + shape_str(x.shape()) + " into " + shape_str(shape));
    target[static_cast<std::size_t>(infer)] = x.numel() / known;
  }
  if (numel_of(target) != x.numel())
    throw ShapeError("reshape: cannot reshape " + shape_str(x.shape()) + " (" +
                     std::to_string(x.numel()) + " elements) into " + shape_str(shape));
  Tensor out = x.detach();
  out.impl()->shape = target;
  const Shape in_shape = x.shape();
  return record("reshape", out, {x}, [in_shape](const Tensor& g, GradSink& sink) {
    Tensor gx = g.detach();
    gx.impl()->shape = in_shape;
    sink.add(0, std::move(gx));
  });
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  const int64_t nd = std::max<int64_t>(x.dim(), 1);
  start_axis = normalize_axis("flatten", start_axis, nd);
  end_axis = normalize_axis("flatten", end_axis, nd);
  if (x.dim() == 0) return reshape(x, {1});
  Shape s;
  for (int64_t d = 0; d < start_axis; ++d) s.push_back(x.shape()[d]);
  int64_t mid = 1;
  for (int64_t d = start_axis; d <= end_axis; ++d) mid *= x.shape()[d];
  s.push_back(mid);
  for (int64_t d = end_axis + 1; d < x.dim(); ++d) s.push_back(x.shape()[d]);
  return reshape(x, s);
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  axis = normalize_axis("unsqueeze", axis, x.dim() + 1);
  Shape s = x.shape();
  s.insert(s.begin() + axis, 1);
  return reshape(x, s);
}

Tensor squeeze(const Tensor& x, int64_t axis) {
  axis = normalize_axis("squeeze", axis, x.dim());
  if (x.shape()[axis] != 1)
    throw ShapeError(fmt::format("squeeze: axis {} of {} has size {}, not 1", axis,
                                 shape_str(x.shape()), x.shape()[axis]));
  Shape s = x.shape();
  s.erase(s.begin() + axis);
  return reshape(x, s);
}

namespace {
// out[perm-index] = in[index]: copies x into the axis order `order`.
Tensor permute_copy(const Tensor& x, const std::vector<int64_t>& order) {
  const int64_t nd = x.dim();
  Shape out_shape(nd);
  std::vector<int64_t> in_strides(nd), strides_in_out_order(nd);
  int64_t st = 1;
  for (int64_t d = nd - 1; d >= 0; --d) in_strides[d] = st, st *= x.shape()[d];
  for (int64_t d = 0; d < nd; ++d) {
    out_shape[d] = x.shape()[order[d]];
    strides_in_out_order[d] = in_strides[order[d]];
  }
  Tensor out = Tensor::uninitialized(out_shape, x.dtype());
  if (out.numel() == 0) return out;
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const int64_t inner = nd ? out_shape[nd - 1] : 1;
    const int64_t rows = out.numel() / inner;
    const int64_t is = nd ? strides_in_out_order[nd - 1] : 1;
    // Each thread takes a block of output rows and walks the input offset like an odometer: a
    // division per axis per row cost more than copying a 32-float row (split_heads, 3.9% of a
    // transformer step).
    XG_PRAGMA(omp parallel if (out.numel() > kParallelGrain))
    {
      const int threads = omp_get_num_threads(), me = omp_get_thread_num();
      const int64_t begin = rows * me / threads, end = rows * (me + 1) / threads;
      std::vector<int64_t> digit(static_cast<std::size_t>(std::max<int64_t>(nd - 1, 0)));
      int64_t off = 0, rem = begin;
      for (int64_t d = nd - 2; d >= 0; --d) {
        digit[d] = rem % out_shape[d];
        off += digit[d] * strides_in_out_order[d];
        rem /= out_shape[d];
      }
      for (int64_t r = begin; r < end; ++r) {
        T* dst = po + r * inner;
        if (is == 1) std::memcpy(dst, px + off, sizeof(T) * inner);
        else
          for (int64_t j = 0; j < inner; ++j) dst[j] = px[off + j * is];
        for (int64_t d = nd - 2; d >= 0; --d) {  // next row: carry through the axes
          off += strides_in_out_order[d];
          if (++digit[d] < out_shape[d]) break;
          off -= digit[d] * strides_in_out_order[d];
          digit[d] = 0;
        }
      }
    }
  });
  return out;
}
}  // namespace

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) {
  const int64_t nd = x.dim();
  if (static_cast<int64_t>(order.size()) != nd)
    throw ShapeError(fmt::format("permute: order of {} axes for a tensor of shape {}",
                                 order.size(), shape_str(x.shape())));
  std::vector<int64_t> ord(order.size()), inverse(order.size());
  std::vector<bool> used(order.size(), false);
  for (std::size_t i = 0; i < order.size(); ++i) {
    ord[i] = normalize_axis("permute", order[i], nd);
    if (used[ord[i]]) throw IndexError("permute: axis " + std::to_string(ord[i]) + " repeated");
    used[ord[i]] = true;
    inverse[ord[i]] = static_cast<int64_t>(i);
  }
  Tensor out = permute_copy(x, ord);
  return record("permute", out, {x}, [inverse](const Tensor& g, GradSink& sink) {
    sink.add(0, permute_copy(g, inverse));
  });
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  axis0 = normalize_axis("transpose", axis0, x.dim());
  axis1 = normalize_axis("transpose", axis1, x.dim());
  std::vector<int64_t> order(x.dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[axis0], order[axis1]);
  return permute(x, order);
}

namespace {
// Elements [start, start + length) of `axis`, with the result given `out_shape`: the narrowed
// shape, or for select the same without the axis of size 1 (the layout is the same). select does
// not go through squeeze: reshape's backward copies the gradient, once per step of an RNN loop.
Tensor take_range(const char* op, const Tensor& x, int64_t axis, int64_t start, int64_t length,
                  const Shape& out_shape) {
  const AxisSplit s = split_at(x.shape(), axis);
  const int64_t n = s.n;
  Tensor out = Tensor::uninitialized(out_shape, x.dtype());
  const int64_t chunk = length * s.inner, in_row = n * s.inner;
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      std::memcpy(po + o * chunk, px + o * in_row + start * s.inner, sizeof(T) * chunk);
  });
  return record(op, out, {x}, [=](const Tensor& g, GradSink& sink) {
    Tensor& gx = sink.buffer(0);  // add into the slice in place: no full-size temporary per step
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();
      T* pgx = gx.data<T>();
      for (int64_t o = 0; o < s.outer; ++o)
        kernels::add_into(pgx + o * in_row + start * s.inner, pg + o * chunk, chunk);
    });
  });
}
}  // namespace

Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length) {
  axis = normalize_axis("narrow", axis, x.dim());
  const int64_t n = x.shape()[axis];
  if (start < 0 || length < 0 || start + length > n)
    throw IndexError(fmt::format("narrow: range [{}, {}) is outside axis {} of size {} (shape {})",
                                 start, start + length, axis, n, shape_str(x.shape())));
  Shape out_shape = x.shape();
  out_shape[axis] = length;
  return take_range("narrow", x, axis, start, length, out_shape);
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end) {
  axis = normalize_axis("slice", axis, x.dim());
  const int64_t n = x.shape()[axis];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  return narrow(x, axis, start, end - start);
}

Tensor select(const Tensor& x, int64_t axis, int64_t index) {
  axis = normalize_axis("select", axis, x.dim());
  const int64_t n = x.shape()[axis];
  if (index < -n || index >= n)
    throw IndexError(fmt::format("select: index {} is out of range for axis {} of size {}", index,
                                 axis, n));
  Shape out_shape = x.shape();
  out_shape.erase(out_shape.begin() + axis);
  return take_range("select", x, axis, index < 0 ? index + n : index, 1, out_shape);
}

namespace {
// Joins xs along `axis` of their `layouts`: their own shapes (concat), or their shapes with an
// axis of size 1 inserted (stack, which so avoids unsqueeze and its gradient copy). Each input's
// gradient has the input's own shape.
Tensor join(const char* op, const std::vector<Tensor>& xs, const std::vector<Shape>& layouts, int64_t axis) {
  const int64_t nd = static_cast<int64_t>(layouts[0].size());
  Shape out_shape = layouts[0];
  out_shape[axis] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    Shape a = layouts[i], b = layouts[0];
    if (static_cast<int64_t>(a.size()) != nd || (a[axis] = 0, b[axis] = 0, a != b))
      throw ShapeError(fmt::format("{}: tensor {} has shape {}, incompatible with tensor 0's {}{}", op, i,
                                   shape_str(xs[i].shape()), shape_str(xs[0].shape()),
                                   std::string(op) == "concat" ? fmt::format(" along axis {}", axis) : ""));
    check_same_dtype(op, xs[0], xs[i]);
    out_shape[axis] += layouts[i][axis];
  }
  Tensor out = Tensor::uninitialized(out_shape, xs[0].dtype());
  const AxisSplit so = split_at(out_shape, axis);
  std::vector<int64_t> offsets, lengths;
  int64_t off = 0;
  for (const auto& l : layouts) offsets.push_back(off), lengths.push_back(l[axis]), off += l[axis];
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* po = out.data<T>();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const T* px = xs[i].data<T>();
      const int64_t chunk = lengths[i] * so.inner;
      for (int64_t o = 0; o < so.outer; ++o)
        std::memcpy(po + o * so.n * so.inner + offsets[i] * so.inner, px + o * chunk, sizeof(T) * chunk);
    }
  });
  std::vector<Shape> input_shapes;
  for (const auto& x : xs) input_shapes.push_back(x.shape());
  return record(op, out, xs, [=](const Tensor& g, GradSink& sink) {
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      if (!sink.needs(i)) continue;
      Tensor gi = Tensor::uninitialized(input_shapes[i], g.dtype());
      dispatch(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* pg = g.data<T>();
        T* pgi = gi.data<T>();
        const int64_t chunk = lengths[i] * so.inner;
        for (int64_t o = 0; o < so.outer; ++o)
          std::memcpy(pgi + o * chunk, pg + o * so.n * so.inner + offsets[i] * so.inner, sizeof(T) * chunk);
      });
      sink.add(i, std::move(gi));
    }
  });
}
}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw ShapeError("concat: no tensors given");
  axis = normalize_axis("concat", axis, xs[0].dim());
  std::vector<Shape> layouts;
  for (const auto& x : xs) layouts.push_back(x.shape());
  return join("concat", xs, layouts, axis);
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw ShapeError("stack: no tensors given");
  axis = normalize_axis("stack", axis, xs[0].dim() + 1);
  std::vector<Shape> layouts;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (xs[i].shape() != xs[0].shape())
      throw ShapeError(fmt::format("stack: tensor {} has shape {} but tensor 0 has {}", i,
                                   shape_str(xs[i].shape()), shape_str(xs[0].shape())));
    Shape l = xs[i].shape();
    l.insert(l.begin() + axis, 1);
    layouts.push_back(l);
  }
  return join("stack", xs, layouts, axis);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  axis = normalize_axis("split", axis, x.dim());
  int64_t total = 0;
  for (auto s : sizes) total += s;
  if (total != x.shape()[axis])
    throw ShapeError(fmt::format("split: sizes add up to {} but axis {} of {} has size {}", total,
                                 axis, shape_str(x.shape()), x.shape()[axis]));
  std::vector<Tensor> out;
  int64_t start = 0;
  for (auto s : sizes) out.push_back(narrow(x, axis, start, s)), start += s;
  return out;
}

}  // namespace xg
