#pragma once
// Internal: the fast paths that reach into layers: a Linear's or a GRU cell's weight laid out for
// the packed product kernel (core/detail/packed_linear.hpp), once per FixedWeightsGuard scope.
#include <xgrad/core/detail/packed_linear.hpp>
#include <xgrad/nn/layers.hpp>
#include <xgrad/nn/recurrent.hpp>

namespace xg::nn::detail {

struct LayerAccess {
  // W and b of the layer, laid out: once per FixedWeightsGuard scope, else afresh.
  static xg::detail::PackedLinear packed(Linear& layer);
  // W_hh and b_hh of the cell, the same way.
  static xg::detail::PackedLinear packed_hh(GRUCell& cell);
};

}  // namespace xg::nn::detail
