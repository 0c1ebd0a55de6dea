#pragma once
#include "core/random.hpp"
#include "core/tensor.hpp"

namespace xg {

// Inverted dropout: zeroes each element with probability p and scales survivors by 1/(1-p), so
// evaluation needs no rescaling. Identity when !training or p == 0. The mask is drawn serially
// from `gen`, so results do not depend on the thread count.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

}  // namespace xg
