#pragma once
// Internal: which implementation computes a MultiHeadAttention call. One function decides, from
// what the call asks for; tests/test_attention_path.cpp holds its table.
#include <cstdint>

#include <xgrad/nn/multi_head_attention.hpp>

namespace xg::nn::detail {

enum class AttentionPath {
  HeadsInPlace,     // forward(): fused_attention_heads_last on the (B, T, H·d) projections as they are
  CachedQuery,      // attend(): one new query against a growing cache, read where it grows
  Window,           // sliding_window_attention (or its one-query form while decoding)
  Linear,           // linear_attention
  MemoryEfficient,  // memory_efficient_attention: tiled, the (Tq, Tk) weights never formed
  Standard,         // scaled_dot_product_attention on (B, H, T, d) heads
};
const char* to_string(AttentionPath path);

// What one call asks for.
struct AttentionCall {
  AttentionConfig config;
  bool grouped = false;        // fewer key/value heads than query heads
  bool from_inputs = false;    // forward() with the raw key and value (not projected keys yet)
  bool buffered_cache = false; // attend() on a KeyValues cache with room to grow
  int64_t query_length = 1, key_length = 1;
  bool attn_mask = false, causal = false;
  bool bias = false;           // an additive (H, Tq, Tk) bias (position biases)
  double dropout = 0.0;        // attention dropout in effect (0 in eval mode)
  bool query_needs_grad = false;
  bool recording = false;      // an nn::AttentionRecorder is active: form the weights, split the heads
};

AttentionPath choose_path(const AttentionCall& call);

// (Tq, Tk) mask hiding key j from query i when j > i + (Tk - Tq): queries at the last Tq positions.
Tensor causal_mask_aligned_to_end(int64_t tq, int64_t tk, DType dtype);

}  // namespace xg::nn::detail
