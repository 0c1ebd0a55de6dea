#include <xgrad/core/loss.hpp>

#include <cmath>
#include <fmt/format.h>
#include <limits>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>

namespace xg {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                     double label_smoothing) {
  return cross_entropy(logits, target_values("cross_entropy", targets, "logits", logits), ignore_index, label_smoothing);
}

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets,
                     int64_t ignore_index, double label_smoothing) {
  if (logits.dim() < 1) throw ShapeError("cross_entropy: logits must have a class axis");
  if (!is_floating_point(logits.dtype()))
    throw DTypeError(fmt::format("cross_entropy: logits must be float32 or float64, got {}", dtype_name(logits.dtype())));
  const int64_t c = logits.shape().back();
  const int64_t rows = c == 0 ? 0 : logits.numel() / c;
  if (static_cast<int64_t>(targets.size()) != rows)
    throw ShapeError(fmt::format("cross_entropy: {} targets for logits {} ({} rows of {} classes)",
                                 targets.size(), shape_str(logits.shape()), rows, c));
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    throw Error(fmt::format("cross_entropy: label_smoothing={} is outside [0, 1]", label_smoothing));
  int64_t count = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] == ignore_index) continue;
    if (targets[i] < 0 || targets[i] >= c)
      throw IndexError(fmt::format("cross_entropy: target {} at row {} is out of range [0, {})",
                                   targets[i], i, c));
    ++count;
  }
  // (rows, C) log-probabilities, saved for the backward
  auto logp = std::make_shared<std::vector<double>>(static_cast<std::size_t>(logits.numel()));
  double total = 0;
  const double eps = label_smoothing;
  dispatch(logits.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = logits.data<T>();
    XG_PRAGMA(omp parallel for reduction(+ : total) if (logits.numel() > kParallelGrain) schedule(static))
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * c;
      double* lr = logp->data() + r * c;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < c; ++j) m = std::max(m, static_cast<double>(xr[j]));
      double s = 0;
      for (int64_t j = 0; j < c; ++j) s += std::exp(xr[j] - m);
      const double lse = m + std::log(s);
      double sum_logp = 0;
      for (int64_t j = 0; j < c; ++j) sum_logp += (lr[j] = xr[j] - lse);
      if (targets[r] == ignore_index) continue;
      total += -(1.0 - eps) * lr[targets[r]] - eps / static_cast<double>(c) * sum_logp;
    }
  });
  Tensor out = Tensor::uninitialized({}, logits.dtype());
  out.fill_(count ? total / static_cast<double>(count) : 0.0);
  const Shape shape = logits.shape();
  return record("cross_entropy", out, {logits}, [=](const Tensor& g, GradSink& sink) {
    Tensor gx = Tensor::empty(shape, g.dtype());
    if (count == 0) return sink.add(0, std::move(gx));
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const double scale = static_cast<double>(g.data<T>()[0]) / static_cast<double>(count);
      T* pgx = gx.data<T>();
      // d/dx_j = (softmax_j - q_j) * g / count, q = (1-e) onehot + e/C
      for (int64_t r = 0; r < rows; ++r) {
        if (targets[r] == ignore_index) continue;
        const double* lr = logp->data() + r * c;
        for (int64_t j = 0; j < c; ++j) {
          const double q = (j == targets[r] ? 1.0 - eps : 0.0) + eps / static_cast<double>(c);
          pgx[r * c + j] = static_cast<T>((std::exp(lr[j]) - q) * scale);
        }
      }
    });
    sink.add(0, std::move(gx));
  });
}

}  // namespace xg
