#include "nn/memory_efficient_attention.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <vector>

#include "core/autograd.hpp"
#include "core/detail/checks.hpp"
#include "core/detail/kernels.hpp"
#include "core/detail/parallel.hpp"

namespace xg::nn {

namespace {
constexpr int64_t kQueryTile = 32, kKeyTile = 64;

struct Dims {
  int64_t BH, H, Tq, Tk, d, dv;
};

// One (query tile, key tile) block of scaled scores with masking: s (rows, cols), -inf where masked.
// kT is the key tile transposed to (d, cols) so the inner loop runs along keys and vectorises.
template <class T>
void tile_scores(const T* q, const T* kT, int64_t rows, int64_t cols, int64_t d, T scale, int64_t i0, int64_t j0,
                 int64_t causal_shift, bool causal, const T* pad, T* s) {
  for (int64_t r = 0; r < rows; ++r) {
    T* sr = s + r * kKeyTile;
    std::fill(sr, sr + cols, T(0));
    for (int64_t e = 0; e < d; ++e) {
      const T qe = q[r * d + e] * scale;
      const T* kr = kT + e * kKeyTile;
      for (int64_t c = 0; c < cols; ++c) sr[c] += qe * kr[c];
    }
    for (int64_t c = 0; c < cols; ++c)
      if ((pad && pad[j0 + c] != T(0)) || (causal && j0 + c > i0 + r + causal_shift))
        sr[c] = -std::numeric_limits<T>::infinity();
  }
}

template <class T>
void transpose_tile(const T* src, int64_t cols, int64_t d, T* dst) {  // (cols, d) -> (d, kKeyTile)
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t e = 0; e < d; ++e) dst[e * kKeyTile + c] = src[c * d + e];
}

// Keys [0, key_end) can be visible to query rows [i0, i0 + rows).
int64_t key_end(const Dims& n, bool causal, int64_t i0, int64_t rows) {
  return causal ? std::clamp<int64_t>(i0 + rows + (n.Tk - n.Tq), 0, n.Tk) : n.Tk;
}

template <class T>
void forward_kernel(const Dims& n, bool causal, const T* pq, const T* pk, const T* pv, const T* pmask, T* po, T* plse) {
  const T scale = T(1) / std::sqrt(static_cast<T>(n.d));
  const T neg_inf = -std::numeric_limits<T>::infinity();
  XG_PRAGMA(omp parallel for schedule(dynamic) if (n.BH * n.Tq * n.Tk > kParallelGrain))
  for (int64_t bh = 0; bh < n.BH; ++bh) {
    std::vector<T> kT(static_cast<std::size_t>(n.d * kKeyTile)), s(static_cast<std::size_t>(kQueryTile * kKeyTile));
    std::vector<T> row_max(kQueryTile), row_sum(kQueryTile);
    const T* q = pq + bh * n.Tq * n.d;
    const T* k = pk + bh * n.Tk * n.d;
    const T* v = pv + bh * n.Tk * n.dv;
    const T* pad = pmask ? pmask + (bh / n.H) * n.Tk : nullptr;
    T* o = po + bh * n.Tq * n.dv;
    std::fill(o, o + n.Tq * n.dv, T(0));  // the running numerator, rescaled as the maximum grows
    for (int64_t i0 = 0; i0 < n.Tq; i0 += kQueryTile) {
      const int64_t rows = std::min(kQueryTile, n.Tq - i0);
      std::fill(row_max.begin(), row_max.end(), neg_inf);
      std::fill(row_sum.begin(), row_sum.end(), T(0));
      const int64_t end = key_end(n, causal, i0, rows);
      for (int64_t j0 = 0; j0 < end; j0 += kKeyTile) {
        const int64_t cols = std::min(kKeyTile, end - j0);
        transpose_tile(k + j0 * n.d, cols, n.d, kT.data());
        tile_scores(q + i0 * n.d, kT.data(), rows, cols, n.d, scale, i0, j0, n.Tk - n.Tq, causal, pad, s.data());
        for (int64_t r = 0; r < rows; ++r) {
          T* sr = s.data() + r * kKeyTile;
          const T new_max = std::max(row_max[r], *std::max_element(sr, sr + cols));
          if (new_max == neg_inf) continue;  // every key so far masked
          const T rescale = std::exp(row_max[r] - new_max);  // exp(-inf) = 0 on the first visible tile
          T* orow = o + (i0 + r) * n.dv;
          T sum = 0;
          for (int64_t c = 0; c < cols; ++c) sum += (sr[c] = std::exp(sr[c] - new_max));
          row_sum[r] = row_sum[r] * rescale + sum;
          for (int64_t e = 0; e < n.dv; ++e) orow[e] *= rescale;
          for (int64_t c = 0; c < cols; ++c) {
            const T p = sr[c];
            const T* vr = v + (j0 + c) * n.dv;
            for (int64_t e = 0; e < n.dv; ++e) orow[e] += p * vr[e];
          }
          row_max[r] = new_max;
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        T* orow = o + (i0 + r) * n.dv;
        const bool empty = row_sum[r] == T(0);
        for (int64_t e = 0; e < n.dv; ++e) orow[e] = empty ? T(0) : orow[e] / row_sum[r];
        // +inf for an empty row makes every recomputed probability exp(s - lse) zero in the backward.
        plse[bh * n.Tq + i0 + r] = empty ? std::numeric_limits<T>::infinity() : row_max[r] + std::log(row_sum[r]);
      }
    }
  }
}

// dq, dk, dv from the recomputed probabilities p = exp(s - lse):
// dv_j += p_ij do_i;  dp_ij = do_i·v_j;  ds_ij = p_ij (dp_ij - do_i·o_i);  dq_i += ds_ij k_j / √d;  dk_j += ds_ij q_i / √d.
template <class T>
void backward_kernel(const Dims& n, bool causal, const T* pq, const T* pk, const T* pv, const T* pmask, const T* po,
                     const T* plse, const T* pg, T* dq, T* dk, T* dv) {
  const T scale = T(1) / std::sqrt(static_cast<T>(n.d));
  XG_PRAGMA(omp parallel for schedule(dynamic) if (n.BH * n.Tq * n.Tk > kParallelGrain))
  for (int64_t bh = 0; bh < n.BH; ++bh) {
    std::vector<T> kT(static_cast<std::size_t>(n.d * kKeyTile)), vT(static_cast<std::size_t>(n.dv * kKeyTile));
    std::vector<T> s(static_cast<std::size_t>(kQueryTile * kKeyTile)), dp(static_cast<std::size_t>(kQueryTile * kKeyTile));
    std::vector<T> row_dot(kQueryTile);
    const T* q = pq + bh * n.Tq * n.d;
    const T* k = pk + bh * n.Tk * n.d;
    const T* v = pv + bh * n.Tk * n.dv;
    const T* o = po + bh * n.Tq * n.dv;
    const T* g = pg + bh * n.Tq * n.dv;
    const T* lse = plse + bh * n.Tq;
    const T* pad = pmask ? pmask + (bh / n.H) * n.Tk : nullptr;
    T* gq = dq + bh * n.Tq * n.d;
    T* gk = dk + bh * n.Tk * n.d;
    T* gv = dv + bh * n.Tk * n.dv;
    for (int64_t i0 = 0; i0 < n.Tq; i0 += kQueryTile) {
      const int64_t rows = std::min(kQueryTile, n.Tq - i0);
      for (int64_t r = 0; r < rows; ++r) {
        T dot = 0;
        for (int64_t e = 0; e < n.dv; ++e) dot += g[(i0 + r) * n.dv + e] * o[(i0 + r) * n.dv + e];
        row_dot[r] = dot;
      }
      const int64_t end = key_end(n, causal, i0, rows);
      for (int64_t j0 = 0; j0 < end; j0 += kKeyTile) {
        const int64_t cols = std::min(kKeyTile, end - j0);
        transpose_tile(k + j0 * n.d, cols, n.d, kT.data());
        transpose_tile(v + j0 * n.dv, cols, n.dv, vT.data());
        tile_scores(q + i0 * n.d, kT.data(), rows, cols, n.d, scale, i0, j0, n.Tk - n.Tq, causal, pad, s.data());
        for (int64_t r = 0; r < rows; ++r) {
          T* sr = s.data() + r * kKeyTile;
          T* dpr = dp.data() + r * kKeyTile;
          const T* gr = g + (i0 + r) * n.dv;
          for (int64_t c = 0; c < cols; ++c) sr[c] = std::exp(sr[c] - lse[i0 + r]);  // p
          std::fill(dpr, dpr + cols, T(0));
          for (int64_t e = 0; e < n.dv; ++e) {
            const T ge = gr[e];
            const T* vr = vT.data() + e * kKeyTile;
            for (int64_t c = 0; c < cols; ++c) dpr[c] += ge * vr[c];
          }
          for (int64_t c = 0; c < cols; ++c) {
            const T p = sr[c];
            if (p == T(0)) continue;
            T* gvr = gv + (j0 + c) * n.dv;
            for (int64_t e = 0; e < n.dv; ++e) gvr[e] += p * gr[e];
            const T ds = p * (dpr[c] - row_dot[r]) * scale;
            T* gqr = gq + (i0 + r) * n.d;
            T* gkr = gk + (j0 + c) * n.d;
            const T* kr = k + (j0 + c) * n.d;
            const T* qr = q + (i0 + r) * n.d;
            for (int64_t e = 0; e < n.d; ++e) gqr[e] += ds * kr[e];
            for (int64_t e = 0; e < n.d; ++e) gkr[e] += ds * qr[e];
          }
        }
      }
    }
  }
}
}  // namespace

Tensor memory_efficient_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_padding_mask,
                                  bool causal) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || k.shape()[0] != q.shape()[0] || k.shape()[1] != q.shape()[1] ||
      k.shape()[3] != q.shape()[3] || v.shape()[0] != q.shape()[0] || v.shape()[1] != q.shape()[1] ||
      v.shape()[2] != k.shape()[2])
    throw ShapeError(fmt::format("memory_efficient_attention: q {}, k {}, v {} (need (B, H, Tq, d), (B, H, Tk, d), (B, H, Tk, dv))",
                                 shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape())));
  check_same_dtype("memory_efficient_attention", q, k);
  check_same_dtype("memory_efficient_attention", q, v);
  const Dims n{q.shape()[0] * q.shape()[1], q.shape()[1], q.shape()[2], k.shape()[2], q.shape()[3], v.shape()[3]};
  Tensor mask;
  if (key_padding_mask.defined()) {
    if (key_padding_mask.shape() != Shape{q.shape()[0], n.Tk})
      throw ShapeError(fmt::format("memory_efficient_attention: key_padding_mask {} for keys {} (needs [{}, {}])",
                                   shape_str(key_padding_mask.shape()), shape_str(k.shape()), q.shape()[0], n.Tk));
    mask = key_padding_mask.dtype() == q.dtype() ? key_padding_mask.detach() : key_padding_mask.detach().to(q.dtype());
  }
  Tensor out = Tensor::uninitialized({q.shape()[0], q.shape()[1], n.Tq, n.dv}, q.dtype());
  Tensor lse = Tensor::uninitialized({n.BH, n.Tq}, q.dtype());  // log Σ exp(scores) per query row
  dispatch(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    forward_kernel<T>(n, causal, q.data<T>(), k.data<T>(), v.data<T>(), mask.defined() ? mask.data<T>() : nullptr,
                      out.data<T>(), lse.data<T>());
  });
  const Tensor qd = q.detach(), kd = k.detach(), vd = v.detach(), od = out.detach();
  return record("memory_efficient_attention", out, {q, k, v},
                [qd, kd, vd, od, lse, mask, n, causal](const Tensor& g, GradSink& sink) {
                  Tensor dq = Tensor::empty(qd.shape(), g.dtype()), dk = Tensor::empty(kd.shape(), g.dtype()),
                         dv = Tensor::empty(vd.shape(), g.dtype());
                  dispatch(g.dtype(), [&](auto tag) {
                    using T = typename decltype(tag)::type;
                    backward_kernel<T>(n, causal, qd.data<T>(), kd.data<T>(), vd.data<T>(),
                                       mask.defined() ? mask.data<T>() : nullptr, od.data<T>(), lse.data<T>(),
                                       g.data<T>(), dq.data<T>(), dk.data<T>(), dv.data<T>());
                  });
                  if (sink.needs(0)) sink.add(0, dq);
                  if (sink.needs(1)) sink.add(1, dk);
                  if (sink.needs(2)) sink.add(2, dv);
                });
}

}  // namespace xg::nn
