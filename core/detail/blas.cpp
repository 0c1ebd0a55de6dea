#include <xgrad/core/detail/blas.hpp>

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <stdexcept>
#include <xtensor-blas/xblas.hpp>

#include <xgrad/core/runtime.hpp>

extern "C" void openblas_set_num_threads(int);

namespace xg {
namespace {
// One counter per thread slot, each on its own cache line: with a single counter every product of
// every thread wrote the same line (0.4% of a 2-thread transformer step, in count_product_flops).
// Threads take slots in turn; past kSlots threads share them, which stays correct (atomic adds).
constexpr int kSlots = 64;
struct alignas(64) FlopSlot {
  std::atomic<uint64_t> flops{0};
};
FlopSlot g_product_flops[kSlots];
std::atomic<int> g_next_slot{0};

std::atomic<uint64_t>& my_flop_counter() {
  thread_local const int slot = g_next_slot.fetch_add(1, std::memory_order_relaxed) % kSlots;
  return g_product_flops[slot].flops;
}
}  // namespace

uint64_t matrix_product_flops() {
  uint64_t total = 0;
  for (const FlopSlot& s : g_product_flops) total += s.flops.load(std::memory_order_relaxed);
  return total;
}
}  // namespace xg

namespace xg::blas {

void count_product_flops(int64_t m, int64_t n, int64_t k) {
  my_flop_counter().fetch_add(static_cast<uint64_t>(2 * m * n * k), std::memory_order_relaxed);
}

namespace {
template <class T>
void gemm_one_thread(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                     const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  cxxblas::gemm<int>(cxxblas::RowMajor, trans_a ? cxxblas::Trans : cxxblas::NoTrans,
                     trans_b ? cxxblas::Trans : cxxblas::NoTrans, static_cast<int>(m), static_cast<int>(n),
                     static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                     static_cast<int>(ldc));
}

// C (1, n) or C (m, 1) as a matrix-vector product: OpenBLAS's sgemm packs both operands
// first, which for one row (an incremental decoder's attention query) cost more than the product.
template <class T>
bool gemv_if_vector(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                    const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const auto order = cxxblas::RowMajor;
  if (m == 1) {  // c = op(B)ᵀ a, with a the row of op(A)
    const int inc_a = trans_a ? static_cast<int>(lda) : 1;
    if (trans_b)  // B stored (n, k)
      cxxblas::gemv<int>(order, cxxblas::NoTrans, static_cast<int>(n), static_cast<int>(k), alpha, b,
                         static_cast<int>(ldb), a, inc_a, beta, c, 1);
    else  // B stored (k, n)
      cxxblas::gemv<int>(order, cxxblas::Trans, static_cast<int>(k), static_cast<int>(n), alpha, b,
                         static_cast<int>(ldb), a, inc_a, beta, c, 1);
    return true;
  }
  if (n == 1) {  // c = op(A) b, with b the column of op(B)
    const int inc_b = trans_b ? 1 : static_cast<int>(ldb);
    if (trans_a)  // A stored (k, m)
      cxxblas::gemv<int>(order, cxxblas::Trans, static_cast<int>(k), static_cast<int>(m), alpha, a,
                         static_cast<int>(lda), b, inc_b, beta, c, static_cast<int>(ldc));
    else  // A stored (m, k)
      cxxblas::gemv<int>(order, cxxblas::NoTrans, static_cast<int>(m), static_cast<int>(k), alpha, a,
                         static_cast<int>(lda), b, inc_b, beta, c, static_cast<int>(ldc));
    return true;
  }
  return false;
}

// xgrad's OpenMP threads own the cores (see core/runtime.hpp): OpenBLAS runs single-threaded,
// set once before the first product, and a large product is cut into one block of C per thread.
bool make_blas_single_threaded() {
  openblas_set_num_threads(1);
  return true;
}
}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  count_product_flops(m, n, k);
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
    throw std::overflow_error("gemm: a dimension exceeds the 32-bit BLAS index range");
  if (k == 0) {  // BLAS may skip scaling C by beta when K == 0 on some builds; do it here
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  static const bool single_threaded_blas = make_blas_single_threaded();
  (void)single_threaded_blas;
  if (gemv_if_vector(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (threads <= 1 || work <= kThreadedFrom)
    return gemm_one_thread(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  // Cut the longer side of C into one piece per thread, in multiples of 16 rows or columns.
  const bool by_rows = m >= n;
  const int64_t side = by_rows ? m : n;
  const int64_t piece = std::max<int64_t>(16, ((side + threads - 1) / threads + 15) / 16 * 16);
  const int64_t pieces = (side + piece - 1) / piece;
#pragma omp parallel for num_threads(static_cast<int>(pieces)) schedule(static)
  for (int64_t p = 0; p < pieces; ++p) {
    const int64_t from = p * piece, len = std::min(piece, side - from);
    if (by_rows)  // rows [from, from + len) of C take the same rows of op(A)
      gemm_one_thread(trans_a, trans_b, len, n, k, alpha, trans_a ? a + from : a + from * lda, lda, b, ldb, beta,
                      c + from * ldc, ldc);
    else  // columns [from, from + len) of C take the same columns of op(B)
      gemm_one_thread(trans_a, trans_b, m, len, k, alpha, a, lda, trans_b ? b + from * ldb : b + from, ldb, beta,
                      c + from, ldc);
  }
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);

}  // namespace xg::blas
