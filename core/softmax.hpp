#pragma once
#include <xgrad/core/tensor.hpp>

namespace xg {

/// Numerically stable (max-subtracted) softmax along `axis`, fused forward and backward.
/// -inf entries get probability 0. A row that is entirely -inf (a fully masked attention row)
/// is defined as all zeros, with zero gradient, instead of PyTorch's NaN.
Tensor softmax(const Tensor& x, int64_t axis = -1);
/// log(softmax(x)) without forming softmax. A row that is entirely -inf gives -inf everywhere,
/// with zero gradient.
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

}  // namespace xg
