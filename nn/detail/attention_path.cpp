#include <xgrad/nn/detail/attention_path.hpp>

namespace xg::nn::detail {

const char* to_string(AttentionPath path) {
  switch (path) {
    case AttentionPath::HeadsInPlace: return "heads-in-place";
    case AttentionPath::CachedQuery: return "cached-query";
    case AttentionPath::Window: return "window";
    case AttentionPath::Linear: return "linear";
    case AttentionPath::MemoryEfficient: return "memory-efficient";
    case AttentionPath::Standard: return "standard";
  }
  return "?";
}

AttentionPath choose_path(const AttentionCall& c) {
  const AttentionConfig& cfg = c.config;
  // Above this key length the (Tq, Tk) weights cost more memory than they are worth
  // (nn/memory_efficient_attention.hpp); the fused paths, which form them, step aside.
  const bool long_keys = cfg.memory_efficient_from > 0 && c.key_length >= cfg.memory_efficient_from;
  if (cfg.kind == AttentionKind::Window) return AttentionPath::Window;
  if (cfg.kind == AttentionKind::Linear) return AttentionPath::Linear;
  if (c.recording) return AttentionPath::Standard;  // the one path that forms every head's weights from split heads
  if (c.from_inputs)
    // Rotary angles and grouped heads need the heads split out first; dropout of 1 and a causal
    // flag beside an explicit mask are left to the general path (which reports the latter).
    return !cfg.rotary && !c.grouped && !long_keys && !(c.causal && c.attn_mask) && c.dropout < 1.0
               ? AttentionPath::HeadsInPlace
               : AttentionPath::Standard;  // attend() decides again once the keys are projected
  if (c.buffered_cache && c.query_length == 1 && !c.attn_mask && c.dropout == 0.0 && !c.query_needs_grad && !long_keys)
    return AttentionPath::CachedQuery;
  if (long_keys && !c.attn_mask && !c.bias && c.dropout == 0.0) return AttentionPath::MemoryEfficient;
  return AttentionPath::Standard;
}

}  // namespace xg::nn::detail
