#include <xgrad/core/parallel_backward.hpp>

#include <exception>
#include <fmt/format.h>
#include <omp.h>
#include <optional>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/errors.hpp>
#include <xgrad/core/fixed_weights.hpp>
#include <xgrad/core/random.hpp>
#include <xgrad/core/runtime.hpp>

namespace xg {

namespace {
double backward_of(const Tensor& loss) {
  if (!loss.defined() || loss.numel() != 1)
    throw ShapeError(fmt::format("parallel_backward: a part's loss must be a scalar, got {}",
                                 loss.defined() ? shape_str(loss.shape()) : std::string("an undefined tensor")));
  const double value = loss.item();
  loss.backward();
  return value;
}
}  // namespace

std::vector<double> parallel_backward(int64_t parts, const std::function<Tensor(int64_t part)>& part_loss) {
  if (parts < 1) throw Error(fmt::format("parallel_backward: {} parts (need at least 1)", parts));
  if (parts == 1) return {backward_of(part_loss(0))};
  std::vector<Generator> generators;
  for (int64_t p = 0; p < parts; ++p) generators.emplace_back(default_generator().next_u64());
  std::vector<LeafGradStore> stores(static_cast<std::size_t>(parts));
  std::vector<double> losses(static_cast<std::size_t>(parts));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(parts));
  const bool grad_mode = grad_mode_enabled();
  const uint64_t fixed_scope = FixedWeightsGuard::scope_id();
#pragma omp parallel for schedule(static, 1)
  for (int64_t p = 0; p < parts; ++p) {
    const auto i = static_cast<std::size_t>(p);
    try {  // guards are per thread, and this one may be an OpenMP worker
      one_thread_per_nested_region();
      std::optional<NoGradGuard> no_grad;
      if (!grad_mode) no_grad.emplace();
      std::optional<FixedWeightsGuard> fixed;
      if (fixed_scope != 0) fixed.emplace(fixed_scope);
      GeneratorGuard own_generator(generators[i]);
      LeafGradStoreGuard own_gradients(stores[i]);
      losses[i] = backward_of(part_loss(p));
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  for (auto& store : stores) store.add_into_leaves();  // part order: the same sums on every run
  return losses;
}

}  // namespace xg
