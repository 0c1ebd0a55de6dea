#include <xgrad/nn/window_attention.hpp>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <vector>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/nn/detail/key_padding.hpp>

namespace xg::nn {

namespace {
// The visible keys of every query, as one flat list with offsets: the same for every batch row
// and head (padding is applied on top), and O(T·(2·window + 1 + global)) long.
struct BandPattern {
  std::vector<int64_t> offset;  // T + 1 entries
  std::vector<int64_t> keys;
};

BandPattern band_pattern(int64_t T, int64_t window, int64_t global, bool causal) {
  BandPattern p;
  p.offset.reserve(static_cast<std::size_t>(T + 1));
  p.offset.push_back(0);
  for (int64_t i = 0; i < T; ++i) {
    const int64_t hi = causal ? i : std::min(T - 1, i + window);
    if (!causal && i < global) {
      for (int64_t j = 0; j < T; ++j) p.keys.push_back(j);
    } else {
      const int64_t lo = std::max<int64_t>(0, i - window);
      for (int64_t j = 0; j < std::min(global, lo); ++j) p.keys.push_back(j);  // global keys left of the band
      for (int64_t j = lo; j <= hi; ++j) p.keys.push_back(j);
    }
    p.offset.push_back(static_cast<int64_t>(p.keys.size()));
  }
  return p;
}

template <class T>
T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
  for (int64_t e = 0; e < n; ++e) s += a[e] * b[e];
  return s;
}
}  // namespace

Tensor sliding_window_mask(int64_t t, int64_t window, int64_t global_tokens, bool causal, DType dtype) {
  const BandPattern p = band_pattern(t, window, global_tokens, causal);
  std::vector<double> m(static_cast<std::size_t>(t * t), 1.0);
  for (int64_t i = 0; i < t; ++i)
    for (int64_t n = p.offset[i]; n < p.offset[i + 1]; ++n) m[static_cast<std::size_t>(i * t + p.keys[n])] = 0.0;
  return Tensor::from_vector(m, {t, t}, dtype);
}

Tensor sliding_window_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t window, int64_t global_tokens,
                                bool causal, const Tensor& key_padding_mask) {
  if (q.dim() != 4 || k.shape() != q.shape() || v.dim() != 4 || v.shape()[0] != q.shape()[0] ||
      v.shape()[1] != q.shape()[1] || v.shape()[2] != q.shape()[2])
    throw ShapeError(fmt::format("sliding_window_attention: q {}, k {}, v {} (need (B, H, T, d) for q and k, (B, H, T, dv) for v)",
                                 shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape())));
  if (window < 0 || global_tokens < 0)
    throw Error(fmt::format("sliding_window_attention: window {} and global_tokens {} must be >= 0", window, global_tokens));
  check_same_dtype("sliding_window_attention", q, k);
  check_same_dtype("sliding_window_attention", q, v);
  const int64_t B = q.shape()[0], H = q.shape()[1], T = q.shape()[2], d = q.shape()[3], dv = v.shape()[3];
  const Tensor mask = detail::checked_key_padding("sliding_window_attention", key_padding_mask, k, B, T, q.dtype());
  auto pattern = std::make_shared<const BandPattern>(band_pattern(T, window, global_tokens, causal));
  const int64_t pairs = static_cast<int64_t>(pattern->keys.size());
  Tensor out = Tensor::uninitialized({B, H, T, dv}, q.dtype());
  Tensor probs = Tensor::uninitialized({B * H, pairs}, q.dtype());  // softmax weights of the visible pairs
  dispatch(q.dtype(), [&](auto tag) {
    using V = typename decltype(tag)::type;
    const V scale = V(1) / std::sqrt(static_cast<V>(d));
    const V* pq = q.data<V>();
    const V* pk = k.data<V>();
    const V* pv = v.data<V>();
    const V* pm = mask.defined() ? mask.data<V>() : nullptr;
    V* po = out.data<V>();
    V* pp = probs.data<V>();
    XG_PRAGMA(omp parallel for schedule(static) if (B * H * pairs * d > kParallelGrain))
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const V* pad = pm ? pm + (bh / H) * T : nullptr;
      for (int64_t i = 0; i < T; ++i) {
        const int64_t n0 = pattern->offset[i], n1 = pattern->offset[i + 1];
        V* p = pp + bh * pairs + n0;
        const V* qi = pq + (bh * T + i) * d;
        V top = -std::numeric_limits<V>::infinity();
        for (int64_t n = n0; n < n1; ++n) {
          const int64_t j = pattern->keys[n];
          p[n - n0] = pad && pad[j] != V(0) ? -std::numeric_limits<V>::infinity() : scale * dot(qi, pk + (bh * T + j) * d, d);
          top = std::max(top, p[n - n0]);
        }
        V sum = 0;
        for (int64_t n = 0; n < n1 - n0; ++n) sum += (p[n] = top == -std::numeric_limits<V>::infinity() ? V(0) : std::exp(p[n] - top));
        V* oi = po + (bh * T + i) * dv;
        std::fill(oi, oi + dv, V(0));
        for (int64_t n = n0; n < n1; ++n) {
          if (sum > V(0)) p[n - n0] /= sum;
          const V* vj = pv + (bh * T + pattern->keys[n]) * dv;
          for (int64_t e = 0; e < dv; ++e) oi[e] += p[n - n0] * vj[e];
        }
      }
    }
  });
  const Tensor qd = q.detach(), kd = k.detach(), vd = v.detach();
  return record("sliding_window_attention", out, {q, k, v}, [qd, kd, vd, probs, pattern, B, H, T, d, dv, pairs](const Tensor& g, GradSink& sink) {
    Tensor dq = Tensor::empty(qd.shape(), g.dtype()), dk = Tensor::empty(kd.shape(), g.dtype()),
           dvt = Tensor::empty(vd.shape(), g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using V = typename decltype(tag)::type;
      const V scale = V(1) / std::sqrt(static_cast<V>(d));
      const V* pq = qd.data<V>();
      const V* pk = kd.data<V>();
      const V* pv = vd.data<V>();
      const V* pp = probs.data<V>();
      const V* pg = g.data<V>();
      V* gq = dq.data<V>();
      V* gk = dk.data<V>();
      V* gv = dvt.data<V>();
      XG_PRAGMA(omp parallel for schedule(static) if (B * H * pairs * d > kParallelGrain))
      for (int64_t bh = 0; bh < B * H; ++bh) {
        std::vector<V> dp;
        for (int64_t i = 0; i < T; ++i) {
          const int64_t n0 = pattern->offset[i], n1 = pattern->offset[i + 1];
          const V* p = pp + bh * pairs + n0;
          const V* gi = pg + (bh * T + i) * dv;
          dp.assign(static_cast<std::size_t>(n1 - n0), V(0));
          V weighted = 0;  // Σ_j p_j dp_j
          for (int64_t n = n0; n < n1; ++n) {
            const int64_t j = pattern->keys[n];
            dp[n - n0] = dot(gi, pv + (bh * T + j) * dv, dv);
            weighted += p[n - n0] * dp[n - n0];
            V* gvj = gv + (bh * T + j) * dv;
            for (int64_t e = 0; e < dv; ++e) gvj[e] += p[n - n0] * gi[e];
          }
          V* gqi = gq + (bh * T + i) * d;
          const V* qi = pq + (bh * T + i) * d;
          for (int64_t n = n0; n < n1; ++n) {
            const V ds = p[n - n0] * (dp[n - n0] - weighted) * scale;
            if (ds == V(0)) continue;
            const int64_t j = pattern->keys[n];
            const V* kj = pk + (bh * T + j) * d;
            V* gkj = gk + (bh * T + j) * d;
            for (int64_t e = 0; e < d; ++e) gqi[e] += ds * kj[e];
            for (int64_t e = 0; e < d; ++e) gkj[e] += ds * qi[e];
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
