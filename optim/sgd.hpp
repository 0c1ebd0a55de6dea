#pragma once
#include <xgrad/optim/optimizer.hpp>

namespace xg::optim {

/// SGD as torch.optim.SGD: g = grad + wd·p; buf = μ·buf + g (buf = g at the first step);
/// Nesterov uses g + μ·buf, otherwise buf; p -= lr·that.
class SGD : public Optimizer {
 public:
  /// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay, as
  /// torch.optim.SGD.
  SGD(std::vector<ParamGroup> groups, double momentum = 0.0, bool nesterov = false);
  void step() override;

 protected:
  std::vector<std::string> slot_names() const override;  ///< "momentum_buffer" when momentum is used

 private:
  double momentum_;
  bool nesterov_;
};

}  // namespace xg::optim
