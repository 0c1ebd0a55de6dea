#include <xgrad/core/gradcheck.hpp>

#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/creation.hpp>
#include <xgrad/core/elementwise.hpp>
#include <xgrad/core/reduction.hpp>

namespace xg {

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].dtype() != DType::Float64)
      throw DTypeError(fmt::format("gradcheck: input {} is {}; finite differences need float64", i,
                                   dtype_name(inputs[i].dtype())));
  Generator gen(options.seed);
  Tensor weights;
  auto scalar_of = [&](const Tensor& out) {
    if (!weights.defined()) weights = uniform(out.shape(), 0.5, 1.5, DType::Float64, gen);
    return sum(mul(out, weights));
  };

  for (Tensor t : inputs)
    if (t.defined()) t.zero_grad();
  Tensor loss = scalar_of(fn(inputs));
  loss.backward();

  GradcheckResult result;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Tensor x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    const Tensor analytic = x.grad();
    double* px = x.data<double>();
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double saved = px[j];
      double plus, minus;
      {
        NoGradGuard guard;
        px[j] = saved + options.eps;
        plus = scalar_of(fn(inputs)).item();
        px[j] = saved - options.eps;
        minus = scalar_of(fn(inputs)).item();
        px[j] = saved;
      }
      const double numeric = (plus - minus) / (2 * options.eps);
      const double a = analytic.defined() ? analytic.data<double>()[j] : 0.0;
      double excess = std::abs(a - numeric) - (options.atol + options.rtol * std::abs(numeric));
      if (!std::isfinite(a) || !std::isfinite(numeric)) excess = INFINITY;
      if (result.worst_index < 0 || excess > result.worst_excess) {
        result.worst_excess = excess;
        result.worst_error = std::isfinite(excess) ? std::abs(a - numeric) : INFINITY;
        result.worst_input = i;
        result.worst_index = j;
        result.analytic = a;
        result.numeric = numeric;
      }
    }
  }
  result.ok = result.worst_index < 0 || result.worst_excess <= 0;
  if (!result.ok)
    result.message = fmt::format(
        "gradcheck failed: input {} element {}: analytic {:.10g}, numeric {:.10g} (|diff| {:.3g})",
        result.worst_input, result.worst_index, result.analytic, result.numeric,
        std::abs(result.analytic - result.numeric));
  return result;
}

}  // namespace xg
