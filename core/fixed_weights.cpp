#include <xgrad/core/fixed_weights.hpp>

#include <atomic>

namespace xg {

namespace {
std::atomic<uint64_t> g_next_scope{1};
thread_local uint64_t t_scope = 0;
thread_local int t_depth = 0;
}  // namespace

FixedWeightsGuard::FixedWeightsGuard() {
  if (t_depth++ == 0) t_scope = g_next_scope.fetch_add(1, std::memory_order_relaxed);
}
FixedWeightsGuard::FixedWeightsGuard(uint64_t scope) {
  if (t_depth++ == 0) t_scope = scope != 0 ? scope : g_next_scope.fetch_add(1, std::memory_order_relaxed);
}
FixedWeightsGuard::~FixedWeightsGuard() {
  if (--t_depth == 0) t_scope = 0;
}
uint64_t FixedWeightsGuard::scope_id() { return t_scope; }

}  // namespace xg
