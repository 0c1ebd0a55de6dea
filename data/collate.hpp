#pragma once
/// \file
/// Collate functions: turn a batch's items into tensors.
#include <cstdint>
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg::data {

/// Stacks each field along a new first axis: items {x (D), y ()} become {X (B, D), Y (B)}, as
/// torch's default_collate does for a TensorDataset. Every item needs the same fields, shapes and
/// dtypes (the error names the item and the field).
std::vector<Tensor> stack_items(const std::vector<std::vector<Tensor>>& items);

/// Id sequences of different lengths padded with `pad` to the longest: ids (B, L) and lengths
/// (B), both int64.
struct PaddedSequences {
  Tensor ids;      ///< (B, L) int64, padded
  Tensor lengths;  ///< (B) int64
};
/// See PaddedSequences.
PaddedSequences pad_sequences(const std::vector<std::vector<int64_t>>& sequences, int64_t pad);

}  // namespace xg::data
