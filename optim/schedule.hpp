#pragma once
// Learning-rate schedules: lr(step) for step = 1, 2, ... (the step about to be taken).
#include <cstdint>
#include <memory>
#include <string>

namespace xg::optim {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double lr(int64_t step) const = 0;
};

class ConstantSchedule : public Schedule {
 public:
  explicit ConstantSchedule(double lr) : lr_(lr) {}
  double lr(int64_t) const override { return lr_; }

 private:
  double lr_;
};

// lr · gamma^floor((step-1) / step_size), as torch.optim.lr_scheduler.StepLR.
class StepSchedule : public Schedule {
 public:
  StepSchedule(double lr, int64_t step_size, double gamma);
  double lr(int64_t step) const override;

 private:
  double lr_;
  int64_t step_size_;
  double gamma_;
};

// Vaswani et al. 2017, eq. 3: lr = scale · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5):
// linear warm-up to its peak at `warmup`, then decay with the inverse square root of the step.
class InverseSqrtSchedule : public Schedule {
 public:
  InverseSqrtSchedule(int64_t d_model, int64_t warmup, double scale = 1.0);
  double lr(int64_t step) const override;
  double peak() const { return lr(warmup_); }

 private:
  int64_t d_model_, warmup_;
  double scale_;
};

// Linear warm-up from 0 to `peak` over `warmup` steps, then cosine decay to `min_lr` at `total`.
class CosineSchedule : public Schedule {
 public:
  CosineSchedule(double peak, int64_t warmup, int64_t total, double min_lr = 0.0);
  double lr(int64_t step) const override;

 private:
  double peak_;
  int64_t warmup_, total_;
  double min_lr_;
};

}  // namespace xg::optim
