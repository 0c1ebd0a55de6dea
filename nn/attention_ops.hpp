#pragma once
/// \file
/// Ops for the per-step work of RNN attention decoders, one pass each, each with a hand-written
/// backward and tested against the composed ops it replaces (tests/test_nn_layers.cpp).
#include <xgrad/core/tensor.hpp>

namespace xg::nn {

/// Bahdanau scores: out[b,s] = Σ_a v[a] · tanh(q[b,a] + k[b,s,a]); q (B, A), k (B, S, A),
/// v (1, A) or (A). One pass instead of a broadcast add, a tanh and a (B·S, A)x(A, 1) product,
/// with a vectorised tanh.
Tensor additive_scores(const Tensor& q, const Tensor& k, const Tensor& v);

/// Attention context: out[b,d] = Σ_s w[b,s] · values[b,s,d]; w (B, S), values (B, S, D).
/// Replaces B tiny (1,S)x(S,D) GEMMs per decoder step.
Tensor weighted_sum(const Tensor& w, const Tensor& values);

}  // namespace xg::nn
