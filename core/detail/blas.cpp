#include "core/detail/blas.hpp"

#include <climits>
#include <stdexcept>
#include <xtensor-blas/xblas.hpp>

namespace xg::blas {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
    throw std::overflow_error("gemm: a dimension exceeds the 32-bit BLAS index range");
  if (k == 0) {  // BLAS may skip scaling C by beta when K == 0 on some builds; do it here
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  cxxblas::gemm<int>(cxxblas::RowMajor, trans_a ? cxxblas::Trans : cxxblas::NoTrans,
                     trans_b ? cxxblas::Trans : cxxblas::NoTrans, static_cast<int>(m),
                     static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                     static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);

}  // namespace xg::blas
