#include <xgrad/optim/schedule.hpp>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/errors.hpp>

namespace xg::optim {

StepSchedule::StepSchedule(double lr, int64_t step_size, double gamma) : lr_(lr), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) throw Error(fmt::format("StepSchedule: step_size {} must be positive", step_size));
}
double StepSchedule::lr(int64_t step) const {
  return lr_ * std::pow(gamma_, static_cast<double>((std::max<int64_t>(step, 1) - 1) / step_size_));
}

InverseSqrtSchedule::InverseSqrtSchedule(int64_t d_model, int64_t warmup, double scale)
    : d_model_(d_model), warmup_(warmup), scale_(scale) {
  if (d_model <= 0 || warmup <= 0)
    throw Error(fmt::format("InverseSqrtSchedule: d_model {} and warmup {} must be positive", d_model, warmup));
}
double InverseSqrtSchedule::lr(int64_t step) const {
  const double s = static_cast<double>(std::max<int64_t>(step, 1));
  return scale_ / std::sqrt(static_cast<double>(d_model_)) *
         std::min(1.0 / std::sqrt(s), s * std::pow(static_cast<double>(warmup_), -1.5));
}

CosineSchedule::CosineSchedule(double peak, int64_t warmup, int64_t total, double min_lr)
    : peak_(peak), warmup_(warmup), total_(total), min_lr_(min_lr) {
  if (warmup < 0 || total <= warmup)
    throw Error(fmt::format("CosineSchedule: needs 0 <= warmup ({}) < total ({})", warmup, total));
}
double CosineSchedule::lr(int64_t step) const {
  if (step <= warmup_) return peak_ * static_cast<double>(std::max<int64_t>(step, 1)) / static_cast<double>(std::max<int64_t>(warmup_, 1));
  const double progress = std::min(1.0, static_cast<double>(step - warmup_) / static_cast<double>(total_ - warmup_));
  return min_lr_ + 0.5 * (peak_ - min_lr_) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace xg::optim
