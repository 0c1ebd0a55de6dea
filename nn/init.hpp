#pragma once
/// \file
/// Parameter initialisers, drawing from the default generator (seed it with xg::manual_seed).
#include <xgrad/core/tensor.hpp>

namespace xg::nn::init {

/// U(-bound, bound): PyTorch's default for Linear, GRU and LSTM weights, bound = 1/sqrt(fan_in)
/// (kaiming_uniform with a = sqrt(5) reduces to exactly this).
Tensor uniform(const Shape& shape, double bound);
Tensor normal(const Shape& shape, double stddev);  ///< N(0, stddev²) from the default generator
/// Xavier/Glorot uniform: bound = sqrt(6 / (fan_in + fan_out)), for a (fan_out, fan_in) weight.
Tensor xavier_uniform(const Shape& shape);

}  // namespace xg::nn::init
