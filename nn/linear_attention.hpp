#pragma once
/// \file
/// Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs"): the softmax kernel
/// exp(q·k) is replaced by φ(q)·φ(k) with φ(x) = elu(x) + 1, so
///   out_i = φ(q_i)ᵀ Σ_j φ(k_j) v_jᵀ / (φ(q_i)ᵀ Σ_j φ(k_j) + ε)
/// and the sums over keys are computed once (non-causal) or as running sums (causal): the cost is
/// O(T·d·dv), linear in the length. It is a different model from softmax attention, not an
/// approximation to it.
#include <xgrad/core/tensor.hpp>

namespace xg::nn {

constexpr double kLinearAttentionEpsilon = 1e-6;  ///< keeps a query with no visible key finite

/// elu(x) + 1: positive, so the normaliser never vanishes.
Tensor elu_feature_map(const Tensor& x);

/// q, k (B, H, T, d) (Tq may differ from Tk when not causal), v (B, H, Tk, dv) -> (B, H, Tq, dv).
/// key_padding_mask (B, Tk), non-zero = masked. causal (Tq == Tk): query i sums over keys j <= i.
Tensor linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal = false,
                        const Tensor& key_padding_mask = Tensor());

/// The causal running sums of already mapped features, with a hand-written backward (a reverse
/// scan) so the (T, d, dv) prefix states are never stored: phi_q, phi_k (B, H, T, d), v (B, H, T, dv).
Tensor causal_linear_attention(const Tensor& phi_q, const Tensor& phi_k, const Tensor& v);

}  // namespace xg::nn
