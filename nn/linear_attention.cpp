#include <xgrad/nn/linear_attention.hpp>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <vector>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/ops.hpp>
#include <xgrad/nn/detail/key_padding.hpp>

namespace xg::nn {

// Its derivative is 1 for x > 0 and eˣ otherwise, i.e. min(φ(x), 1): continuous, 1 at x = 0.
Tensor elu_feature_map(const Tensor& x) {
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  const int64_t n = x.numel();
  dispatch(x.dtype(), [&](auto tag) {
    using V = typename decltype(tag)::type;
    const V* px = x.data<V>();
    V* po = out.data<V>();
    XG_PARALLEL_FOR(n)
    for (int64_t i = 0; i < n; ++i) po[i] = px[i] > V(0) ? px[i] + V(1) : std::exp(px[i]);
  });
  const Tensor saved = out.detach();
  return record("elu_feature_map", out, {x}, [saved, n](const Tensor& g, GradSink& sink) {
    dispatch(g.dtype(), [&](auto tag) {
      using V = typename decltype(tag)::type;
      const V* pg = g.data<V>();
      const V* py = saved.data<V>();
      V* dx = sink.buffer(0).data<V>();
      XG_PARALLEL_FOR(n)
      for (int64_t i = 0; i < n; ++i) dx[i] += pg[i] * std::min(py[i], V(1));
    });
  });
}

Tensor linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_padding_mask) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || k.shape()[0] != q.shape()[0] || k.shape()[1] != q.shape()[1] ||
      k.shape()[3] != q.shape()[3] || v.shape()[0] != k.shape()[0] || v.shape()[1] != k.shape()[1] ||
      v.shape()[2] != k.shape()[2] || (causal && q.shape()[2] != k.shape()[2]))
    throw ShapeError(fmt::format("linear_attention: q {}, k {}, v {} (need (B, H, Tq, d), (B, H, Tk, d), (B, H, Tk, dv); Tq == Tk when causal)",
                                 shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape())));
  const int64_t B = k.shape()[0], Tk = k.shape()[2];
  const Tensor phi_q = elu_feature_map(q);
  Tensor phi_k = elu_feature_map(k);
  if (key_padding_mask.defined()) {
    detail::checked_key_padding("linear_attention", key_padding_mask, k, B, Tk, key_padding_mask.dtype());
    // A masked key contributes nothing to either sum.
    phi_k = masked_fill(phi_k, reshape(key_padding_mask, {B, 1, Tk, 1}), 0.0);
  }
  if (causal) return causal_linear_attention(phi_q, phi_k, v);
  const Tensor kv = matmul(transpose(phi_k, 2, 3), v);          // (B, H, d, dv)
  const Tensor z = sum(phi_k, {2}, true);                        // (B, H, 1, d)
  const Tensor numerator = matmul(phi_q, kv);                    // (B, H, Tq, dv)
  const Tensor denominator = matmul(phi_q, transpose(z, 2, 3));  // (B, H, Tq, 1)
  return numerator / (denominator + kLinearAttentionEpsilon);
}

// Forward: S_i = Σ_{j<=i} φk_j v_jᵀ, z_i = Σ_{j<=i} φk_j, n_i = S_iᵀ φq_i, den_i = φq_i·z_i + ε, out_i = n_i / den_i.
// Backward with g_i = ∂L/∂out_i: dn_i = g_i / den_i, dden_i = -(g_i·out_i) / den_i,
//   ∂φq_i = S_i dn_i + z_i dden_i;
//   with R_j = Σ_{i>=j} φq_i dn_iᵀ and r_j = Σ_{i>=j} dden_i φq_i (a reverse scan):
//   ∂φk_j = R_j v_j + r_j,  ∂v_j = R_jᵀ φk_j.
Tensor causal_linear_attention(const Tensor& phi_q, const Tensor& phi_k, const Tensor& v) {
  if (phi_q.dim() != 4 || phi_k.shape() != phi_q.shape() || v.dim() != 4 || v.shape()[0] != phi_q.shape()[0] ||
      v.shape()[1] != phi_q.shape()[1] || v.shape()[2] != phi_q.shape()[2])
    throw ShapeError(fmt::format("causal_linear_attention: phi_q {}, phi_k {}, v {} (need (B, H, T, d) twice and (B, H, T, dv))",
                                 shape_str(phi_q.shape()), shape_str(phi_k.shape()), shape_str(v.shape())));
  check_same_dtype("causal_linear_attention", phi_q, phi_k);
  check_same_dtype("causal_linear_attention", phi_q, v);
  const int64_t BH = phi_q.shape()[0] * phi_q.shape()[1], T = phi_q.shape()[2], d = phi_q.shape()[3], dv = v.shape()[3];
  Tensor out = Tensor::uninitialized(v.shape(), v.dtype());
  Tensor den = Tensor::uninitialized({BH, T}, v.dtype());  // saved for the backward
  dispatch(v.dtype(), [&](auto tag) {
    using V = typename decltype(tag)::type;
    const V* pq = phi_q.data<V>();
    const V* pk = phi_k.data<V>();
    const V* pv = v.data<V>();
    V* po = out.data<V>();
    V* pd = den.data<V>();
    XG_PRAGMA(omp parallel for schedule(static) if (BH * T * d * dv > kParallelGrain))
    for (int64_t bh = 0; bh < BH; ++bh) {
      std::vector<V> S(static_cast<std::size_t>(d * dv), V(0)), z(static_cast<std::size_t>(d), V(0));
      for (int64_t i = 0; i < T; ++i) {
        const V* qi = pq + (bh * T + i) * d;
        const V* ki = pk + (bh * T + i) * d;
        const V* vi = pv + (bh * T + i) * dv;
        V* oi = po + (bh * T + i) * dv;
        V denominator = V(kLinearAttentionEpsilon);
        for (int64_t a = 0; a < d; ++a) {
          z[a] += ki[a];
          for (int64_t e = 0; e < dv; ++e) S[a * dv + e] += ki[a] * vi[e];
          denominator += qi[a] * z[a];
        }
        std::fill(oi, oi + dv, V(0));
        for (int64_t a = 0; a < d; ++a)
          for (int64_t e = 0; e < dv; ++e) oi[e] += qi[a] * S[a * dv + e];
        for (int64_t e = 0; e < dv; ++e) oi[e] /= denominator;
        pd[bh * T + i] = denominator;
      }
    }
  });
  const Tensor qd = phi_q.detach(), kd = phi_k.detach(), vd = v.detach(), od = out.detach();
  return record("causal_linear_attention", out, {phi_q, phi_k, v}, [qd, kd, vd, od, den, BH, T, d, dv](const Tensor& g, GradSink& sink) {
    Tensor dq = Tensor::empty(qd.shape(), g.dtype()), dk = Tensor::empty(kd.shape(), g.dtype()),
           dvt = Tensor::empty(vd.shape(), g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using V = typename decltype(tag)::type;
      const V* pq = qd.data<V>();
      const V* pk = kd.data<V>();
      const V* pv = vd.data<V>();
      const V* po = od.data<V>();
      const V* pd = den.data<V>();
      const V* pg = g.data<V>();
      V* gq = dq.data<V>();
      V* gk = dk.data<V>();
      V* gv = dvt.data<V>();
      XG_PRAGMA(omp parallel for schedule(static) if (BH * T * d * dv > kParallelGrain))
      for (int64_t bh = 0; bh < BH; ++bh) {
        std::vector<V> S(static_cast<std::size_t>(d * dv), V(0)), z(static_cast<std::size_t>(d), V(0));
        std::vector<V> dn(static_cast<std::size_t>(T * dv)), dden(static_cast<std::size_t>(T));
        for (int64_t i = 0; i < T; ++i) {  // forward scan again: ∂φq_i needs S_i and z_i
          const V* ki = pk + (bh * T + i) * d;
          const V* vi = pv + (bh * T + i) * dv;
          const V* gi = pg + (bh * T + i) * dv;
          const V* oi = po + (bh * T + i) * dv;
          const V inv = V(1) / pd[bh * T + i];
          V go = 0;
          for (int64_t e = 0; e < dv; ++e) {
            dn[i * dv + e] = gi[e] * inv;
            go += gi[e] * oi[e];
          }
          dden[i] = -go * inv;
          V* gqi = gq + (bh * T + i) * d;
          for (int64_t a = 0; a < d; ++a) {
            z[a] += ki[a];
            V acc = z[a] * dden[i];
            for (int64_t e = 0; e < dv; ++e) {
              S[a * dv + e] += ki[a] * vi[e];
              acc += S[a * dv + e] * dn[i * dv + e];
            }
            gqi[a] = acc;
          }
        }
        std::vector<V>& R = S;  // reused as the reverse sums
        std::vector<V>& r = z;
        std::fill(R.begin(), R.end(), V(0));
        std::fill(r.begin(), r.end(), V(0));
        for (int64_t j = T - 1; j >= 0; --j) {
          const V* qj = pq + (bh * T + j) * d;
          const V* kj = pk + (bh * T + j) * d;
          const V* vj = pv + (bh * T + j) * dv;
          for (int64_t a = 0; a < d; ++a) {
            r[a] += dden[j] * qj[a];
            for (int64_t e = 0; e < dv; ++e) R[a * dv + e] += qj[a] * dn[j * dv + e];
          }
          V* gkj = gk + (bh * T + j) * d;
          V* gvj = gv + (bh * T + j) * dv;
          for (int64_t a = 0; a < d; ++a) {
            V acc = r[a];
            for (int64_t e = 0; e < dv; ++e) {
              acc += R[a * dv + e] * vj[e];
              gvj[e] += R[a * dv + e] * kj[a];
            }
            gkj[a] = acc;
          }
        }
      }
    });
    if (sink.needs(0)) sink.add(0, std::move(dq));
    if (sink.needs(1)) sink.add(1, std::move(dk));
    if (sink.needs(2)) sink.add(2, std::move(dvt));
  });
}

}  // namespace xg::nn
