#pragma once
#include <cstdint>

namespace xg {

/// A promise, for as long as it lives on this thread, that no weight changes: decoding and
/// evaluation hold one. Layers may then prepare a form of their weights once for the whole scope
/// and reuse it in every call inside it (nn::Linear does: its products run 1.5x faster on a
/// 64-row batch than when the weight is prepared per call). Guards nest; what was prepared stays
/// valid until the outermost one ends. Changing a weight inside a guard is a bug: later calls
/// would still use the prepared form of the old values.
class FixedWeightsGuard {
 public:
  FixedWeightsGuard();
  /// Joins `scope` (the scope_id() of a guard alive on another thread) on this thread, so that the
  /// threads decoding parts of one batch share one prepared form per weight. The guard that opened
  /// the scope must outlive this one. With scope 0 (no guard there), opens a new scope.
  explicit FixedWeightsGuard(uint64_t scope);
  ~FixedWeightsGuard();
  FixedWeightsGuard(const FixedWeightsGuard&) = delete;
  FixedWeightsGuard& operator=(const FixedWeightsGuard&) = delete;
  /// 0 outside any guard; inside, a number that identifies the outermost guard (never reused).
  static uint64_t scope_id();
};

}  // namespace xg
