#include <xgrad/nn/scaled_dot_product.hpp>

#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/ops.hpp>
#include <xgrad/nn/detail/attention_path.hpp>
#include <xgrad/nn/detail/fused_attention.hpp>
#include <xgrad/nn/detail/key_padding.hpp>

namespace xg::nn {

// (Tq, Tk) mask hiding key j from query i when j > i + (Tk - Tq).
Tensor detail::causal_mask_aligned_to_end(int64_t tq, int64_t tk, DType dtype) {
  std::vector<double> m(static_cast<std::size_t>(tq * tk), 0.0);
  for (int64_t i = 0; i < tq; ++i)
    for (int64_t j = i + (tk - tq) + 1; j < tk; ++j)
      if (j >= 0) m[static_cast<std::size_t>(i * tk + j)] = 1.0;
  return Tensor::from_vector(m, {tq, tk}, dtype);
}

namespace {
// The fused kernel covers what the transformer layers use: equal leading axes (B, ...), an
// attn_mask of (Tq, Tk) or none, dropout below 1. Anything else (broadcast batches, masks with
// batch axes, empty sequences) takes the composed ops, which handle every case.
bool can_fuse(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask, const Tensor& attn_bias) {
  if (q.dim() < 3 || q.dtype() != k.dtype() || q.dtype() != v.dtype()) return false;
  const Shape lead(q.shape().begin(), q.shape().end() - 2);
  if (Shape(k.shape().begin(), k.shape().end() - 2) != lead || Shape(v.shape().begin(), v.shape().end() - 2) != lead)
    return false;
  const int64_t Tq = q.shape()[q.dim() - 2], Tk = k.shape()[k.dim() - 2];
  if (attn_mask.defined() && attn_mask.shape() != Shape{Tq, Tk}) return false;
  // The fused op takes a bias of one (Tq, Tk) per head, shared over the batch.
  if (attn_bias.defined() && (lead.empty() || lead[0] == 0 || attn_bias.dtype() != q.dtype() ||
                              attn_bias.shape() != Shape{numel_of(lead) / lead[0], Tq, Tk}))
    return false;
  return numel_of(lead) > 0 && Tq > 0 && Tk > 0 && q.shape().back() > 0 && v.shape().back() > 0;
}
}  // namespace

Tensor causal_mask(int64_t t, DType dtype) { return detail::causal_mask_aligned_to_end(t, t, dtype); }

AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& attn_mask, const Tensor& key_padding_mask, double dropout,
                                             const Tensor& attn_bias) {
  if (q.dim() < 2 || k.dim() != q.dim() || v.dim() != q.dim() || q.shape().back() != k.shape().back() ||
      k.shape()[k.dim() - 2] != v.shape()[v.dim() - 2])
    throw ShapeError(fmt::format("scaled_dot_product_attention: q {}, k {}, v {}", shape_str(q.shape()),
                                 shape_str(k.shape()), shape_str(v.shape())));
  if (key_padding_mask.defined())
    detail::checked_key_padding("scaled_dot_product_attention", key_padding_mask, k, q.shape()[0], k.shape()[k.dim() - 2],
                                key_padding_mask.dtype());
  if (dropout >= 0.0 && dropout < 1.0 && can_fuse(q, k, v, attn_mask, attn_bias)) {
    Shape weights(q.shape().begin(), q.shape().end() - 1);  // (..., Tq, Tk)
    weights.push_back(k.shape()[k.dim() - 2]);
    const Tensor keep = dropout > 0 ? dropout_multipliers(weights, dropout, q.dtype()) : Tensor();
    const detail::FusedAttentionResult r = detail::fused_attention(q, k, v, attn_mask, key_padding_mask, keep, attn_bias);
    return {r.context, r.weights};
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.shape().back()));
  Tensor scores = matmul(q, transpose(k, -1, -2)) * scale;  // (..., Tq, Tk)
  if (attn_bias.defined()) scores = scores + attn_bias;
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

}  // namespace xg::nn
