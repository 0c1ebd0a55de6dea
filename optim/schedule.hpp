#pragma once
/// \file
/// Learning-rate schedules: lr(step) for step = 1, 2, ... (the step about to be taken).
#include <cstdint>
#include <memory>
#include <string>

namespace xg::optim {

/// A learning rate as a function of the step; attach one with Optimizer::set_schedule.
class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double lr(int64_t step) const = 0;  ///< the rate of step `step` (from 1)
};

/// The same rate at every step.
class ConstantSchedule : public Schedule {
 public:
  explicit ConstantSchedule(double lr) : lr_(lr) {}  ///< always `lr`
  double lr(int64_t) const override { return lr_; }  ///< the constant rate

 private:
  double lr_;
};

/// lr · gamma^floor((step-1) / step_size), as torch.optim.lr_scheduler.StepLR.
class StepSchedule : public Schedule {
 public:
  StepSchedule(double lr, int64_t step_size, double gamma);  ///< see the class description
  double lr(int64_t step) const override;  ///< lr * gamma^floor((step-1)/step_size)

 private:
  double lr_;
  int64_t step_size_;
  double gamma_;
};

/// Vaswani et al. 2017, eq. 3: lr = scale · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5):
/// linear warm-up to its peak at `warmup`, then decay with the inverse square root of the step.
class InverseSqrtSchedule : public Schedule {
 public:
  InverseSqrtSchedule(int64_t d_model, int64_t warmup, double scale = 1.0);  ///< see the class description
  double lr(int64_t step) const override;  ///< the rate of eq. 3
  double peak() const { return lr(warmup_); }  ///< the rate at the end of warm-up

 private:
  int64_t d_model_, warmup_;
  double scale_;
};

/// Linear warm-up from 0 to `peak` over `warmup` steps, then cosine decay to `min_lr` at `total`.
class CosineSchedule : public Schedule {
 public:
  CosineSchedule(double peak, int64_t warmup, int64_t total, double min_lr = 0.0);  ///< see the class description
  double lr(int64_t step) const override;  ///< warm-up, then cosine decay

 private:
  double peak_;
  int64_t warmup_, total_;
  double min_lr_;
};

}  // namespace xg::optim
