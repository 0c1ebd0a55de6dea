#pragma once
// Internal: the recurrent steps with W_hh laid out once for a whole sequence or decoding run
// (core/detail/packed_linear.hpp), used by nn::RecurrentLayer and nn::GRUDecoderSteps.
#include <vector>

#include <xgrad/core/detail/packed_linear.hpp>
#include <xgrad/nn/recurrent.hpp>

namespace xg::nn::detail {

// gru_step with gh = hh(h).
Tensor gru_step(const Tensor& gi, const Tensor& h, const xg::detail::PackedLinear& hh);
// The same with gi = index_select(table, 0, ids) + addend (addend (B, 3H) or undefined), read
// row by row from table and addend rather than gathered and added first: a decoder's input, the
// previous words' rows of the projected embedding table plus the context's share.
Tensor gru_step_gathered(const Tensor& table, const std::vector<int64_t>& ids, const Tensor& addend, const Tensor& h,
                         const xg::detail::PackedLinear& hh);
// lstm_step with gh = hh(state.h).
LSTMState lstm_step(const Tensor& gi, const LSTMState& state, const xg::detail::PackedLinear& hh);

}  // namespace xg::nn::detail
