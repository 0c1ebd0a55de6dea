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
// Up to this many logits (256 MB of float) the forward keeps them for the backward, one (N, V)
// buffer in place of the composed ops' logits plus double log-probabilities; past it, or when the
// caller gives chunk_rows, the backward recomputes each chunk's logits (one more product).
constexpr int64_t kKeepLogits = int64_t{1} << 26;

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
  const bool keep = chunk_rows == 0 && n * v <= kKeepLogits;
  const int64_t chunk = std::max<int64_t>(1, chunk_rows ? chunk_rows : std::min<int64_t>(n, kChunkLogits / std::max<int64_t>(v, 1)));
  Tensor kept;  // (N, V) logits, when kept
  if (keep) kept = Tensor::uninitialized({n, v}, x.dtype());
  const double eps = label_smoothing;
  auto lse = std::make_shared<std::vector<double>>(static_cast<std::size_t>(n));  // per row, for the backward
  auto tgt = std::make_shared<const std::vector<int64_t>>(targets);
  double total = 0;
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const vecmath::Kernels<T>& kernels = vecmath::best<T>();
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    std::vector<T> chunk_buffer(keep ? 0 : static_cast<std::size_t>(std::min(chunk, n) * v));
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
      const int64_t rows = std::min(chunk, n - r0);
      T* z = keep ? kept.data<T>() + r0 * v : chunk_buffer.data();
      chunk_logits<T>(x.data<T>(), weight.data<T>(), pb, r0, rows, d, v, z);
      // Per row: the max and the sum of the logits, then Σ exp(z - max) through the vectorised
      // exp (a scalar std::exp per logit took 40% of a real-size GRU step) into a scratch row.
      XG_PRAGMA(omp parallel if (rows * v > kParallelGrain))
      {
        std::vector<T> scratch(static_cast<std::size_t>(v));
        XG_PRAGMA(omp for reduction(+ : total) schedule(static))
        for (int64_t r = 0; r < rows; ++r) {
          const T* zr = z + r * v;
          T m = zr[0];
          double sum_z = 0;
          for (int64_t j = 0; j < v; ++j) m = std::max(m, zr[j]), sum_z += zr[j];
          for (int64_t j = 0; j < v; ++j) scratch[static_cast<std::size_t>(j)] = zr[j] - m;
          kernels.exp(scratch.data(), scratch.data(), v);
          double s = 0;
          for (int64_t j = 0; j < v; ++j) s += scratch[static_cast<std::size_t>(j)];
          const double l = static_cast<double>(m) + std::log(s);
          (*lse)[static_cast<std::size_t>(r0 + r)] = l;
          const int64_t t = (*tgt)[static_cast<std::size_t>(r0 + r)];
          if (t == ignore_index) continue;
          // -(1-eps) log p_t - eps/V sum_j log p_j, with log p_j = z_j - lse
          total += -(1.0 - eps) * (static_cast<double>(zr[t]) - l) - eps / static_cast<double>(v) * (sum_z - static_cast<double>(v) * l);
        }
      }
    }
  });
  Tensor out = Tensor::uninitialized({}, x.dtype());
  out.fill_(count ? total / static_cast<double>(count) : 0.0);
  const Tensor xd = x.detach(), wd = weight.detach(), bd = bias.defined() ? bias.detach() : Tensor();
  return record(op, out, {x, weight, bias}, [=](const Tensor& g, GradSink& sink) {  // `kept` is only read
    if (count == 0) {  // every row ignored: zero gradients, as cross_entropy gives
      for (std::size_t i = 0; i < 3; ++i)
        if (sink.needs(i)) sink.buffer(i);
      return;
    }
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const double scale = static_cast<double>(g.data<T>()[0]) / static_cast<double>(count);
      const vecmath::Kernels<T>& kernels = vecmath::best<T>();
      const T* px = xd.data<T>();
      const T* pw = wd.data<T>();
      const T* pb = bd.defined() ? bd.data<T>() : nullptr;
      Tensor gx;
      if (sink.needs(0)) gx = Tensor::uninitialized(xd.shape(), xd.dtype());
      // Backward chunks of at most ~4M logits also when the forward kept them all.
      const int64_t back_chunk = kept.defined() ? std::max<int64_t>(1, std::min<int64_t>(n, kChunkLogits / std::max<int64_t>(v, 1))) : chunk;
      std::vector<T> z(static_cast<std::size_t>(std::min(back_chunk, n) * v));
      for (int64_t r0 = 0; r0 < n; r0 += back_chunk) {
        const int64_t rows = std::min(back_chunk, n - r0);
        if (kept.defined()) std::copy(kept.data<T>() + r0 * v, kept.data<T>() + (r0 + rows) * v, z.data());
        else chunk_logits<T>(px, pw, pb, r0, rows, d, v, z.data());
        // dz = scale * (softmax(z) - (1-eps) onehot(t) - eps/V), zero for ignored rows
        XG_PRAGMA(omp parallel for if (rows * v > kParallelGrain) schedule(static))
        for (int64_t r = 0; r < rows; ++r) {
          T* zr = z.data() + r * v;
          const int64_t t = (*tgt)[static_cast<std::size_t>(r0 + r)];
          if (t == ignore_index) {
            std::fill(zr, zr + v, T(0));
            continue;
          }
          const T l = static_cast<T>((*lse)[static_cast<std::size_t>(r0 + r)]);
          for (int64_t j = 0; j < v; ++j) zr[j] -= l;
          kernels.exp(zr, zr, v);  // softmax
          const T s = static_cast<T>(scale), shift = static_cast<T>(scale * eps / static_cast<double>(v));
          for (int64_t j = 0; j < v; ++j) zr[j] = s * zr[j] - shift;
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
