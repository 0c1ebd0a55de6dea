#pragma once
#include <xgrad/core/random.hpp>
#include <xgrad/core/tensor.hpp>

namespace xg {

/// Inverted dropout: zeroes each element with probability p and scales survivors by 1/(1-p), so
/// evaluation needs no rescaling. Identity when !training or p == 0. The mask is drawn serially
/// from `gen`, so results do not depend on the thread count.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

/// The multipliers dropout applies, 0 with probability p and 1/(1-p) otherwise, drawn serially in
/// element order (as `dropout` draws them), for kernels that fuse dropout into a larger op.
/// p must be in [0, 1).
Tensor dropout_multipliers(const Shape& shape, double p, DType dtype, Generator& gen = default_generator());

}  // namespace xg
