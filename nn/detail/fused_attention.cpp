#include <xgrad/nn/detail/fused_attention.hpp>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <type_traits>
#include <vector>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/blas.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/detail/vecmath.hpp>
#include <xgrad/nn/detail/attention_heads.hpp>
#include <xgrad/nn/detail/key_padding.hpp>

namespace xg::nn::detail {

namespace {
namespace attention_heads = detail::attention_heads;

struct Dims {
  int64_t N, M, Tq, Tk, d, dv;  // N heads in all, M per batch row (N = B·M)
  // Heads run in parallel when each head's products are too small to be split across threads.
  bool heads_in_parallel() const {
    const double per_head = static_cast<double>(Tq) * static_cast<double>(Tk) * static_cast<double>(std::max(d, dv));
    return per_head <= blas::kThreadedFrom && static_cast<double>(N) * per_head > static_cast<double>(kParallelGrain);
  }
};

// Where head h's (T, width) matrix sits in its tensor: (N, T, width) with the heads as an axis,
// or (B, T, M·width) with the heads side by side in each position's row (a projection's output,
// read in place instead of permuted into heads and back).
struct HeadLayout {
  int64_t T, width, M;  // M heads per batch row
  bool heads_last;
  int64_t offset(int64_t h) const { return heads_last ? ((h / M) * T * M + h % M) * width : h * T * width; }
  int64_t row_stride() const { return heads_last ? M * width : width; }
};

// Hidden positions of every (batch row, query, key) as 0/1, or empty when nothing is hidden.
std::vector<char> hidden_positions(const Tensor& attn_mask, const Tensor& key_padding, int64_t B, const Dims& n) {
  if (!attn_mask.defined() && !key_padding.defined()) return {};
  const std::vector<double> am = attn_mask.defined() ? attn_mask.to_vector() : std::vector<double>();
  const std::vector<double> kp = key_padding.defined() ? key_padding.to_vector() : std::vector<double>();
  // Padded: the float32 head kernels read each row's flags 16 at a time.
  std::vector<char> hidden(static_cast<std::size_t>(B * n.Tq * n.Tk + attention_heads::kHiddenPadding));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < n.Tq; ++i)
      for (int64_t j = 0; j < n.Tk; ++j)
        hidden[static_cast<std::size_t>((b * n.Tq + i) * n.Tk + j)] =
            (!am.empty() && am[static_cast<std::size_t>(i * n.Tk + j)] != 0) ||
            (!kp.empty() && kp[static_cast<std::size_t>(b * n.Tk + j)] != 0);
  return hidden;
}

// Softmax of one row of scores in place; hidden entries (and a fully hidden row) become 0.
template <class T>
void softmax_row(T* s, const char* hidden, int64_t Tk) {
  const vecmath::Kernels<T>& kernels = vecmath::best<T>();
  const T ninf = -std::numeric_limits<T>::infinity();
  T m = ninf;
  for (int64_t j = 0; j < Tk; ++j) {
    if (hidden && hidden[j]) s[j] = ninf;
    m = std::max(m, s[j]);
  }
  if (m == ninf) {
    for (int64_t j = 0; j < Tk; ++j) s[j] = T(0);
    return;
  }
  for (int64_t j = 0; j < Tk; ++j) s[j] -= m;
  kernels.exp(s, s, Tk);
  T total = 0;
  for (int64_t j = 0; j < Tk; ++j) total += hidden && hidden[j] ? (s[j] = T(0)) : s[j];
  const T inv = T(1) / total;
  for (int64_t j = 0; j < Tk; ++j) s[j] *= inv;
}

// Runs body(head, scratch) for every head, in parallel when Dims::heads_in_parallel says so;
// scratch is one buffer per thread, of scratch_size elements.
template <class T, class Body>
void for_each_head(const Dims& n, int64_t scratch_size, Body&& body) {
  XG_PRAGMA(omp parallel if (n.heads_in_parallel()))
  {
    std::vector<T> scratch(static_cast<std::size_t>(scratch_size));
    XG_PRAGMA(omp for schedule(static))
    for (int64_t h = 0; h < n.N; ++h) body(h, scratch.data());
  }
}

// From dP (the gradient of head h's softmax weights P, in ds) to the gradients of its queries
// and keys: dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale (in place), dQ = dS K, dK = dSᵀ Q; and dS
// before the scale (the gradient of an added bias) into dbias (Tq, Tk) when it is not null.
template <class T>
void scores_backward(const Dims& n, int64_t h, const T* w, T* ds, T scale, const T* q, const HeadLayout& lq,
                     const T* k, const HeadLayout& lk, T* dq, T* dk, T* dbias) {
  for (int64_t i = 0; i < n.Tq; ++i) {
    T* r = ds + i * n.Tk;
    const T* p = w + i * n.Tk;
    T dot = 0;
    for (int64_t j = 0; j < n.Tk; ++j) dot += p[j] * r[j];
    for (int64_t j = 0; j < n.Tk; ++j) r[j] = p[j] * (r[j] - dot);
    if (dbias) std::copy(r, r + n.Tk, dbias + i * n.Tk);
    for (int64_t j = 0; j < n.Tk; ++j) r[j] *= scale;
  }
  blas::gemm<T>(false, false, n.Tq, n.d, n.Tk, T(1), ds, n.Tk, k + lk.offset(h), lk.row_stride(), T(0),
                dq + lq.offset(h), lq.row_stride());
  blas::gemm<T>(true, false, n.Tk, n.d, n.Tq, T(1), ds, n.Tk, q + lq.offset(h), lq.row_stride(), T(0),
                dk + lk.offset(h), lk.row_stride());
}

// The bias gradient from every head's score gradient (N, Tq, Tk): summed over the batch rows
// that share a head, (M, Tq, Tk), in batch order.
Tensor sum_over_batch(const Tensor& per_head, const Dims& n) {
  Tensor out = Tensor::empty({n.M, n.Tq, n.Tk}, per_head.dtype());  // zero-filled
  dispatch(per_head.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = per_head.data<T>();
    T* dst = out.data<T>();
    const int64_t size = n.Tq * n.Tk, B = n.M > 0 ? n.N / n.M : 0;
    XG_PRAGMA(omp parallel for if (n.N * size > kParallelGrain) schedule(static))
    for (int64_t m = 0; m < n.M; ++m)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < size; ++i) dst[m * size + i] += src[(b * n.M + m) * size + i];
  });
  return out;
}

// Both layouts' forward and backward. heads = 0: q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv);
// heads > 0: q (B, Tq, heads·d), k (B, Tk, heads·d), v (B, Tk, heads·dv).
FusedAttentionResult attention_in_layout(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                                         int64_t heads, const Tensor& attn_mask, const Tensor& key_padding,
                                         const Tensor& keep, const Tensor& bias) {
  const auto fail = [&](const std::string& why) {
    return ShapeError(fmt::format("{}: q {}, k {}, v {}: {}", op, shape_str(q.shape()), shape_str(k.shape()),
                                  shape_str(v.shape()), why));
  };
  const bool heads_last = heads > 0;
  if (heads_last) {
    if (q.dim() != 3 || k.dim() != 3 || v.dim() != 3) throw fail("need (B, T, heads·d) for all three");
    if (k.shape()[0] != q.shape()[0] || v.shape()[0] != q.shape()[0]) throw fail("batch sizes differ");
    if (q.shape()[2] % heads != 0 || v.shape()[2] % heads != 0)
      throw fail(fmt::format("{} heads do not divide the last axis", heads));
  } else {
    if (q.dim() < 3 || k.dim() != q.dim() || v.dim() != q.dim()) throw fail("need (B, ..., T, d) for all three");
    const Shape lead(q.shape().begin(), q.shape().end() - 2);
    if (Shape(k.shape().begin(), k.shape().end() - 2) != lead || Shape(v.shape().begin(), v.shape().end() - 2) != lead)
      throw fail("leading axes differ");
  }
  check_same_dtype(op, q, k);
  check_same_dtype(op, q, v);
  const int64_t B = q.shape()[0];
  // (..., Tq, Tk) weights: the leading axes, or (B, heads)
  Shape weight_shape = heads_last ? Shape{B, heads} : Shape(q.shape().begin(), q.shape().end() - 2);
  Dims n{numel_of(weight_shape), 0, q.shape()[q.dim() - 2], k.shape()[k.dim() - 2],
         q.shape().back() / std::max<int64_t>(heads, 1), v.shape().back() / std::max<int64_t>(heads, 1)};
  n.M = B > 0 ? n.N / B : 0;
  if (k.shape().back() != q.shape().back()) throw fail("q and k head sizes differ");
  if (v.shape()[v.dim() - 2] != n.Tk) throw fail("k and v lengths differ");
  if (attn_mask.defined() && attn_mask.shape() != Shape{n.Tq, n.Tk})
    throw ShapeError(fmt::format("{}: attn_mask {} for q {} and k {} (needs [{}, {}])", op,
                                 shape_str(attn_mask.shape()), shape_str(q.shape()), shape_str(k.shape()), n.Tq, n.Tk));
  detail::checked_key_padding(op, key_padding, k, B, n.Tk, q.dtype());
  if (bias.defined() && (bias.shape() != Shape{n.M, n.Tq, n.Tk} || bias.dtype() != q.dtype()))
    throw ShapeError(fmt::format("{}: bias {} ({}) for q {} and k {} (needs [{}, {}, {}], {})", op,
                                 shape_str(bias.shape()), dtype_name(bias.dtype()), shape_str(q.shape()),
                                 shape_str(k.shape()), n.M, n.Tq, n.Tk, dtype_name(q.dtype())));
  weight_shape.push_back(n.Tq);
  weight_shape.push_back(n.Tk);
  if (keep.defined() && keep.shape() != weight_shape)
    throw ShapeError(fmt::format("{}: dropout multipliers {} for weights {}", op, shape_str(keep.shape()),
                                 shape_str(weight_shape)));
  const HeadLayout lq{n.Tq, n.d, n.M, heads_last}, lk{n.Tk, n.d, n.M, heads_last}, lv{n.Tk, n.dv, n.M, heads_last},
      lo{n.Tq, n.dv, n.M, heads_last};
  const std::vector<char> hidden = hidden_positions(attn_mask, key_padding, B, n);  // the forward needs it, the backward not
  Shape out_shape = q.shape();
  out_shape.back() = heads_last ? heads * n.dv : n.dv;
  Tensor weights = Tensor::uninitialized(weight_shape, q.dtype());  // (N, Tq, Tk)
  Tensor out = Tensor::uninitialized(out_shape, q.dtype());         // q's layout, with dv for d
  const double scale = 1.0 / std::sqrt(static_cast<double>(n.d));
  const attention_heads::HeadSizes sizes{n.Tq, n.Tk, n.d, n.dv, static_cast<float>(scale)};
  dispatch(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *pq = q.data<T>(), *pk = k.data<T>(), *pv = v.data<T>(), *pkeep = keep.defined() ? keep.data<T>() : nullptr;
    const T* pbias = bias.defined() ? bias.data<T>() : nullptr;  // head h reads bias[h % M]
    T *pw = weights.data<T>(), *po = out.data<T>();
    if constexpr (std::is_same_v<T, float>) {
      if (attention_heads::fits(sizes)) {
        blas::count_product_flops(n.N * n.Tq, n.Tk, n.d);   // scores, as the BLAS path counts them
        blas::count_product_flops(n.N * n.Tq, n.dv, n.Tk);  // weighted sum
        for_each_head<T>(n, attention_heads::scratch_floats(sizes), [&](int64_t h, T* scratch) {
          const char* hid = hidden.empty() ? nullptr : hidden.data() + (h / n.M) * n.Tq * n.Tk;
          attention_heads::forward(sizes, pq + lq.offset(h), lq.row_stride(), pk + lk.offset(h), lk.row_stride(),
                                   pv + lv.offset(h), lv.row_stride(), hid,
                                   pbias ? pbias + (h % n.M) * n.Tq * n.Tk : nullptr, pkeep ? pkeep + h * n.Tq * n.Tk : nullptr,
                                   pw + h * n.Tq * n.Tk, po + lo.offset(h), lo.row_stride(), scratch);
        });
        return;
      }
    }
    for_each_head<T>(n, n.Tq * n.Tk, [&](int64_t h, T* dropped) {
      T* w = pw + h * n.Tq * n.Tk;  // (Tq, Tk) = scale · Q Kᵀ, then its softmax
      blas::gemm<T>(false, true, n.Tq, n.Tk, n.d, T(scale), pq + lq.offset(h), lq.row_stride(), pk + lk.offset(h),
                    lk.row_stride(), T(0), w, n.Tk);
      if (pbias) {
        const T* bh = pbias + (h % n.M) * n.Tq * n.Tk;
        for (int64_t i = 0; i < n.Tq * n.Tk; ++i) w[i] += bh[i];
      }
      const char* hid = hidden.empty() ? nullptr : hidden.data() + (h / n.M) * n.Tq * n.Tk;
      for (int64_t i = 0; i < n.Tq; ++i) softmax_row(w + i * n.Tk, hid ? hid + i * n.Tk : nullptr, n.Tk);
      const T* used = w;
      if (pkeep) {
        const T* kp = pkeep + h * n.Tq * n.Tk;
        for (int64_t i = 0; i < n.Tq * n.Tk; ++i) dropped[i] = w[i] * kp[i];
        used = dropped;
      }
      blas::gemm<T>(false, false, n.Tq, n.dv, n.Tk, T(1), used, n.Tk, pv + lv.offset(h), lv.row_stride(), T(0),
                    po + lo.offset(h), lo.row_stride());  // (Tq, dv) = P V
    });
  });
  const Tensor qd = q.detach(), kd = k.detach(), vd = v.detach(), wd = weights.detach();
  const Tensor keepd = keep.defined() ? keep.detach() : Tensor();
  Tensor context = record(op, out, {q, k, v, bias}, [=](const Tensor& g, GradSink& sink) {
    Tensor dq = Tensor::uninitialized(qd.shape(), g.dtype()), dk = Tensor::uninitialized(kd.shape(), g.dtype()),
           dv = Tensor::uninitialized(vd.shape(), g.dtype());
    // Each head's score gradient, when the bias needs one: (N, Tq, Tk), summed over the batch after.
    Tensor dscores = sink.needs(3) ? Tensor::uninitialized({n.N, n.Tq, n.Tk}, g.dtype()) : Tensor();
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T *pv = vd.data<T>(), *pw = wd.data<T>(), *pg = g.data<T>();
      const T* pkeep = keepd.defined() ? keepd.data<T>() : nullptr;
      T* pdv = dv.data<T>();
      T* pds = dscores.defined() ? dscores.data<T>() : nullptr;
      if constexpr (std::is_same_v<T, float>) {
        if (attention_heads::fits(sizes)) {
          const T *pq = qd.data<T>(), *pk = kd.data<T>();
          T *pdq = dq.data<T>(), *pdk = dk.data<T>();
          blas::count_product_flops(n.N * n.Tk, n.dv, n.Tq);  // dV
          blas::count_product_flops(n.N * n.Tq, n.Tk, n.dv);  // dP
          blas::count_product_flops(n.N * n.Tq, n.d, n.Tk);   // dQ
          blas::count_product_flops(n.N * n.Tk, n.d, n.Tq);   // dK
          for_each_head<T>(n, attention_heads::scratch_floats(sizes), [&](int64_t h, T* scratch) {
            attention_heads::backward(sizes, pw + h * n.Tq * n.Tk, pkeep ? pkeep + h * n.Tq * n.Tk : nullptr,
                                      pg + lo.offset(h), lo.row_stride(), pq + lq.offset(h), lq.row_stride(),
                                      pk + lk.offset(h), lk.row_stride(), pv + lv.offset(h), lv.row_stride(),
                                      pdq + lq.offset(h), pdk + lk.offset(h), pdv + lv.offset(h),
                                      pds ? pds + h * n.Tq * n.Tk : nullptr, scratch);
          });
          return;
        }
      }
      for_each_head<T>(n, n.Tq * n.Tk, [&](int64_t h, T* ds) {
        const T* w = pw + h * n.Tq * n.Tk;
        const T* gh = pg + lo.offset(h);
        const T* kp = pkeep ? pkeep + h * n.Tq * n.Tk : nullptr;
        // dV = Pdᵀ dO, with Pd the weights after dropout (built in ds, which is free until dP)
        const T* used = w;
        if (kp) {
          for (int64_t i = 0; i < n.Tq * n.Tk; ++i) ds[i] = w[i] * kp[i];
          used = ds;
        }
        blas::gemm<T>(true, false, n.Tk, n.dv, n.Tq, T(1), used, n.Tk, gh, lo.row_stride(), T(0), pdv + lv.offset(h),
                      lv.row_stride());
        // dP = dO Vᵀ, through the dropout multipliers
        blas::gemm<T>(false, true, n.Tq, n.Tk, n.dv, T(1), gh, lo.row_stride(), pv + lv.offset(h), lv.row_stride(),
                      T(0), ds, n.Tk);
        if (kp)
          for (int64_t i = 0; i < n.Tq * n.Tk; ++i) ds[i] *= kp[i];
        scores_backward(n, h, w, ds, T(scale), qd.data<T>(), lq, kd.data<T>(), lk, dq.data<T>(), dk.data<T>(),
                        pds ? pds + h * n.Tq * n.Tk : nullptr);
      });
    });
    sink.add(0, std::move(dq));
    sink.add(1, std::move(dk));
    sink.add(2, std::move(dv));
    if (dscores.defined()) sink.add(3, sum_over_batch(dscores, n));
  });
  // The weights are an output too (attention-supervision losses differentiate them): the same
  // softmax and score backward, from dP = their gradient.
  weights = record("fused_attention_weights", weights, {q, k, bias}, [=](const Tensor& g, GradSink& sink) {
    Tensor dq = Tensor::uninitialized(qd.shape(), g.dtype()), dk = Tensor::uninitialized(kd.shape(), g.dtype());
    Tensor dscores = sink.needs(2) ? Tensor::uninitialized({n.N, n.Tq, n.Tk}, g.dtype()) : Tensor();
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T *pw = wd.data<T>(), *pg = g.data<T>();
      T* pds = dscores.defined() ? dscores.data<T>() : nullptr;
      for_each_head<T>(n, n.Tq * n.Tk, [&](int64_t h, T* ds) {
        std::copy(pg + h * n.Tq * n.Tk, pg + (h + 1) * n.Tq * n.Tk, ds);
        scores_backward(n, h, pw + h * n.Tq * n.Tk, ds, T(scale), qd.data<T>(), lq, kd.data<T>(), lk, dq.data<T>(),
                        dk.data<T>(), pds ? pds + h * n.Tq * n.Tk : nullptr);
      });
    });
    sink.add(0, std::move(dq));
    sink.add(1, std::move(dk));
    if (dscores.defined()) sink.add(2, sum_over_batch(dscores, n));
  });
  return {context, weights};
}
}  // namespace

FusedAttentionResult fused_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                     const Tensor& key_padding, const Tensor& keep, const Tensor& bias) {
  return attention_in_layout("fused_attention", q, k, v, 0, attn_mask, key_padding, keep, bias);
}

FusedAttentionResult fused_attention_heads_last(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads,
                                                const Tensor& attn_mask, const Tensor& key_padding,
                                                const Tensor& keep, const Tensor& bias) {
  if (heads < 1) throw ShapeError(fmt::format("fused_attention_heads_last: {} heads (need at least 1)", heads));
  return attention_in_layout("fused_attention_heads_last", q, k, v, heads, attn_mask, key_padding, keep, bias);
}

FusedAttentionResult cached_query_attention(const Tensor& q, const Tensor& k_buffer, const Tensor& v_buffer,
                                            int64_t length, const Tensor& key_padding, const Tensor& bias) {
  const auto fail = [&](const std::string& why) {
    return ShapeError(fmt::format("cached_query_attention: q {}, key buffer {}, value buffer {}, length {}: {}",
                                  shape_str(q.shape()), shape_str(k_buffer.shape()), shape_str(v_buffer.shape()),
                                  length, why));
  };
  if (q.dim() != 4 || k_buffer.dim() != 4 || v_buffer.dim() != 4 || q.shape()[2] != 1)
    throw fail("need q (B, H, 1, d) and buffers (B, H_kv, C, d)");
  const int64_t B = q.shape()[0], H = q.shape()[1], d = q.shape()[3];
  const int64_t Hkv = k_buffer.shape()[1], C = k_buffer.shape()[2], dv = v_buffer.shape()[3];
  if (k_buffer.shape()[0] != B || k_buffer.shape()[3] != d) throw fail("q and the key buffer differ in batch or head size");
  if (v_buffer.shape()[0] != B || v_buffer.shape()[1] != Hkv || v_buffer.shape()[2] != C)
    throw fail("the key and value buffers differ");
  if (Hkv < 1 || H % Hkv != 0) throw fail("query heads are not a multiple of key/value heads");
  if (length < 0 || length > C) throw fail("length outside the buffer");
  check_same_dtype("cached_query_attention", q, k_buffer);
  check_same_dtype("cached_query_attention", q, v_buffer);
  if (grad_mode_enabled() && (q.requires_grad() || k_buffer.requires_grad() || v_buffer.requires_grad()))
    throw Error("cached_query_attention: has no backward; call it outside autograd (NoGradGuard)");
  const Tensor pad = detail::checked_key_padding("cached_query_attention", key_padding, k_buffer, B, length, q.dtype());
  if (bias.defined() && (bias.shape() != Shape{H, 1, length} || bias.dtype() != q.dtype()))
    throw fail(fmt::format("bias {} (needs [{}, 1, {}] of the query's dtype)", shape_str(bias.shape()), H, length));
  Tensor weights = Tensor::uninitialized({B, H, 1, length}, q.dtype());
  Tensor out = Tensor::uninitialized({B, H, 1, dv}, q.dtype());
  dispatch(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const vecmath::Kernels<T>& kernels = vecmath::best<T>();  // looked up once, not per row
    const T scale = T(1) / std::sqrt(static_cast<T>(d));
    const T *pq = q.data<T>(), *pk = k_buffer.data<T>(), *pv = v_buffer.data<T>();
    const T* pp = pad.defined() ? pad.data<T>() : nullptr;
    const T* pbias = bias.defined() ? bias.data<T>() : nullptr;
    T *pw = weights.data<T>(), *po = out.data<T>();
    const int64_t group = H / Hkv;
    XG_PRAGMA(omp parallel for if (B * H * length * (d + dv) > kParallelGrain) schedule(static))
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, kv_head = b * Hkv + (bh % H) / group;
      const T* keys = pk + kv_head * C * d;  // (C, d), the first `length` rows in use
      const T* values = pv + kv_head * C * dv;
      T* w = pw + bh * length;  // (length)
      T* o = po + bh * dv;      // (dv)
      T top = -std::numeric_limits<T>::infinity();
      for (int64_t t = 0; t < length; ++t) {
        w[t] = pp && pp[b * length + t] != T(0) ? -std::numeric_limits<T>::infinity()
                                                 : kernels.dot(pq + bh * d, keys + t * d, d) * scale;
        if (pbias) w[t] += pbias[(bh % H) * length + t];
        top = std::max(top, w[t]);
      }
      std::fill(o, o + dv, T(0));
      if (top == -std::numeric_limits<T>::infinity()) {  // every key hidden: zero weights and context
        std::fill(w, w + length, T(0));
        continue;
      }
      for (int64_t t = 0; t < length; ++t) w[t] -= top;  // exp(-inf) = 0 for padding
      kernels.exp(w, w, length);
      T total = T(0);
      for (int64_t t = 0; t < length; ++t) total += w[t];
      const T inv = T(1) / total;
      for (int64_t t = 0; t < length; ++t) {
        w[t] *= inv;
        const T* vt = values + t * dv;
        for (int64_t j = 0; j < dv; ++j) o[j] += w[t] * vt[j];
      }
    }
  });
  return {out, weights};
}

}  // namespace xg::nn::detail
