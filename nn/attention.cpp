#include "nn/attention.hpp"

#include <cmath>
#include <fmt/format.h>

#include "core/ops.hpp"
#include "nn/attention_kernels.hpp"
#include "nn/detail/key_padding.hpp"
#include "nn/fused_attention.hpp"
#include "nn/linear_attention.hpp"
#include "nn/memory_efficient_attention.hpp"
#include "nn/rotary.hpp"
#include "nn/window_attention.hpp"

namespace xg::nn {

namespace {
void check_query_keys(const char* op, const Tensor& query, const Tensor& keys, const Tensor& mask) {
  if (query.dim() != 2 || keys.dim() != 3 || keys.shape()[0] != query.shape()[0])
    throw ShapeError(fmt::format("{}: query {} and keys {} (need (B, Dq) and (B, S, Dk))", op,
                                 shape_str(query.shape()), shape_str(keys.shape())));
  if (mask.defined() && mask.shape() != Shape{keys.shape()[0], keys.shape()[1]})
    throw ShapeError(fmt::format("{}: key_padding_mask {} for keys {} (needs (B, S))", op,
                                 shape_str(mask.shape()), shape_str(keys.shape())));
}

// scores (B, S) -> weights (B, S); context = weights · values (B, Dv)
AttentionOutput attend(const Tensor& scores, const Tensor& values, const Tensor& key_padding_mask) {
  const Tensor masked = key_padding_mask.defined() ? masked_fill(scores, key_padding_mask, -INFINITY) : scores;
  const Tensor weights = softmax(masked, -1);
  return {weighted_sum(weights, values), weights};
}
}  // namespace

BahdanauAttention::BahdanauAttention(int64_t query_dim, int64_t key_dim, int64_t attention_dim)
    : SourceAttention("BahdanauAttention") {
  query_layer = register_module("query_layer", std::make_shared<Linear>(query_dim, attention_dim, false));
  key_layer = register_module("key_layer", std::make_shared<Linear>(key_dim, attention_dim, false));
  energy_layer = register_module("energy_layer", std::make_shared<Linear>(attention_dim, 1, false));
}

Tensor BahdanauAttention::project_keys(const Tensor& keys) const { return key_layer->forward(keys); }

AttentionOutput BahdanauAttention::forward(const Tensor& query, const Tensor& projected_keys,
                                           const Tensor& values, const Tensor& key_padding_mask) const {
  check_query_keys("BahdanauAttention", query, projected_keys, key_padding_mask);
  // vᵀ tanh(W s + U h_i) for every i in one fused op: (B, S)
  const Tensor scores = additive_scores(query_layer->forward(query), projected_keys, energy_layer->weight);
  return attend(scores, values, key_padding_mask);
}

std::string BahdanauAttention::extra_repr() const {
  return fmt::format("query={}, key={}, attention={}", query_layer->in_features, key_layer->in_features,
                     key_layer->out_features);
}

LuongAttention::LuongAttention(Score s, int64_t query_dim, int64_t key_dim, int64_t attention_dim)
    : Module("LuongAttention"), score(s) {
  if (s == Score::Dot && query_dim != key_dim)
    throw ShapeError(fmt::format("LuongAttention(dot): query dim {} != key dim {}", query_dim, key_dim));
  if (s == Score::General) general = register_module("general", std::make_shared<Linear>(key_dim, query_dim, false));
  if (s == Score::Concat) {
    if (attention_dim <= 0) attention_dim = query_dim;
    // W [h_t; h_s] = W_q h_t + W_k h_s: two blocks of one matrix, so keys project once per batch.
    concat_query = register_module("concat_query", std::make_shared<Linear>(query_dim, attention_dim, false));
    concat_key = register_module("concat_key", std::make_shared<Linear>(key_dim, attention_dim, false));
    concat_v = register_module("concat_v", std::make_shared<Linear>(attention_dim, 1, false));
  }
}

AttentionOutput LuongAttention::forward(const Tensor& query, const Tensor& keys,
                                        const Tensor& key_padding_mask) const {
  check_query_keys("LuongAttention", query, keys, key_padding_mask);
  Tensor scores;
  if (score == Score::Concat) {
    scores = additive_scores(concat_query->forward(query), concat_key->forward(keys), concat_v->weight);
  } else {
    const Tensor k = score == Score::General ? general->forward(keys) : keys;  // (B, S, Dq)
    if (k.shape()[2] != query.shape()[1])
      throw ShapeError(fmt::format("LuongAttention: query {} and keys {}", shape_str(query.shape()),
                                   shape_str(keys.shape())));
    scores = squeeze(matmul(k, unsqueeze(query, 2)), 2);  // (B,S,D)x(B,D,1) -> (B, S)
  }
  return attend(scores, keys, key_padding_mask);
}

std::string LuongAttention::extra_repr() const {
  return score == Score::Dot ? "dot" : score == Score::General ? "general" : "concat";
}

namespace {
// (Tq, Tk) mask hiding key j from query i when j > i + (Tk - Tq).
Tensor causal_mask_aligned_to_end(int64_t tq, int64_t tk, DType dtype) {
  std::vector<double> m(static_cast<std::size_t>(tq * tk), 0.0);
  for (int64_t i = 0; i < tq; ++i)
    for (int64_t j = i + (tk - tq) + 1; j < tk; ++j)
      if (j >= 0) m[static_cast<std::size_t>(i * tk + j)] = 1.0;
  return Tensor::from_vector(m, {tq, tk}, dtype);
}

// The fused kernel covers what the transformer layers use: equal leading axes (B, ...), an
// attn_mask of (Tq, Tk) or none, dropout below 1. Anything else (broadcast batches, masks with
// batch axes, empty sequences) takes the composed ops, which handle every case.
bool can_fuse(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask) {
  if (q.dim() < 3 || q.dtype() != k.dtype() || q.dtype() != v.dtype()) return false;
  const Shape lead(q.shape().begin(), q.shape().end() - 2);
  if (Shape(k.shape().begin(), k.shape().end() - 2) != lead || Shape(v.shape().begin(), v.shape().end() - 2) != lead)
    return false;
  const int64_t Tq = q.shape()[q.dim() - 2], Tk = k.shape()[k.dim() - 2];
  if (attn_mask.defined() && attn_mask.shape() != Shape{Tq, Tk}) return false;
  return numel_of(lead) > 0 && Tq > 0 && Tk > 0 && q.shape().back() > 0 && v.shape().back() > 0;
}
}  // namespace

Tensor causal_mask(int64_t t, DType dtype) { return causal_mask_aligned_to_end(t, t, dtype); }

AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& attn_mask, const Tensor& key_padding_mask, double dropout) {
  if (q.dim() < 2 || k.dim() != q.dim() || v.dim() != q.dim() || q.shape().back() != k.shape().back() ||
      k.shape()[k.dim() - 2] != v.shape()[v.dim() - 2])
    throw ShapeError(fmt::format("scaled_dot_product_attention: q {}, k {}, v {}", shape_str(q.shape()),
                                 shape_str(k.shape()), shape_str(v.shape())));
  if (key_padding_mask.defined())
    detail::checked_key_padding("scaled_dot_product_attention", key_padding_mask, k, q.shape()[0], k.shape()[k.dim() - 2],
                                key_padding_mask.dtype());
  if (dropout >= 0.0 && dropout < 1.0 && can_fuse(q, k, v, attn_mask)) {
    Shape weights(q.shape().begin(), q.shape().end() - 1);  // (..., Tq, Tk)
    weights.push_back(k.shape()[k.dim() - 2]);
    const Tensor keep = dropout > 0 ? dropout_multipliers(weights, dropout, q.dtype()) : Tensor();
    const FusedAttentionResult r = fused_attention(q, k, v, attn_mask, key_padding_mask, keep);
    return {r.context, r.weights};
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.shape().back()));
  Tensor scores = matmul(q, transpose(k, -1, -2)) * scale;  // (..., Tq, Tk)
  if (attn_mask.defined()) scores = masked_fill(scores, attn_mask, -INFINITY);
  if (key_padding_mask.defined()) {
    const int64_t B = q.shape()[0], Tk = k.shape()[k.dim() - 2];
    detail::checked_key_padding("scaled_dot_product_attention", key_padding_mask, k, B, Tk, key_padding_mask.dtype());
    Shape s(static_cast<std::size_t>(q.dim()), 1);  // (B, 1, ..., 1, Tk)
    s.front() = B;
    s.back() = Tk;
    scores = masked_fill(scores, reshape(key_padding_mask, s), -INFINITY);
  }
  const Tensor weights = softmax(scores, -1);
  return {matmul(dropout > 0 ? xg::dropout(weights, dropout, true) : weights, v), weights};
}

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

KeyValues::KeyValues(Tensor k, Tensor v) : k_(std::move(k)), v_(std::move(v)) {
  if (k_.dim() != 4 || v_.dim() != 4 || Shape(k_.shape().begin(), k_.shape().begin() + 3) !=
                                           Shape(v_.shape().begin(), v_.shape().begin() + 3))
    throw ShapeError(fmt::format("KeyValues: keys {} and values {} (need (B, H_kv, T, dh) with equal B, H_kv, T)",
                                 shape_str(k_.shape()), shape_str(v_.shape())));
}

namespace {
// The first `length` positions of a (B, H, C, d) buffer as a (B, H, length, d) tensor.
Tensor used_positions(const Tensor& buffer, int64_t length) { return narrow(buffer, 2, 0, length); }

// Copies x (B, H, n, d) into positions [at, at + n) of buffer (B, H, C, d).
void write_positions(Tensor& buffer, const Tensor& x, int64_t at) {
  const Shape& bs = buffer.shape();
  const int64_t heads = bs[0] * bs[1], capacity = bs[2], d = bs[3], n = x.shape()[2];
  dispatch(buffer.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = x.data<T>();
    T* dst = buffer.data<T>();
    for (int64_t h = 0; h < heads; ++h) std::copy(src + h * n * d, src + (h + 1) * n * d, dst + (h * capacity + at) * d);
  });
}

// A buffer of `capacity` positions holding the first `length` positions of `from` (a buffer or
// an exact tensor, (B, H, *, d)).
Tensor regrown(const Tensor& from, int64_t length, int64_t capacity) {
  Shape shape = from.shape();
  shape[2] = capacity;
  Tensor buffer = Tensor::uninitialized(shape, from.dtype());
  if (length > 0) write_positions(buffer, from.shape()[2] == length ? from : used_positions(from, length), 0);
  return buffer;
}
}  // namespace

const Tensor& KeyValues::k() const {
  if (buffered() && (!k_.defined() || k_.shape()[2] != length_)) k_ = used_positions(k_buffer_, length_);
  return k_;
}

const Tensor& KeyValues::v() const {
  if (buffered() && (!v_.defined() || v_.shape()[2] != length_)) v_ = used_positions(v_buffer_, length_);
  return v_;
}

void KeyValues::append(const KeyValues& more) {
  if (more.empty()) return;
  if (empty() && !buffered()) {
    *this = more.buffered() ? KeyValues(more.k(), more.v()) : more;  // never share another cache's buffer
    if (!grad_mode_enabled() || (!k_.requires_grad() && !v_.requires_grad())) {  // start a buffer
      const int64_t n = length();
      k_buffer_ = regrown(k_, n, std::max<int64_t>(16, 2 * n));
      v_buffer_ = regrown(v_, n, std::max<int64_t>(16, 2 * n));
      length_ = n;
      k_ = v_ = Tensor();
    }
    return;
  }
  const bool needs_graph = grad_mode_enabled() && (more.k().requires_grad() || more.v().requires_grad());
  if (!buffered() || needs_graph) {
    Tensor k = concat({this->k(), more.k()}, 2), v = concat({this->v(), more.v()}, 2);
    *this = KeyValues(std::move(k), std::move(v));
    return;
  }
  const int64_t n = more.length();
  if (length_ + n > k_buffer_.shape()[2]) {
    const int64_t capacity = std::max(2 * k_buffer_.shape()[2], length_ + n);
    k_buffer_ = regrown(k_buffer_, length_, capacity);
    v_buffer_ = regrown(v_buffer_, length_, capacity);
  }
  write_positions(k_buffer_, more.k(), length_);
  write_positions(v_buffer_, more.v(), length_);
  length_ += n;
}

void KeyValues::select_rows(const std::vector<int64_t>& rows) {
  if (buffered()) {
    k_buffer_ = index_select(k_buffer_, 0, rows), v_buffer_ = index_select(v_buffer_, 0, rows);
    k_ = v_ = Tensor();
  } else if (k_.defined()) {
    k_ = index_select(k_, 0, rows), v_ = index_select(v_, 0, rows);
  }
}

AttentionOutput MultiHeadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                            const Tensor& attn_mask, const Tensor& key_padding_mask, bool causal) {
  if (attends_in_place(key.dim() == 3 ? key.shape()[1] : 0, attn_mask, causal))
    return attend_in_place(query, key, value, attn_mask, key_padding_mask, causal);
  return attend(query, project_key_values(key, value), attn_mask, key_padding_mask, causal);
}

bool MultiHeadAttention::attends_in_place(int64_t key_length, const Tensor& attn_mask, bool causal) const {
  const double attention_dropout = is_training() ? dropout : 0.0;
  return config.kind == AttentionKind::Standard && !config.rotary && num_kv_heads == num_heads &&
         !(config.memory_efficient_from > 0 && key_length >= config.memory_efficient_from) &&
         !(causal && attn_mask.defined()) && attention_dropout < 1.0;
}

AttentionOutput MultiHeadAttention::attend_in_place(const Tensor& query, const Tensor& key, const Tensor& value,
                                                    const Tensor& attn_mask, const Tensor& key_padding_mask,
                                                    bool causal) {
  check_key_value(key, value);  // the other path checks them in project_key_values
  check_query(query);
  if (key.shape()[0] != query.shape()[0])
    throw ShapeError(fmt::format("MultiHeadAttention: query {} and key {} (batch sizes differ)",
                                 shape_str(query.shape()), shape_str(key.shape())));
  const int64_t Tq = query.shape()[1], Tk = key.shape()[1];
  const Tensor q = q_proj->forward(query), k = k_proj->forward(key), v = v_proj->forward(value);  // (B, T, D)
  const Tensor mask = causal && Tq > 1 ? causal_mask_aligned_to_end(Tq, Tk, q.dtype()) : attn_mask;
  // The same multipliers, drawn in the same order, as scaled_dot_product_attention would draw.
  const double attention_dropout = is_training() ? dropout : 0.0;
  const Tensor keep = attention_dropout > 0
                          ? dropout_multipliers({query.shape()[0], num_heads, Tq, Tk}, attention_dropout, q.dtype())
                          : Tensor();
  const FusedAttentionResult r = fused_attention_heads_last(q, k, v, num_heads, mask, key_padding_mask, keep);
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
                                             const Tensor& key_padding_mask, bool causal, Tensor& weights) {
  const int64_t Tq = q.shape()[2], Tk = kv.length();
  const double attention_dropout = is_training() ? dropout : 0.0;
  // One new position of an incremental decoder, outside autograd: read the cache where it grows.
  if (kv.buffered() && config.kind == AttentionKind::Standard && Tq == 1 && !attn_mask.defined() &&
      attention_dropout == 0.0 && !(grad_mode_enabled() && q.requires_grad()) &&
      !(config.memory_efficient_from > 0 && Tk >= config.memory_efficient_from)) {
    FusedAttentionResult r = cached_query_attention(q, kv.key_buffer(), kv.value_buffer(), Tk, key_padding_mask);
    weights = r.weights;
    return r.context;
  }
  const Tensor k = expand_kv_heads(kv.k()), v = expand_kv_heads(kv.v());
  if (config.kind != AttentionKind::Standard && attn_mask.defined())
    throw Error(fmt::format("MultiHeadAttention({}): takes causal/key-padding masks, not an attn_mask", to_string(config.kind)));
  if (config.kind == AttentionKind::Window) {
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
  if (config.kind == AttentionKind::Linear) {
    if (causal && Tq != Tk && Tq != 1)
      throw ShapeError(fmt::format("MultiHeadAttention(linear): {} causal queries for {} keys (needs equal lengths, or one query)", Tq, Tk));
    return linear_attention(q, k, v, causal && Tq == Tk && Tq > 1, key_padding_mask);  // one last query sees every key
  }
  if (!attn_mask.defined() && attention_dropout == 0.0 && config.memory_efficient_from > 0 &&
      Tk >= config.memory_efficient_from)
    return memory_efficient_attention(q, k, v, key_padding_mask, causal);
  if (causal && attn_mask.defined())
    throw Error("MultiHeadAttention: give either causal or an attn_mask, not both");
  const Tensor mask = causal && Tq > 1 ? causal_mask_aligned_to_end(Tq, Tk, q.dtype()) : attn_mask;
  AttentionOutput a = scaled_dot_product_attention(q, k, v, mask, key_padding_mask, attention_dropout);
  weights = a.weights;
  return a.context;
}

AttentionOutput MultiHeadAttention::attend(const Tensor& query, const KeyValues& kv, const Tensor& attn_mask,
                                           const Tensor& key_padding_mask, bool causal) {
  if (query.dim() != 3 || query.shape()[2] != d_model || kv.empty() || kv.batch() != query.shape()[0])
    throw ShapeError(fmt::format("MultiHeadAttention: query {} and keys {} (need (B, T, {}) and (B, H_kv, Tk, dh))",
                                 shape_str(query.shape()), kv.empty() ? "none" : shape_str(kv.k().shape()),
                                 d_model));
  const int64_t B = query.shape()[0], Tq = query.shape()[1];
  Tensor q = split_heads(q_proj->forward(query), num_heads);  // (B, H, Tq, dh)
  if (config.rotary) q = apply_rotary(q, kv.length() - Tq);   // queries are the last Tq positions
  Tensor weights;
  const Tensor context = attention_context(q, kv, attn_mask, key_padding_mask, causal, weights);  // (B, H, Tq, dh)
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
