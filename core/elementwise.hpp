#pragma once
/// \file
/// Element-wise ops. Binary ops broadcast like numpy; their gradients are summed back to each
/// operand's shape.
#include <xgrad/core/tensor.hpp>

namespace xg {

/// a + b, a - b, a * b, a / b element by element, with numpy broadcasting; one floating-point
/// dtype.
///@{
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
///@}
Tensor pow(const Tensor& a, const Tensor& b);  ///< a^b; d/db needs a > 0
/// a^exponent, -x, e^x, natural log, square root, element by element.
///@{
Tensor pow(const Tensor& a, double exponent);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
///@}
Tensor abs(const Tensor& x);      ///< gradient 0 at 0 (as PyTorch)
/// tanh and the logistic sigmoid, element by element.
///@{
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
///@}
Tensor relu(const Tensor& x);     ///< gradient 0 at 0
Tensor gelu(const Tensor& x);     ///< exact form x * Phi(x), PyTorch's default
Tensor clamp(const Tensor& x, double lo, double hi);  ///< gradient 1 inside [lo, hi], else 0
/// a*x + b with scalars, one node (scaling, shifting).
Tensor affine(const Tensor& x, double scale, double shift);

/// Operators for add, sub, mul, div and neg; a scalar operand is a single affine node (s / a is
/// div).
///@{
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(const Tensor& a, double s);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(const Tensor& a, double s);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(const Tensor& a, double s);
Tensor operator/(double s, const Tensor& a);
///@}

}  // namespace xg
