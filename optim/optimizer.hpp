#pragma once
// Optimisers over parameter groups (each group with its own learning rate and weight decay).
// State (step count, moments) exports as named tensors so it can share a checkpoint with the model.
#include <string>
#include <vector>

#include "core/safetensors.hpp"
#include "core/tensor.hpp"

namespace xg::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  double lr = 1e-3;
  double weight_decay = 0.0;
};

class Optimizer {
 public:
  Optimizer(std::vector<ParamGroup> groups, std::string name);
  virtual ~Optimizer() = default;
  // One update from the parameters' current gradients; a parameter without a gradient is skipped.
  virtual void step() = 0;
  void zero_grad();
  // Sets every group's learning rate (schedules call this each step).
  void set_lr(double lr);
  double lr(std::size_t group = 0) const { return groups_.at(group).lr; }
  std::vector<ParamGroup>& groups() { return groups_; }
  int64_t step_count() const { return step_count_; }

  // "optim.step", "optim.<group>.<param>.<slot>" (e.g. "optim.0.3.exp_avg").
  NamedTensors state(const std::string& prefix = "optim.") const;
  // Restores a state exported by state(); every slot must be present with the right shape.
  void load_state(const NamedTensors& tensors, const std::string& prefix = "optim.");

 protected:
  // Per-parameter slots, allocated on first use; index [group][param][slot].
  Tensor& slot(std::size_t g, std::size_t p, std::size_t s);
  // Calls fn(group, group_index, param_index, param, grad) for every parameter with a gradient.
  template <class Fn>
  void for_each_param_with_grad(Fn&& fn) {
    for (std::size_t gi = 0; gi < groups_.size(); ++gi)
      for (std::size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
        Tensor p = groups_[gi].params[pi];
        const Tensor grad = p.grad();
        if (grad.defined()) fn(groups_[gi], gi, pi, p, grad);
      }
  }
  virtual std::vector<std::string> slot_names() const = 0;

  std::vector<ParamGroup> groups_;
  std::string name_;
  int64_t step_count_ = 0;

 private:
  std::vector<std::vector<std::vector<Tensor>>> slots_;
};

// Single group over `params`.
std::vector<ParamGroup> single_group(const std::vector<Tensor>& params, double lr, double weight_decay = 0.0);

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
// before clipping (as torch.nn.utils.clip_grad_norm_).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace xg::optim
