#pragma once
/// \file
/// Relative position biases: a per-head (H, Tq, Tk) term added to self-attention's scaled scores
/// (MultiHeadAttention's attn_bias) instead of positions added to the embeddings. Both depend on
/// the positions only through the distance between query and key, so neither has an absolute
/// position it has never seen: the two ways of "train short, test long".
///   ALiBi (Press, Smith & Lewis, ICLR 2022): bias = -m_h·|i - j|, fixed slopes m_h (no parameters).
///   T5 (Raffel et al. 2020, 2.1): bias = table[bucket(j - i), h], a learned scalar per head and
///   log-spaced distance bucket, one table shared by all layers of a stack.
/// Queries sit at the last Tq of Tk positions (an incremental decoder's one query is the newest).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <xgrad/nn/layers.hpp>
#include <xgrad/nn/module.hpp>

namespace xg::nn {

/// Which additive position bias a transformer's self-attention gets.
enum class PositionBiasKind { None, ALiBi, T5 };
PositionBiasKind parse_position_bias(const std::string& name);  ///< "none", "alibi", "t5"
/// The name parse_position_bias reads.
std::string to_string(PositionBiasKind kind);

/// ALiBi's head slopes: for H a power of two, the geometric sequence 2^(-8/H), 2^(-16/H), ...,
/// 2^(-8); otherwise the slopes of the largest power of two below H, then every other slope of
/// twice that (the paper's code).
std::vector<double> alibi_slopes(int64_t heads);

/// (H, Tq, Tk): -slope_h · |(Tk - Tq + i) - j|. In a causal decoder the keys after a query are
/// masked, so this is the paper's -m·(i - j); an encoder sees both sides at the same cost.
Tensor alibi_bias(const std::vector<double>& slopes, int64_t tq, int64_t tk, DType dtype = DType::Float32);

/// T5's bucket of a relative position (key - query). bidirectional: half the buckets for keys
/// after the query; within a direction, distances below half its buckets each get their own,
/// longer ones share log-spaced buckets up to max_distance, and everything beyond the last.
int64_t t5_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets = 32, int64_t max_distance = 128);

/// A stack's position bias: computed once per forward and passed to each layer's self-attention.
class PositionBias : public Module {
 public:
  /// bidirectional: an encoder (keys on both sides); false: a causal decoder. init_std: T5's
  /// table starts N(0, init_std²) (Hugging Face's T5 uses d_model^-1/2).
  PositionBias(PositionBiasKind kind, int64_t heads, bool bidirectional, double init_std = 0.1,
               int64_t num_buckets = 32, int64_t max_distance = 128);
  Tensor forward(int64_t tq, int64_t tk, DType dtype);  ///< (H, Tq, Tk)
  std::string extra_repr() const override;
  PositionBiasKind kind;  ///< which bias
  int64_t heads;  ///< H
  bool bidirectional;  ///< an encoder's (both sides) or a causal decoder's
  /// T5's buckets and the distance where the last one starts.
  ///@{
  int64_t num_buckets, max_distance;
  ///@}
  std::shared_ptr<Embedding> table;  ///< T5: (num_buckets, H)
  std::vector<double> slopes;        ///< ALiBi
};

}  // namespace xg::nn
