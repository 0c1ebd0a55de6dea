// Compiled with -mavx512f (CMakeLists.txt); called only when the CPU has AVX-512F.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace xg::packed_gemm::avx512 {

namespace {
constexpr int64_t kPanel = 32;

__mmask16 lanes(int64_t count) {  // the low `count` of 16 lanes, count clamped to [0, 16]
  return count >= 16 ? __mmask16(0xFFFF) : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1u);
}

// What happens to a finished element before it is stored (packed_gemm.hpp's Finish).
struct Finish {
  int kind;             // 0: nothing, 1: max(c, 0), 2: c where gate > 0 (times scale when given), else 0
  const float* gate;    // kind 2: row i of the gate at gate + i·ld
  const float* scale;   // kind 2, optional: row i at scale + i·ld
  int64_t ld;
};

// R rows of C against one panel: 2R accumulators of 16 floats (R = 8 uses 16 of 32 registers),
// one broadcast of A per row and k, two loads of the panel per k.
template <int R>
void block(int64_t k, const float* a, int64_t lda, const float* panel, float* c, int64_t ldc, int64_t cols,
           const float* init, int64_t init_stride, const Finish& finish) {
  const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
  __m512 c0[R], c1[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (init) {
      c0[r] = _mm512_maskz_loadu_ps(m0, init + r * init_stride);
      c1[r] = _mm512_maskz_loadu_ps(m1, init + r * init_stride + 16);
    } else {
      c0[r] = _mm512_setzero_ps(), c1[r] = _mm512_setzero_ps();
    }
  }
  for (int64_t kk = 0; kk < k; ++kk) {
    const __m512 b0 = _mm512_loadu_ps(panel + kk * kPanel), b1 = _mm512_loadu_ps(panel + kk * kPanel + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * lda + kk]);
      c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
    }
  }
  if (finish.kind == 1) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      // c > 0 ? c : 0, as relu() (NaN gives 0); _mm512_max_ps would too, but GCC 12's header
      // trips -Wmaybe-uninitialized on it.
      c0[r] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(c0[r], _mm512_setzero_ps(), _CMP_GT_OQ), c0[r]);
      c1[r] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(c1[r], _mm512_setzero_ps(), _CMP_GT_OQ), c1[r]);
    }
  } else if (finish.kind == 2) {
    for (int r = 0; r < R; ++r) {
      const float* gate = finish.gate + r * finish.ld;
      const __mmask16 open0 = _mm512_mask_cmp_ps_mask(m0, _mm512_maskz_loadu_ps(m0, gate), _mm512_setzero_ps(), _CMP_GT_OQ);
      const __mmask16 open1 =
          _mm512_mask_cmp_ps_mask(m1, _mm512_maskz_loadu_ps(m1, gate + 16), _mm512_setzero_ps(), _CMP_GT_OQ);
      if (finish.scale) {
        const float* scale = finish.scale + r * finish.ld;
        c0[r] = _mm512_mul_ps(c0[r], _mm512_maskz_loadu_ps(m0, scale));
        c1[r] = _mm512_mul_ps(c1[r], _mm512_maskz_loadu_ps(m1, scale + 16));
      }
      c0[r] = _mm512_maskz_mov_ps(open0, c0[r]);
      c1[r] = _mm512_maskz_mov_ps(open1, c1[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, c0[r]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, c1[r]);
  }
}

using BlockFn = void (*)(int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t, const float*, int64_t,
                         const Finish&);
constexpr BlockFn kBlocks[9] = {nullptr, block<1>, block<2>, block<3>, block<4>, block<5>, block<6>, block<7>, block<8>};
}  // namespace

// Rows [0, m) of C against panel `p` (columns [32p, min(32p + 32, n))); finish_kind, gate, scale
// and ld as in Finish, with gate and scale already at the panel's first column.
void panel_product(const float* a, int64_t lda, int64_t m, int64_t k, const float* panel, int64_t cols, float* c,
                   int64_t ldc, const float* init_rows, int64_t init_stride, int finish_kind, const float* gate,
                   const float* scale, int64_t ld) {
  for (int64_t i = 0; i < m; i += 8) {
    const int64_t rows = std::min<int64_t>(8, m - i);
    const Finish finish{finish_kind, gate ? gate + i * ld : nullptr, scale ? scale + i * ld : nullptr, ld};
    kBlocks[rows](k, a + i * lda, lda, panel, c + i * ldc, ldc, cols, init_rows ? init_rows + i * init_stride : nullptr,
                  init_stride, finish);
  }
}

}  // namespace xg::packed_gemm::avx512
