#pragma once
// Internal: the tile loops of nn/memory_efficient_attention.cpp, compiled twice: for the x86-64
// baseline and with AVX2+FMA (8-wide fused multiply-adds, 2.x faster here), chosen at run time.
// The AVX2 translation unit uses no inline library templates (std::vector, std::fill, ...):
// their instantiations would be shared with baseline code and could carry AVX2 instructions to a
// CPU without them. Scratch memory therefore comes from the caller.
#include <cstdint>

namespace xg::nn::detail {

constexpr int64_t kQueryTile = 32, kKeyTile = 64;

struct AttentionDims {
  int64_t BH, H, Tq, Tk, d, dv;
};

// Per-thread scratch floats (of T) the kernels need: kT, vT, s, dp tiles and per-row state.
inline int64_t scratch_elements(const AttentionDims& n) {
  return (n.d + n.dv) * kKeyTile + 2 * kQueryTile * kKeyTile + 3 * kQueryTile;
}

#define XG_ME_DECLARE(NS)                                                                                       \
  namespace NS {                                                                                                \
  template <class T>                                                                                            \
  void forward_range(const AttentionDims& n, bool causal, const T* q, const T* k, const T* v, const T* mask,     \
                     T* out, T* lse, int64_t bh_begin, int64_t bh_end, T* scratch);                             \
  template <class T>                                                                                            \
  void backward_range(const AttentionDims& n, bool causal, const T* q, const T* k, const T* v, const T* mask,    \
                      const T* out, const T* lse, const T* g, T* dq, T* dk, T* dv, int64_t bh_begin,           \
                      int64_t bh_end, T* scratch);                                                              \
  }
XG_ME_DECLARE(baseline)
XG_ME_DECLARE(avx2)
#undef XG_ME_DECLARE

bool use_avx2_kernels();

}  // namespace xg::nn::detail
