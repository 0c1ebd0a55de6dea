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

// R rows of C against one panel: 2R accumulators of 16 floats (R = 8 uses 16 of 32 registers),
// one broadcast of A per row and k, two loads of the panel per k.
template <int R>
void block(int64_t k, const float* a, int64_t lda, const float* panel, float* c, int64_t ldc, int64_t cols,
           const float* init, int64_t init_stride) {
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
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, c0[r]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, c1[r]);
  }
}

using BlockFn = void (*)(int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t, const float*, int64_t);
constexpr BlockFn kBlocks[9] = {nullptr, block<1>, block<2>, block<3>, block<4>, block<5>, block<6>, block<7>, block<8>};
}  // namespace

// Rows [0, m) of C against panel `p` (columns [32p, min(32p + 32, n))).
void panel_product(const float* a, int64_t lda, int64_t m, int64_t k, const float* panel, int64_t cols, float* c,
                   int64_t ldc, const float* init_rows, int64_t init_stride) {
  for (int64_t i = 0; i < m; i += 8) {
    const int64_t rows = std::min<int64_t>(8, m - i);
    kBlocks[rows](k, a + i * lda, lda, panel, c + i * ldc, ldc, cols, init_rows ? init_rows + i * init_stride : nullptr,
                  init_stride);
  }
}

}  // namespace xg::packed_gemm::avx512
