#pragma once
#include <xgrad/core/tensor.hpp>

namespace xg {

/// Cross-entropy from logits (..., C) against class ids (one per row of logits, row-major).
/// Rows whose target is `ignore_index` (padding) count for nothing; the result is the mean over
/// the other rows (0, with zero gradient, when every row is ignored). With label smoothing e the
/// target distribution is (1-e) one-hot + e/C uniform, as in PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets,  ///< targets: int64, logits' shape minus C
                     int64_t ignore_index = -100, double label_smoothing = 0.0);
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets,
                     int64_t ignore_index = -100, double label_smoothing = 0.0);

}  // namespace xg
