#pragma once
// Internal: row-major GEMM through xtensor-blas's cxxblas bindings to OpenBLAS.
// C = alpha * op(A) * op(B) + beta * C, with op(A) (M,K), op(B) (K,N), C (M,N).
#include <cstdint>

namespace xg::blas {

// Products with m·n·k above this are cut into one block per OpenMP thread (outside a parallel
// region); smaller ones run on the calling thread. It is OpenBLAS 0.3.21's own threshold for
// threading a GEMM (interface/gemm.c: 65536 · 4).
constexpr double kThreadedFrom = 65536.0 * 4.0;

// Adds 2mnk to xg::matrix_product_flops() (gemm does it itself; other product kernels call this).
void count_product_flops(int64_t m, int64_t n, int64_t k);

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

}  // namespace xg::blas
