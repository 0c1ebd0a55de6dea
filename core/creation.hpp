#pragma once
/// \file
/// Tensor factories. Random ones draw from a seeded Generator (the default one unless given).
#include <xgrad/core/random.hpp>
#include <xgrad/core/tensor.hpp>

namespace xg {

/// Tensors filled with 0, 1 or `value` (any dtype; see Tensor::empty for the zero-fill contract).
///@{
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
///@}
Tensor scalar(double value, DType dtype = DType::Float32);  ///< 0-d tensor
/// start, start+step, ... below end (like numpy.arange).
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Float32);
/// Standard normal, or uniform in [lo, hi), values from `gen` (floating-point dtypes).
///@{
Tensor randn(const Shape& shape, DType dtype = DType::Float32, Generator& gen = default_generator());
Tensor uniform(const Shape& shape, double lo, double hi, DType dtype = DType::Float32,
               Generator& gen = default_generator());
///@}
/// Zeros or ones of t's shape and dtype.
///@{
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
///@}
/// Nested-list style literal for tests and examples: tensor({1, 2, 3, 4}, {2, 2}).
Tensor tensor(const std::vector<double>& values, const Shape& shape, DType dtype = DType::Float32);

}  // namespace xg
