#include <xgrad/optim/optimizer.hpp>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <vector>

#include <xgrad/core/detail/parallel.hpp>

namespace xg::optim {

std::vector<ParamGroup> single_group(const std::vector<Tensor>& params, double lr, double weight_decay) {
  return {ParamGroup{params, lr, weight_decay}};
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, std::string name)
    : groups_(std::move(groups)), name_(std::move(name)) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    if (!(groups_[g].lr >= 0)) throw Error(fmt::format("{}: learning rate {} of group {} is negative", name_, groups_[g].lr, g));
    for (std::size_t p = 0; p < groups_[g].params.size(); ++p)
      if (!groups_[g].params[p].defined() || !groups_[g].params[p].requires_grad())
        throw Error(fmt::format("{}: parameter {} of group {} is undefined or does not require grad", name_, p, g));
  }
  slots_.resize(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) slots_[g].resize(groups_[g].params.size());
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  for (auto& g : groups_) g.lr = lr;
}

Tensor& Optimizer::slot(std::size_t g, std::size_t p, std::size_t s) {
  auto& v = slots_[g][p];
  if (v.empty()) {
    const Tensor& param = groups_[g].params[p];
    for (std::size_t i = 0; i < slot_names().size(); ++i) v.push_back(Tensor::empty(param.shape(), param.dtype()));
  }
  return v[s];
}

void Optimizer::begin_step() {
  ++step_count_;
  if (schedule_) set_lr(schedule_->lr(step_count_));
}

NamedTensors Optimizer::state(const std::string& prefix) const {
  NamedTensors out;
  out.emplace_back(prefix + "step", Tensor::from_vector({static_cast<double>(step_count_)}, {}, DType::Float64));
  for (std::size_t g = 0; g < groups_.size(); ++g)
    out.emplace_back(fmt::format("{}lr.{}", prefix, g), Tensor::from_vector({groups_[g].lr}, {}, DType::Float64));
  const auto names = slot_names();
  for (std::size_t g = 0; g < slots_.size(); ++g)
    for (std::size_t p = 0; p < slots_[g].size(); ++p)
      for (std::size_t s = 0; s < slots_[g][p].size(); ++s)
        out.emplace_back(fmt::format("{}{}.{}.{}", prefix, g, p, names[s]), slots_[g][p][s]);
  return out;
}

void Optimizer::load_state(const NamedTensors& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> by_name(tensors.begin(), tensors.end());
  auto it = by_name.find(prefix + "step");
  if (it == by_name.end()) throw FormatError(fmt::format("{}: optimiser state has no '{}step'", name_, prefix));
  // Checked before the cast: a NaN or negative step (a hand-edited file) turned every parameter
  // into NaN at the first update through the bias corrections.
  if (it->second.numel() != 1)
    throw FormatError(fmt::format("{}: '{}step' has shape {}, expected one value", name_, prefix, shape_str(it->second.shape())));
  const double step_value = it->second.item();
  if (!(step_value >= 0 && step_value <= 1e15) || step_value != std::floor(step_value))
    throw FormatError(fmt::format("{}: '{}step' is {}, not a step count (a non-negative integer)", name_, prefix, step_value));
  const auto step = static_cast<int64_t>(step_value);
  const auto names = slot_names();
  std::vector<std::vector<std::vector<Tensor>>> loaded(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    loaded[g].resize(groups_[g].params.size());
    for (std::size_t p = 0; p < groups_[g].params.size(); ++p) {
      const Tensor& param = groups_[g].params[p];
      std::size_t found = 0;
      for (std::size_t s = 0; s < names.size(); ++s) {
        const std::string key = fmt::format("{}{}.{}.{}", prefix, g, p, names[s]);
        auto t = by_name.find(key);
        if (t == by_name.end()) continue;
        if (t->second.shape() != param.shape())
          throw FormatError(fmt::format("{}: '{}' has shape {} but the parameter has {}", name_, key,
                                        shape_str(t->second.shape()), shape_str(param.shape())));
        Tensor copy = Tensor::empty(param.shape(), param.dtype());
        copy.copy_(t->second);
        loaded[g][p].push_back(copy);
        ++found;
      }
      if (found != 0 && found != names.size())
        throw FormatError(fmt::format("{}: parameter {}.{} has {} of its {} state slots", name_, g, p, found, names.size()));
      if (found == 0 && step > 0 && !names.empty())
        throw FormatError(fmt::format("{}: no state for parameter {}.{} after {} steps", name_, g, p, step));
    }
  }
  std::vector<double> rates;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    auto lr = by_name.find(fmt::format("{}lr.{}", prefix, g));
    if (lr == by_name.end()) {
      if (g == 0) break;  // an older state without rates
      throw FormatError(fmt::format("{}: optimiser state has a rate for group 0 but none for group {}", name_, g));
    }
    const double value = lr->second.numel() == 1 ? lr->second.item() : NAN;
    if (!(value >= 0 && value < 1e6))
      throw FormatError(fmt::format("{}: '{}lr.{}' is {} (needs one finite, non-negative rate)", name_, prefix, g, value));
    rates.push_back(value);
  }
  slots_ = std::move(loaded);
  step_count_ = step;
  for (std::size_t g = 0; g < rates.size(); ++g) groups_[g].lr = rates[g];
}

namespace {
// Σ x² in fixed chunks whose partial sums are added in chunk order: the same bits on any number
// of threads.
template <class T>
double sum_of_squares(const T* x, int64_t n) {
  constexpr int64_t kChunk = 8192;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
  XG_PRAGMA(omp parallel for if (n > kParallelGrain) schedule(static))
  for (int64_t c = 0; c < chunks; ++c) {
    double s = 0;
    for (int64_t i = c * kChunk, end = std::min(n, (c + 1) * kChunk); i < end; ++i)
      s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    partial[static_cast<std::size_t>(c)] = s;
  }
  double total = 0;
  for (double s : partial) total += s;
  return total;
}
}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  double total = 0;
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      total += sum_of_squares(g.data<T>(), g.numel());
    });
  }
  const double norm = std::sqrt(total);
  const double scale = max_norm / (norm + 1e-6);  // the 1e-6 as in PyTorch
  if (scale < 1.0)
    for (const auto& p : params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      dispatch(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* pg = g.data<T>();
        const int64_t n = g.numel();
        XG_PARALLEL_FOR(n)
        for (int64_t i = 0; i < n; ++i) pg[i] = static_cast<T>(pg[i] * scale);
      });
    }
  return norm;
}

}  // namespace xg::optim
