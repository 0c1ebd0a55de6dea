#include <xgrad/core/linear_cross_entropy.hpp>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <memory>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/blas.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/linear_parts.hpp>
#include <xgrad/core/detail/parallel.hpp>

namespace xg {

namespace {
constexpr int64_t kChunkLogits = int64_t{1} << 22;  // logits per chunk: 16 MB of float

// logits (R, V) = x[r0 : r0+R] Wᵀ + b
template <class T>
void chunk_logits(const T* px, const T* pw, const T* pb, int64_t r0, int64_t rows, int64_t d, int64_t v, T* z) {
  T beta = T(0);
  if (pb) {
    for (int64_t r = 0; r < rows; ++r) std::copy(pb, pb + v, z + r * v);
    beta = T(1);
  }
  blas::gemm<T>(false, true, rows, v, d, T(1), px + r0 * d, d, pw, d, beta, z, v);
}
}  // namespace

Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& targets,
                            int64_t ignore_index, double label_smoothing, int64_t chunk_rows) {
  return linear_cross_entropy(x, weight, bias, target_values("linear_cross_entropy", targets, "input", x), ignore_index,
                              label_smoothing, chunk_rows);
}

Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias,
                            const std::vector<int64_t>& targets, int64_t ignore_index, double label_smoothing,
                            int64_t chunk_rows) {
  const char* op = "linear_cross_entropy";
  const int64_t n = linear_parts::check(op, x, weight, bias);
  const int64_t d = weight.shape()[1], v = weight.shape()[0];
  if (static_cast<int64_t>(targets.size()) != n)
    throw ShapeError(fmt::format("{}: {} targets for input {} ({} rows)", op, targets.size(), shape_str(x.shape()), n));
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    throw Error(fmt::format("{}: label_smoothing={} is outside [0, 1]", op, label_smoothing));
  if (chunk_rows < 0) throw Error(fmt::format("{}: chunk_rows {} is negative", op, chunk_rows));
  int64_t count = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] == ignore_index) continue;
    if (targets[i] < 0 || targets[i] >= v)
      throw IndexError(fmt::format("{}: target {} at row {} is out of range [0, {})", op, targets[i], i, v));
    ++count;
  }
  const int64_t chunk = std::max<int64_t>(1, chunk_rows ? chunk_rows : std::min<int64_t>(n, kChunkLogits / std::max<int64_t>(v, 1)));
  const double eps = label_smoothing;
  auto lse = std::make_shared<std::vector<double>>(static_cast<std::size_t>(n));  // per row, for the backward
  auto tgt = std::make_shared<const std::vector<int64_t>>(targets);
  double total = 0;
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    std::vector<T> z(static_cast<std::size_t>(std::min(chunk, n) * v));
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
      const int64_t rows = std::min(chunk, n - r0);
      chunk_logits<T>(x.data<T>(), weight.data<T>(), pb, r0, rows, d, v, z.data());
      XG_PRAGMA(omp parallel for reduction(+ : total) if (rows * v > kParallelGrain) schedule(static))
      for (int64_t r = 0; r < rows; ++r) {
        const T* zr = z.data() + r * v;
        double m = -std::numeric_limits<double>::infinity(), s = 0, sum_z = 0;
        for (int64_t j = 0; j < v; ++j) m = std::max(m, static_cast<double>(zr[j]));
        for (int64_t j = 0; j < v; ++j) s += std::exp(static_cast<double>(zr[j]) - m), sum_z += zr[j];
        const double l = m + std::log(s);
        (*lse)[static_cast<std::size_t>(r0 + r)] = l;
        const int64_t t = (*tgt)[static_cast<std::size_t>(r0 + r)];
        if (t == ignore_index) continue;
        // -(1-eps) log p_t - eps/V sum_j log p_j, with log p_j = z_j - lse
        total += -(1.0 - eps) * (static_cast<double>(zr[t]) - l) - eps / static_cast<double>(v) * (sum_z - static_cast<double>(v) * l);
      }
    }
  });
  Tensor out = Tensor::uninitialized({}, x.dtype());
  out.fill_(count ? total / static_cast<double>(count) : 0.0);
  const Tensor xd = x.detach(), wd = weight.detach(), bd = bias.defined() ? bias.detach() : Tensor();
  return record(op, out, {x, weight, bias}, [=](const Tensor& g, GradSink& sink) {
    if (count == 0) {  // every row ignored: zero gradients, as cross_entropy gives
      for (std::size_t i = 0; i < 3; ++i)
        if (sink.needs(i)) sink.buffer(i);
      return;
    }
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const double scale = static_cast<double>(g.data<T>()[0]) / static_cast<double>(count);
      const T* px = xd.data<T>();
      const T* pw = wd.data<T>();
      const T* pb = bd.defined() ? bd.data<T>() : nullptr;
      Tensor gx;
      if (sink.needs(0)) gx = Tensor::uninitialized(xd.shape(), xd.dtype());
      std::vector<T> z(static_cast<std::size_t>(std::min(chunk, n) * v));
      for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        const int64_t rows = std::min(chunk, n - r0);
        chunk_logits<T>(px, pw, pb, r0, rows, d, v, z.data());
        // dz = scale * (softmax(z) - (1-eps) onehot(t) - eps/V), zero for ignored rows
        XG_PRAGMA(omp parallel for if (rows * v > kParallelGrain) schedule(static))
        for (int64_t r = 0; r < rows; ++r) {
          T* zr = z.data() + r * v;
          const int64_t t = (*tgt)[static_cast<std::size_t>(r0 + r)];
          if (t == ignore_index) {
            std::fill(zr, zr + v, T(0));
            continue;
          }
          const double l = (*lse)[static_cast<std::size_t>(r0 + r)], uniform = eps / static_cast<double>(v);
          for (int64_t j = 0; j < v; ++j) zr[j] = static_cast<T>(scale * (std::exp(static_cast<double>(zr[j]) - l) - uniform));
          zr[t] -= static_cast<T>(scale * (1.0 - eps));
        }
        if (gx.defined())  // dx = dz W   (R, D)
          blas::gemm<T>(false, false, rows, d, v, T(1), z.data(), v, pw, d, T(0), gx.data<T>() + r0 * d, d);
        linear_parts::add_parameter_grads<T>(z.data(), px + r0 * d, rows, v, d, sink, 1, 2);
      }
      if (gx.defined()) sink.add(0, std::move(gx));
    });
  });
}

}  // namespace xg
