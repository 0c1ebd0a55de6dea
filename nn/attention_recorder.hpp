#pragma once
/// \file
/// Seeing inside MultiHeadAttention: while an AttentionRecorder is alive on a thread, every
/// MultiHeadAttention call on that thread computes its softmax weights explicitly (the standard
/// path; same function, see tests/test_attention_recorder.cpp) and leaves a record of the heads'
/// queries, keys, values, additive terms and weights. The attention explorer
/// (xgrad-translate explain) draws from it; a user can inspect any model the same way:
///
///   nn::AttentionRecorder recorder;
///   model.forward(...);
///   for (const auto& r : recorder.records()) ... r.weights ...   // (B, H, Tq, Tk)
///
/// Window and linear attention never form the weights; their calls leave records with the queries,
/// keys and values and an undefined `weights`. The RNN decoders' attention layers leave one
/// SourceAttentionRecord per decoding step.
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg::nn {

class Module;
class MultiHeadAttention;

/// One MultiHeadAttention call, as recorded by an AttentionRecorder.
struct AttentionRecord {
  const MultiHeadAttention* module = nullptr;  ///< which layer (match against named_modules())
  Tensor query;    ///< (B, H, Tq, dh): projected, split into heads, rotated when rotary
  Tensor key;      ///< (B, H, Tk, dh): the key heads each query head read (grouped heads expanded)
  Tensor value;    ///< (B, H, Tk, dh)
  Tensor mask;     ///< (Tq, Tk), 1 where query i may not see key j (causal, or the caller's attn_mask), or undefined
  Tensor key_padding_mask;  ///< (B, Tk), 1 at padding, or undefined
  Tensor bias;     ///< (H, Tq, Tk) additive position bias, or undefined
  Tensor weights;  ///< (B, H, Tq, Tk): softmax(query key^T / sqrt(dh) + bias) over unhidden keys; undefined for window/linear
  Tensor context;  ///< (B, H, Tq, dh): weights · value, before the heads are merged and projected
};

/// One step of an RNN decoder's attention over the source: BahdanauAttention, LuongAttention,
/// LuongLocalAttention (nn/attention.hpp, nn/local_attention.hpp).
struct SourceAttentionRecord {
  const Module* module = nullptr;  ///< which layer
  Tensor scores;   ///< (B, S) before the softmax: vᵀ tanh(W s + U h_i), or Luong's score; padding not yet masked
  Tensor weights;  ///< (B, S)
  Tensor centres;  ///< (B): local-p's predicted positions p_t; undefined for global attention
  int64_t window = 0;  ///< local-p: the half-width D of the window [p_t - D, p_t + D]
};

/// Records every attention computed on this thread while it lives (docs/attention_family.md,
/// "Looking inside").
class AttentionRecorder {
 public:
  AttentionRecorder();   ///< becomes the thread's active recorder (nesting: the innermost records)
  ~AttentionRecorder();  ///< restores the previous one
  AttentionRecorder(const AttentionRecorder&) = delete;
  AttentionRecorder& operator=(const AttentionRecorder&) = delete;

  const std::vector<AttentionRecord>& records() const { return records_; }  ///< MultiHeadAttention calls, in order
  const std::vector<SourceAttentionRecord>& source_records() const { return source_records_; }  ///< RNN attention steps, in order
  void clear() { records_.clear(), source_records_.clear(); }  ///< forgets what was recorded

  /// The thread's active recorder, or nullptr. MultiHeadAttention calls add() on it.
  static AttentionRecorder* active();
  /// Appends a record (called by the attention layers).
  ///@{
  void add(AttentionRecord record) { records_.push_back(std::move(record)); }
  void add(SourceAttentionRecord record) { source_records_.push_back(std::move(record)); }
  ///@}

 private:
  std::vector<AttentionRecord> records_;
  std::vector<SourceAttentionRecord> source_records_;
  AttentionRecorder* previous_;
};

}  // namespace xg::nn
