#include <xgrad/core/detail/broadcast.hpp>

#include <xgrad/core/detail/tensor_impl.hpp>

namespace xg {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: shapes {} and {} do not broadcast (dimension {}: {} vs {})",
                                   op, shape_str(a), shape_str(b), i, da, db));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const std::size_t di = in.size() - 1 - k, dout = out.size() - 1 - k;
    strides[dout] = in[di] == 1 ? 0 : stride;
    stride *= in[di];
  }
  return strides;
}

Tensor sum_to(const Tensor& g, const Shape& to) {
  if (g.shape() == to) return g;
  Tensor out = Tensor::empty(to, g.dtype());
  const Shape& from = g.shape();
  const auto st = broadcast_strides(to, from);
  const int64_t nd = static_cast<int64_t>(from.size());
  dispatch(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = g.data<T>();
    T* po = out.data<T>();
    const int64_t inner = from[nd - 1];
    const int64_t rows = inner == 0 ? 0 : numel_of(from) / inner;
    const int64_t is = st[nd - 1];
    // Serial: several rows of g land on the same element of out.
    for (int64_t r = 0; r < rows; ++r) {
      int64_t rem = r, off = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        off += (rem % from[d]) * st[d];
        rem /= from[d];
      }
      const T* row = pg + r * inner;
      if (is == 0) {
        T acc = 0;
        for (int64_t j = 0; j < inner; ++j) acc += row[j];
        po[off] += acc;
      } else {
        for (int64_t j = 0; j < inner; ++j) po[off + j * is] += row[j];
      }
    }
  });
  return out;
}

}  // namespace xg
