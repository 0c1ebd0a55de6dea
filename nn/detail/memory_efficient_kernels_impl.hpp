// Internal: included once per instruction set by memory_efficient_kernels_{baseline,avx2}.cpp
// with XG_ME_ARCH naming the namespace. Plain loops only (see memory_efficient_kernels.hpp).
#include <cmath>
#include <limits>

#include <xgrad/core/detail/vecmath.hpp>
#include <xgrad/nn/detail/memory_efficient_kernels.hpp>

namespace xg::nn::detail::XG_ME_ARCH {

namespace {
inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

template <class T>
constexpr T infinity() {
  return std::numeric_limits<T>::infinity();
}

// One (query tile, key tile) block of scaled scores, -inf where masked: s (rows, cols) with row
// stride kKeyTile. kT is the key tile transposed to (d, kKeyTile) so the inner loop runs along
// keys as one multiply-add per element, which the compiler vectorises.
template <class T>
void tile_scores(const T* q, const T* kT, int64_t rows, int64_t cols, int64_t d, T scale, int64_t i0, int64_t j0,
                 int64_t causal_shift, bool causal, const T* pad, T* s) {
  for (int64_t r = 0; r < rows; ++r) {
    T* sr = s + r * kKeyTile;
    for (int64_t c = 0; c < cols; ++c) sr[c] = T(0);
    for (int64_t e = 0; e < d; ++e) {
      const T qe = q[r * d + e] * scale;
      const T* kr = kT + e * kKeyTile;
      for (int64_t c = 0; c < cols; ++c) sr[c] += qe * kr[c];
    }
    for (int64_t c = 0; c < cols; ++c)
      if ((pad && pad[j0 + c] != T(0)) || (causal && j0 + c > i0 + r + causal_shift)) sr[c] = -infinity<T>();
  }
}

template <class T>
void transpose_tile(const T* src, int64_t cols, int64_t d, T* dst) {  // (cols, d) -> (d, kKeyTile)
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t e = 0; e < d; ++e) dst[e * kKeyTile + c] = src[c * d + e];
}

// Keys [0, key_end) can be visible to query rows [i0, i0 + rows).
int64_t key_end(const AttentionDims& n, bool causal, int64_t i0, int64_t rows) {
  if (!causal) return n.Tk;
  const int64_t end = i0 + rows + (n.Tk - n.Tq);
  return end < 0 ? 0 : end > n.Tk ? n.Tk : end;
}
}  // namespace

template <class T>
void forward_range(const AttentionDims& n, bool causal, const T* pq, const T* pk, const T* pv, const T* pmask, T* po,
                   T* plse, int64_t bh_begin, int64_t bh_end, T* scratch) {
  const T scale = T(1) / std::sqrt(static_cast<T>(n.d));
  T* kT = scratch;                       // (d, kKeyTile)
  T* s = kT + n.d * kKeyTile;            // (kQueryTile, kKeyTile)
  T* row_max = s + 2 * kQueryTile * kKeyTile + n.dv * kKeyTile;
  T* row_sum = row_max + kQueryTile;
  const vecmath::Kernels<T>& kernels = vecmath::best<T>();
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const T* q = pq + bh * n.Tq * n.d;
    const T* k = pk + bh * n.Tk * n.d;
    const T* v = pv + bh * n.Tk * n.dv;
    const T* pad = pmask ? pmask + (bh / n.H) * n.Tk : nullptr;
    T* o = po + bh * n.Tq * n.dv;
    for (int64_t i = 0; i < n.Tq * n.dv; ++i) o[i] = T(0);  // the running numerator, rescaled as the maximum grows
    for (int64_t i0 = 0; i0 < n.Tq; i0 += kQueryTile) {
      const int64_t rows = smaller(kQueryTile, n.Tq - i0);
      for (int64_t r = 0; r < rows; ++r) row_max[r] = -infinity<T>(), row_sum[r] = T(0);
      const int64_t end = key_end(n, causal, i0, rows);
      for (int64_t j0 = 0; j0 < end; j0 += kKeyTile) {
        const int64_t cols = smaller(kKeyTile, end - j0);
        transpose_tile(k + j0 * n.d, cols, n.d, kT);
        tile_scores(q + i0 * n.d, kT, rows, cols, n.d, scale, i0, j0, n.Tk - n.Tq, causal, pad, s);
        for (int64_t r = 0; r < rows; ++r) {
          T* sr = s + r * kKeyTile;
          T new_max = row_max[r];
          for (int64_t c = 0; c < cols; ++c) new_max = sr[c] > new_max ? sr[c] : new_max;
          if (new_max == -infinity<T>()) continue;  // every key so far masked
          const T rescale = std::exp(row_max[r] - new_max);  // exp(-inf) = 0 on the first visible tile
          for (int64_t c = 0; c < cols; ++c) sr[c] -= new_max;
          kernels.exp(sr, sr, cols);
          T sum = 0;
          for (int64_t c = 0; c < cols; ++c) sum += sr[c];
          row_sum[r] = row_sum[r] * rescale + sum;
          T* orow = o + (i0 + r) * n.dv;
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
        plse[bh * n.Tq + i0 + r] = empty ? infinity<T>() : row_max[r] + std::log(row_sum[r]);
      }
    }
  }
}

// dq, dk, dv from the recomputed probabilities p = exp(s - lse):
// dv_j += p_ij do_i;  dp_ij = do_i·v_j;  ds_ij = p_ij (dp_ij - do_i·o_i);  dq_i += ds_ij k_j / √d;  dk_j += ds_ij q_i / √d.
template <class T>
void backward_range(const AttentionDims& n, bool causal, const T* pq, const T* pk, const T* pv, const T* pmask,
                    const T* po, const T* plse, const T* pg, T* dq, T* dk, T* dv, int64_t bh_begin, int64_t bh_end,
                    T* scratch) {
  const T scale = T(1) / std::sqrt(static_cast<T>(n.d));
  T* kT = scratch;                      // (d, kKeyTile)
  T* s = kT + n.d * kKeyTile;           // (kQueryTile, kKeyTile): scores, then probabilities
  T* dp = s + kQueryTile * kKeyTile;    // (kQueryTile, kKeyTile)
  T* vT = dp + kQueryTile * kKeyTile;   // (dv, kKeyTile)
  T* row_dot = vT + n.dv * kKeyTile;    // do_i · o_i
  const vecmath::Kernels<T>& kernels = vecmath::best<T>();
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
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
      const int64_t rows = smaller(kQueryTile, n.Tq - i0);
      for (int64_t r = 0; r < rows; ++r) {
        T dot = 0;
        for (int64_t e = 0; e < n.dv; ++e) dot += g[(i0 + r) * n.dv + e] * o[(i0 + r) * n.dv + e];
        row_dot[r] = dot;
      }
      const int64_t end = key_end(n, causal, i0, rows);
      for (int64_t j0 = 0; j0 < end; j0 += kKeyTile) {
        const int64_t cols = smaller(kKeyTile, end - j0);
        transpose_tile(k + j0 * n.d, cols, n.d, kT);
        transpose_tile(v + j0 * n.dv, cols, n.dv, vT);
        tile_scores(q + i0 * n.d, kT, rows, cols, n.d, scale, i0, j0, n.Tk - n.Tq, causal, pad, s);
        for (int64_t r = 0; r < rows; ++r) {
          T* sr = s + r * kKeyTile;
          T* dpr = dp + r * kKeyTile;
          const T* gr = g + (i0 + r) * n.dv;
          for (int64_t c = 0; c < cols; ++c) sr[c] -= lse[i0 + r];
          kernels.exp(sr, sr, cols);  // p
          for (int64_t c = 0; c < cols; ++c) dpr[c] = T(0);
          for (int64_t e = 0; e < n.dv; ++e) {
            const T ge = gr[e];
            const T* vr = vT + e * kKeyTile;
            for (int64_t c = 0; c < cols; ++c) dpr[c] += ge * vr[c];
          }
          for (int64_t c = 0; c < cols; ++c) dpr[c] = sr[c] * (dpr[c] - row_dot[r]) * scale;  // ds / √d
          const T* qr = q + (i0 + r) * n.d;
          T* gqr = gq + (i0 + r) * n.d;
          for (int64_t c = 0; c < cols; ++c) {
            const T p = sr[c], ds = dpr[c];
            if (p == T(0)) continue;
            T* gvr = gv + (j0 + c) * n.dv;
            for (int64_t e = 0; e < n.dv; ++e) gvr[e] += p * gr[e];
            const T* kr = k + (j0 + c) * n.d;
            T* gkr = gk + (j0 + c) * n.d;
            for (int64_t e = 0; e < n.d; ++e) gqr[e] += ds * kr[e];
            for (int64_t e = 0; e < n.d; ++e) gkr[e] += ds * qr[e];
          }
        }
      }
    }
  }
}

template void forward_range<float>(const AttentionDims&, bool, const float*, const float*, const float*, const float*,
                                   float*, float*, int64_t, int64_t, float*);
template void forward_range<double>(const AttentionDims&, bool, const double*, const double*, const double*,
                                    const double*, double*, double*, int64_t, int64_t, double*);
template void backward_range<float>(const AttentionDims&, bool, const float*, const float*, const float*, const float*,
                                    const float*, const float*, const float*, float*, float*, float*, int64_t, int64_t,
                                    float*);
template void backward_range<double>(const AttentionDims&, bool, const double*, const double*, const double*,
                                     const double*, const double*, const double*, const double*, double*, double*,
                                     double*, int64_t, int64_t, double*);

}  // namespace xg::nn::detail::XG_ME_ARCH
