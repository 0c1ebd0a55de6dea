#include <xgrad/nn/multi_head_attention.hpp>

#include <algorithm>
#include <fmt/format.h>

#include <xgrad/core/ops.hpp>
#include <xgrad/nn/attention_recorder.hpp>
#include <xgrad/nn/detail/attention_path.hpp>
#include <xgrad/nn/detail/fused_attention.hpp>
#include <xgrad/nn/linear_attention.hpp>
#include <xgrad/nn/memory_efficient_attention.hpp>
#include <xgrad/nn/rotary.hpp>
#include <xgrad/nn/window_attention.hpp>

namespace xg::nn {

AttentionKind parse_attention_kind(const std::string& name) {
  if (name == "standard") return AttentionKind::Standard;
  if (name == "window") return AttentionKind::Window;
  if (name == "linear") return AttentionKind::Linear;
  throw Error(fmt::format("unknown attention kind '{}' (standard, window or linear)", name));
}

std::string to_string(AttentionKind kind) {
  return kind == AttentionKind::Standard ? "standard" : kind == AttentionKind::Window ? "window" : "linear";
}

MultiHeadAttention::MultiHeadAttention(int64_t d, int64_t heads, double drop, AttentionConfig c)
    : Module("MultiHeadAttention"), d_model(d), num_heads(heads), num_kv_heads(c.num_kv_heads ? c.num_kv_heads : heads),
      dropout(drop), config(c) {
  if (heads <= 0 || d % heads != 0)
    throw ShapeError(fmt::format("MultiHeadAttention: {} heads do not divide d_model {}", heads, d));
  if (num_kv_heads <= 0 || heads % num_kv_heads != 0)
    throw ShapeError(fmt::format("MultiHeadAttention: {} key/value heads do not divide {} heads", num_kv_heads, heads));
  if (c.rotary && (d / heads) % 2 != 0)
    throw ShapeError(fmt::format("MultiHeadAttention: rotary positions need an even head size, got {}", d / heads));
  const int64_t kv_dim = num_kv_heads * (d / heads);
  q_proj = register_module("q_proj", std::make_shared<Linear>(d, d));
  k_proj = register_module("k_proj", std::make_shared<Linear>(d, kv_dim));
  v_proj = register_module("v_proj", std::make_shared<Linear>(d, kv_dim));
  out_proj = register_module("out_proj", std::make_shared<Linear>(d, d));
}

Tensor MultiHeadAttention::split_heads(const Tensor& x, int64_t heads) const {
  const int64_t B = x.shape()[0], T = x.shape()[1];
  return permute(reshape(x, {B, T, heads, d_model / num_heads}), {0, 2, 1, 3});
}

Tensor MultiHeadAttention::expand_kv_heads(const Tensor& x) const {
  if (num_kv_heads == num_heads) return x;
  std::vector<int64_t> source_head(static_cast<std::size_t>(num_heads));
  for (int64_t h = 0; h < num_heads; ++h) source_head[h] = h / (num_heads / num_kv_heads);
  return index_select(x, 1, source_head);  // its backward sums each group's gradients into the shared head
}

AttentionOutput MultiHeadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                            const Tensor& attn_mask, const Tensor& key_padding_mask, bool causal,
                                            const Tensor& attn_bias) {
  detail::AttentionCall call;
  call.config = config, call.grouped = num_kv_heads != num_heads, call.from_inputs = true, call.bias = attn_bias.defined();
  call.query_length = query.dim() == 3 ? query.shape()[1] : 0, call.key_length = key.dim() == 3 ? key.shape()[1] : 0;
  call.attn_mask = attn_mask.defined(), call.causal = causal, call.dropout = is_training() ? dropout : 0.0;
  call.recording = AttentionRecorder::active() != nullptr;
  if (detail::choose_path(call) == detail::AttentionPath::HeadsInPlace)
    return attend_in_place(query, key, value, attn_mask, key_padding_mask, causal, attn_bias);
  return attend(query, project_key_values(key, value), attn_mask, key_padding_mask, causal, attn_bias);
}

void MultiHeadAttention::check_bias(const Tensor& attn_bias, int64_t tq, int64_t tk) const {
  if (!attn_bias.defined()) return;
  if (attn_bias.shape() != Shape{num_heads, tq, tk})
    throw ShapeError(fmt::format("MultiHeadAttention: attn_bias {} for {} queries and {} keys (needs [{}, {}, {}])",
                                 shape_str(attn_bias.shape()), tq, tk, num_heads, tq, tk));
  if (config.kind != AttentionKind::Standard)
    throw Error(fmt::format("MultiHeadAttention({}): takes no attn_bias (standard attention only)", to_string(config.kind)));
}

AttentionOutput MultiHeadAttention::attend_in_place(const Tensor& query, const Tensor& key, const Tensor& value,
                                                    const Tensor& attn_mask, const Tensor& key_padding_mask,
                                                    bool causal, const Tensor& attn_bias) {
  check_key_value(key, value);  // the other path checks them in project_key_values
  check_query(query);
  if (key.shape()[0] != query.shape()[0])
    throw ShapeError(fmt::format("MultiHeadAttention: query {} and key {} (batch sizes differ)",
                                 shape_str(query.shape()), shape_str(key.shape())));
  const int64_t Tq = query.shape()[1], Tk = key.shape()[1];
  check_bias(attn_bias, Tq, Tk);
  const Tensor q = q_proj->forward(query), k = k_proj->forward(key), v = v_proj->forward(value);  // (B, T, D)
  const Tensor mask = causal && Tq > 1 ? detail::causal_mask_aligned_to_end(Tq, Tk, q.dtype()) : attn_mask;
  // The same multipliers, drawn in the same order, as scaled_dot_product_attention would draw.
  const double attention_dropout = is_training() ? dropout : 0.0;
  const Tensor keep = attention_dropout > 0
                          ? dropout_multipliers({query.shape()[0], num_heads, Tq, Tk}, attention_dropout, q.dtype())
                          : Tensor();
  const detail::FusedAttentionResult r =
      detail::fused_attention_heads_last(q, k, v, num_heads, mask, key_padding_mask, keep, attn_bias.defined() ? attn_bias.to(q.dtype()) : Tensor());
  return {out_proj->forward(r.context), r.weights};  // context (B, Tq, D)
}

void MultiHeadAttention::check_query(const Tensor& query) const {
  if (query.dim() != 3 || query.shape()[2] != d_model)
    throw ShapeError(fmt::format("MultiHeadAttention: query {} (needs (B, T, {}))", shape_str(query.shape()), d_model));
}

void MultiHeadAttention::check_key_value(const Tensor& key, const Tensor& value) const {
  if (key.dim() != 3 || key.shape()[2] != d_model || value.shape() != key.shape())
    throw ShapeError(fmt::format("MultiHeadAttention: key {} and value {} (need (B, T, {}))", shape_str(key.shape()),
                                 shape_str(value.shape()), d_model));
}

KeyValues MultiHeadAttention::project_key_values(const Tensor& key, const Tensor& value, int64_t position) {
  check_key_value(key, value);
  Tensor k = split_heads(k_proj->forward(key), num_kv_heads);  // (B, H_kv, Tk, dh)
  if (config.rotary) k = apply_rotary(k, position);
  return {k, split_heads(v_proj->forward(value), num_kv_heads)};
}


Tensor MultiHeadAttention::attention_context(const Tensor& q, const KeyValues& kv, const Tensor& attn_mask,
                                             const Tensor& key_padding_mask, bool causal, const Tensor& attn_bias,
                                             Tensor& weights) {
  const int64_t Tq = q.shape()[2], Tk = kv.length();
  check_bias(attn_bias, Tq, Tk);
  const Tensor bias = attn_bias.defined() ? attn_bias.to(q.dtype()) : Tensor();
  detail::AttentionCall call;
  call.config = config, call.grouped = num_kv_heads != num_heads, call.buffered_cache = kv.buffered(), call.bias = bias.defined();
  call.query_length = Tq, call.key_length = Tk, call.attn_mask = attn_mask.defined(), call.causal = causal;
  call.dropout = is_training() ? dropout : 0.0, call.query_needs_grad = grad_mode_enabled() && q.requires_grad();
  AttentionRecorder* recorder = AttentionRecorder::active();
  call.recording = recorder != nullptr;
  const detail::AttentionPath path = detail::choose_path(call);
  if (path == detail::AttentionPath::CachedQuery) {
    detail::FusedAttentionResult r = detail::cached_query_attention(q, kv.key_buffer(), kv.value_buffer(), Tk, key_padding_mask, bias);
    weights = r.weights;
    return r.context;
  }
  const Tensor k = expand_kv_heads(kv.k()), v = expand_kv_heads(kv.v());
  if (config.kind != AttentionKind::Standard && attn_mask.defined())
    throw Error(fmt::format("MultiHeadAttention({}): takes causal/key-padding masks, not an attn_mask", to_string(config.kind)));
  if (causal && attn_mask.defined() && config.kind == AttentionKind::Standard)
    throw Error("MultiHeadAttention: give either causal or an attn_mask, not both");
  Tensor context, mask;  // mask: formed only where the (Tq, Tk) weights are
  switch (path) {
    case detail::AttentionPath::Window: context = window_context(q, k, v, key_padding_mask, causal); break;
    case detail::AttentionPath::Linear:
      if (causal && Tq != Tk && Tq != 1)
        throw ShapeError(fmt::format("MultiHeadAttention(linear): {} causal queries for {} keys (needs equal lengths, or one query)", Tq, Tk));
      context = linear_attention(q, k, v, causal && Tq == Tk && Tq > 1, key_padding_mask);  // one last query sees every key
      break;
    case detail::AttentionPath::MemoryEfficient: context = memory_efficient_attention(q, k, v, key_padding_mask, causal); break;
    default: {
      mask = causal && Tq > 1 ? detail::causal_mask_aligned_to_end(Tq, Tk, q.dtype()) : attn_mask;
      AttentionOutput a = scaled_dot_product_attention(q, k, v, mask, key_padding_mask, call.dropout, bias);
      weights = a.weights;
      context = a.context;
    }
  }
  if (recorder) recorder->add({this, q, k, v, mask, key_padding_mask, bias, weights, context});
  return context;
}

Tensor MultiHeadAttention::window_context(const Tensor& q, const Tensor& k, const Tensor& v,
                                          const Tensor& key_padding_mask, bool causal) const {
  const int64_t Tq = q.shape()[2], Tk = k.shape()[2];
  if (Tq == Tk) return sliding_window_attention(q, k, v, config.window, config.global_tokens, causal, key_padding_mask);
  if (Tq != 1 || !causal)
    throw ShapeError(fmt::format("MultiHeadAttention(window): {} queries for {} keys (needs equal lengths, or one causal query)", Tq, Tk));
  // One new position of an incremental decoder: the global prefix and the last window+1 keys.
  const int64_t global = std::min(config.global_tokens, Tk), from = std::max(global, Tk - 1 - config.window);
  Tensor keys = narrow(k, 2, from, Tk - from), values = narrow(v, 2, from, Tk - from);
  Tensor mask = key_padding_mask.defined() ? narrow(key_padding_mask, 1, from, Tk - from) : Tensor();
  if (global > 0) {
    keys = concat({narrow(k, 2, 0, global), keys}, 2);
    values = concat({narrow(v, 2, 0, global), values}, 2);
    if (mask.defined()) mask = concat({narrow(key_padding_mask, 1, 0, global), mask}, 1);
  }
  return scaled_dot_product_attention(q, keys, values, Tensor(), mask).context;
}

AttentionOutput MultiHeadAttention::attend(const Tensor& query, const KeyValues& kv, const Tensor& attn_mask,
                                           const Tensor& key_padding_mask, bool causal, const Tensor& attn_bias) {
  if (query.dim() != 3 || query.shape()[2] != d_model || kv.empty() || kv.batch() != query.shape()[0])
    throw ShapeError(fmt::format("MultiHeadAttention: query {} and keys {} (need (B, T, {}) and (B, H_kv, Tk, dh))",
                                 shape_str(query.shape()), kv.empty() ? "none" : shape_str(kv.k().shape()),
                                 d_model));
  const int64_t B = query.shape()[0], Tq = query.shape()[1];
  Tensor q = split_heads(q_proj->forward(query), num_heads);  // (B, H, Tq, dh)
  if (config.rotary) q = apply_rotary(q, kv.length() - Tq);   // queries are the last Tq positions
  Tensor weights;
  const Tensor context = attention_context(q, kv, attn_mask, key_padding_mask, causal, attn_bias, weights);  // (B, H, Tq, dh)
  const Tensor merged = reshape(permute(context, {0, 2, 1, 3}), {B, Tq, d_model});                // (B, Tq, D)
  return {out_proj->forward(merged), weights};
}

std::string MultiHeadAttention::extra_repr() const {
  std::string s = fmt::format("d_model={}, heads={}, dropout={}", d_model, num_heads, dropout);
  if (num_kv_heads != num_heads) s += fmt::format(", kv_heads={}", num_kv_heads);
  if (config.kind != AttentionKind::Standard) s += ", kernel=" + to_string(config.kind);
  if (config.kind == AttentionKind::Window) s += fmt::format(", window={}, global={}", config.window, config.global_tokens);
  if (config.rotary) s += ", rotary";
  return s;
}

}  // namespace xg::nn
