#pragma once
#include <xgrad/optim/optimizer.hpp>

namespace xg::optim {

/// Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam: weight decay is L2 added
/// to the gradient. AdamW (Loshchilov & Hutter 2019) decays the weights directly: p -= lr·wd·p.
class Adam : public Optimizer {
 public:
  /// Adam (Kingma & Ba 2015) with PyTorch's defaults; weight_decay adds decay * param to the
  /// gradient (L2), as torch.optim.Adam.
  Adam(std::vector<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);
  void step() override;

 protected:
  /// For AdamW: `decoupled` applies the decay to the weights directly.
  Adam(std::vector<ParamGroup> groups, double beta1, double beta2, double eps, bool decoupled, std::string name);
  std::vector<std::string> slot_names() const override { return {"exp_avg", "exp_avg_sq"}; }  ///< first and second moment estimates

 private:
  double beta1_, beta2_, eps_;
  bool decoupled_;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW.
class AdamW : public Adam {
 public:
  /// PyTorch's AdamW default weight decay is 0.01; set it per group.
  AdamW(std::vector<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
      : Adam(std::move(groups), beta1, beta2, eps, true, "AdamW") {}
};

}  // namespace xg::optim
