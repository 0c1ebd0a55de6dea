#pragma once
/// \file
/// The output layer and its loss in one op: cross_entropy(linear(x, weight, bias), targets) without
/// ever holding the (N, V) logits or log-probabilities. With a real vocabulary (V = 8,000-32,000)
/// those dominate a translation model's memory: (2,000 target tokens x 8,000) floats are 64 MB, and
/// cross_entropy keeps its log-probabilities in double beside them. Here rows are taken a chunk at
/// a time: the forward keeps one (chunk, V) buffer and each row's log-sum-exp; the backward
/// recomputes a chunk's logits, turns them into the gradient of the logits in place, and multiplies
/// it into dx, dW and db. The same value and gradients as the composed ops, up to rounding.
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg {

/// x (..., D), weight (V, D), bias (V) or undefined, targets int64 of x's shape without its last
/// axis (or a vector of one per row); ignore_index and label_smoothing as cross_entropy. The rows
/// are processed `chunk_rows` at a time (0: as many as keep a chunk near 4M logits).
Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& targets,
                            int64_t ignore_index = -100, double label_smoothing = 0.0, int64_t chunk_rows = 0);
/// The same with targets as a vector (one per row of x).
Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias,
                            const std::vector<int64_t>& targets, int64_t ignore_index = -100,
                            double label_smoothing = 0.0, int64_t chunk_rows = 0);

}  // namespace xg
