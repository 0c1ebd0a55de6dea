#include <xgrad/optim/sgd.hpp>

#include <fmt/format.h>

namespace xg::optim {

SGD::SGD(std::vector<ParamGroup> groups, double momentum, bool nesterov)
    : Optimizer(std::move(groups), "SGD"), momentum_(momentum), nesterov_(nesterov) {
  if (momentum < 0) throw Error(fmt::format("SGD: momentum {} is negative", momentum));
  if (nesterov && momentum <= 0) throw Error("SGD: Nesterov momentum needs momentum > 0");
}

std::vector<std::string> SGD::slot_names() const {
  return momentum_ > 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
}

void SGD::step() {
  const bool first = step_count_ == 0;
  begin_step();
  for_each_param_with_grad([&](const ParamGroup& group, std::size_t gi, std::size_t pi, Tensor& p, const Tensor& grad) {
      Tensor* buf = momentum_ > 0 ? &slot(gi, pi, 0) : nullptr;
      dispatch(p.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* w = p.data<T>();
        const T* g = grad.data<T>();
        T* b = buf ? buf->data<T>() : nullptr;
        const T lr = T(group.lr), wd = T(group.weight_decay), mu = T(momentum_);
        for (int64_t i = 0; i < p.numel(); ++i) {
          T d = g[i] + wd * w[i];
          if (b) {
            b[i] = first ? d : mu * b[i] + d;
            d = nesterov_ ? d + mu * b[i] : b[i];
          }
          w[i] -= lr * d;
        }
      });
  });
}

}  // namespace xg::optim
