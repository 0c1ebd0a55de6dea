#include "optim/adam.hpp"

#include <cmath>
#include <fmt/format.h>

#include "core/detail/parallel.hpp"

namespace xg::optim {

Adam::Adam(std::vector<ParamGroup> groups, double b1, double b2, double eps)
    : Adam(std::move(groups), b1, b2, eps, false, "Adam") {}

Adam::Adam(std::vector<ParamGroup> groups, double b1, double b2, double eps, bool decoupled, std::string name)
    : Optimizer(std::move(groups), std::move(name)), beta1_(b1), beta2_(b2), eps_(eps), decoupled_(decoupled) {
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1 && eps >= 0))
    throw Error(fmt::format("{}: invalid betas ({}, {}) or eps {}", name_, b1, b2, eps));
}

void Adam::step() {
  ++step_count_;
  const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(step_count_));
  const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(step_count_));
  for_each_param_with_grad([&](const ParamGroup& group, std::size_t gi, std::size_t pi, Tensor& p, const Tensor& grad) {
      Tensor& m = slot(gi, pi, 0);
      Tensor& v = slot(gi, pi, 1);
      dispatch(p.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* w = p.data<T>();
        const T* g = grad.data<T>();
        T* pm = m.data<T>();
        T* pv = v.data<T>();
        const T lr = T(group.lr), wd = T(group.weight_decay), b1 = T(beta1_), b2 = T(beta2_);
        const T step_size = T(group.lr / bc1), inv_sqrt_bc2 = T(1.0 / std::sqrt(bc2)), eps = T(eps_);
        const bool decoupled = decoupled_;
        const int64_t n = p.numel();
        XG_PARALLEL_FOR(n)
        for (int64_t i = 0; i < n; ++i) {
          T d = g[i];
          if (decoupled) w[i] -= lr * wd * w[i];
          else d += wd * w[i];
          pm[i] = b1 * pm[i] + (T(1) - b1) * d;
          pv[i] = b2 * pv[i] + (T(1) - b2) * d * d;
          w[i] -= step_size * pm[i] / (std::sqrt(pv[i]) * inv_sqrt_bc2 + eps);
        }
      });
  });
}

}  // namespace xg::optim
