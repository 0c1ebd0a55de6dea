#pragma once
/// \file
/// Optimisers over parameter groups (each group with its own learning rate and weight decay).
/// State (step count, moments) exports as named tensors so it can share a checkpoint with the model.
#include <memory>
#include <string>
#include <vector>

#include <xgrad/core/safetensors.hpp>
#include <xgrad/core/tensor.hpp>
#include <xgrad/optim/schedule.hpp>

namespace xg::optim {

/// Parameters that share a learning rate and weight decay.
struct ParamGroup {
  std::vector<Tensor> params;  ///< the tensors to update (leaves that require grad)
  double lr = 1e-3;  ///< learning rate
  double weight_decay = 0.0;  ///< weight decay (its meaning is the optimiser's)
};

/// Base of the optimisers: parameter groups, the step count, a schedule, and state() for
/// checkpoints.
class Optimizer {
 public:
  Optimizer(std::vector<ParamGroup> groups, std::string name);  ///< `name` appears in errors
  virtual ~Optimizer() = default;
  /// One update from the parameters' current gradients; a parameter without a gradient is skipped.
  virtual void step() = 0;
  void zero_grad();  ///< drops every parameter's gradient
  /// Sets every group's learning rate (an attached schedule sets it again at the next step).
  void set_lr(double lr);
  /// From the next step on, every step first sets every group's rate to schedule->lr(step), the
  /// step counted from 1 as step_count() + 1; so a schedule follows the restored step count after
  /// load_state. nullptr detaches it (the rate then stays where it is).
  void set_schedule(std::shared_ptr<const Schedule> schedule) { schedule_ = std::move(schedule); }
  const std::shared_ptr<const Schedule>& schedule() const { return schedule_; }  ///< the attached schedule, or null
  double lr(std::size_t group = 0) const { return groups_.at(group).lr; }  ///< a group's current rate
  std::vector<ParamGroup>& groups() { return groups_; }  ///< the parameter groups
  int64_t step_count() const { return step_count_; }  ///< steps taken (restored by load_state)

  /// "optim.step", "optim.lr.<group>" (the rate of the last step, or as set since), and
  /// "optim.<group>.<param>.<slot>" (e.g. "optim.0.3.exp_avg").
  NamedTensors state(const std::string& prefix = "optim.") const;
  /// Restores a state exported by state(): the step count, every group's learning rate and every
  /// slot, which must be present with the right shape. A state written before rates were saved
  /// (no "optim.lr.0") leaves the rates as they are.
  void load_state(const NamedTensors& tensors, const std::string& prefix = "optim.");

 protected:
  /// Per-parameter slots, allocated on first use; index [group][param][slot].
  Tensor& slot(std::size_t g, std::size_t p, std::size_t s);
  /// Calls fn(group, group_index, param_index, param, grad) for every parameter with a gradient.
  template <class Fn>
  void for_each_param_with_grad(Fn&& fn) {
    for (std::size_t gi = 0; gi < groups_.size(); ++gi)
      for (std::size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
        Tensor p = groups_[gi].params[pi];
        const Tensor grad = p.grad();
        if (grad.defined()) fn(groups_[gi], gi, pi, p, grad);
      }
  }
  virtual std::vector<std::string> slot_names() const = 0;  ///< names of the per-parameter state tensors, for state()
  /// Every step() starts here: counts the step and applies the attached schedule's rate for it.
  void begin_step();

  std::vector<ParamGroup> groups_;  ///< the parameter groups
  std::string name_;  ///< for errors
  int64_t step_count_ = 0;  ///< steps taken

 private:
  std::shared_ptr<const Schedule> schedule_;
  std::vector<std::vector<std::vector<Tensor>>> slots_;
};

/// Single group over `params`.
std::vector<ParamGroup> single_group(const std::vector<Tensor>& params, double lr, double weight_decay = 0.0);

/// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
/// before clipping (as torch.nn.utils.clip_grad_norm_).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace xg::optim
