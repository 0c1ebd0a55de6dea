#pragma once
#include <xgrad/core/tensor.hpp>

namespace xg {

/// Matrix product of the last two axes, (..., M, K) x (..., K, N) -> (..., M, N), through BLAS.
/// Leading (batch) axes must be equal, or one operand has none (or only 1s) and is broadcast:
/// (B, M, K) x (K, N) runs as one (B*M, K) x (K, N) GEMM.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace xg
