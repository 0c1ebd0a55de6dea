#include <xgrad/core/detail/packed_gemm.hpp>

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include <xgrad/core/detail/blas.hpp>
#include <xgrad/core/detail/vecmath.hpp>

namespace xg::packed_gemm {

namespace avx512 {
void panel_product(const float* a, int64_t lda, int64_t m, int64_t k, const float* panel, int64_t cols, float* c,
                   int64_t ldc, const float* init_rows, int64_t init_stride, int finish_kind, const float* gate,
                   const float* scale, int64_t ld);
}

namespace {
constexpr int64_t kPanel = 32;
std::atomic<bool> g_enabled{true};

int64_t panels_for(int64_t n) { return (n + kPanel - 1) / kPanel; }
// Rows in blocks of about this many bytes of A, and k in steps of this many (a 256 x 32 slice of
// a panel is 32 KB): measured on 1920-row products with k = 128 and 512, 64-256 KB and depth 256
// or none were within a few percent of each other; no blocking at all lost 10% at k = 512.
constexpr int64_t kRowBlockBytes = 128 * 1024, kDepthBlock = 256;
}  // namespace

// Only where the active vecmath set is AVX-512: XGRAD_KERNELS=reference (or a narrower set) turns
// this kernel off too, and products go through OpenBLAS.
bool available() {
  static const bool have_avx512 = vecmath::active_isa() == vecmath::Isa::Avx512;
  return have_avx512 && g_enabled.load(std::memory_order_relaxed);
}
void set_enabled(bool enabled) { g_enabled.store(enabled, std::memory_order_relaxed); }

// Panel by panel, each written in order, with zeros past column n; copy_row(kk, j0, cols, dst)
// writes B[kk][j0, j0 + cols) to dst.
template <class CopyRow>
Panels Panels::build(int64_t k, int64_t n, CopyRow copy_row) {
  Panels p;
  p.k_ = k, p.n_ = n;
  p.data_.reset(new float[static_cast<std::size_t>(panels_for(n) * k * kPanel)]);
  for (int64_t j0 = 0; j0 < n; j0 += kPanel) {
    const int64_t cols = std::min(kPanel, n - j0);
    float* dst = p.data_.get() + (j0 / kPanel) * k * kPanel;
    for (int64_t kk = 0; kk < k; ++kk, dst += kPanel) {
      copy_row(kk, j0, cols, dst);
      std::fill(dst + cols, dst + kPanel, 0.0f);
    }
  }
  return p;
}

Panels Panels::of_transposed(const float* w, int64_t n, int64_t k) {
  // Column j of B is row j of W: each k reads one element from each of the panel's 32 rows (32
  // cache lines, reused for the next 15 values of k).
  return build(k, n, [&](int64_t kk, int64_t j0, int64_t cols, float* dst) {
    for (int64_t j = 0; j < cols; ++j) dst[j] = w[(j0 + j) * k + kk];
  });
}

Panels Panels::of_plain(const float* b, int64_t k, int64_t n) {
  return build(k, n, [&](int64_t kk, int64_t j0, int64_t cols, float* dst) {
    std::copy(b + kk * n + j0, b + kk * n + j0 + cols, dst);
  });
}

void Panels::multiply(const float* a, int64_t lda, int64_t m, float* c, int64_t ldc, const float* init_rows,
                      int64_t init_stride, const Finish& finish) const {
  if (!__builtin_cpu_supports("avx512f")) throw std::logic_error("packed_gemm: the kernel needs AVX-512F");
  if (m == 0 || n_ == 0) return;
  blas::count_product_flops(m, n_, k_);
  const int64_t panels = panels_for(n_);
  // Rows in blocks whose part of A stays in this core's cache while every panel passes over it:
  // a panel at a time over all of a 1920 x 512 A read A from memory once per panel (125-132
  // GFLOP/s against OpenBLAS's 142).
  const int64_t block_rows = std::max<int64_t>(8, kRowBlockBytes / (4 * std::max<int64_t>(k_, 1)) / 8 * 8);
  // Panels are independent column blocks of C; each thread keeps its panels in its own cache.
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const double work = static_cast<double>(m) * static_cast<double>(n_) * static_cast<double>(k_);
  const bool parallel = threads > 1 && panels > 1 && work > blas::kThreadedFrom;
#pragma omp parallel if (parallel)
  for (int64_t i0 = 0; i0 < m; i0 += block_rows) {
    const int64_t rows = std::min(block_rows, m - i0);
#pragma omp for schedule(static) nowait
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t col = p * kPanel;
      for (int64_t k0 = 0; k0 == 0 || k0 < k_; k0 += kDepthBlock) {  // k = 0 still writes init
        const int64_t depth = std::min(kDepthBlock, k_ - k0);
        const float* init = k0 > 0 ? c + i0 * ldc + col : init_rows ? init_rows + i0 * init_stride + col : nullptr;
        const bool last = k0 + depth >= k_;  // the sums are complete: finish them
        const int kind = last ? static_cast<int>(finish.kind) : 0;
        const int64_t at = i0 * finish.ld + col;
        avx512::panel_product(a + i0 * lda + k0, lda, rows, depth, data_.get() + (p * k_ + k0) * kPanel,
                              std::min(kPanel, n_ - col), c + i0 * ldc + col, ldc, init, k0 > 0 ? ldc : init_stride,
                              kind, finish.gate ? finish.gate + at : nullptr, finish.scale ? finish.scale + at : nullptr,
                              finish.ld);
      }
    }
  }
}

}  // namespace xg::packed_gemm
