#include <xgrad/nn/init.hpp>

#include <cmath>

#include <xgrad/core/creation.hpp>
#include <xgrad/core/elementwise.hpp>

namespace xg::nn::init {

Tensor uniform(const Shape& shape, double bound) { return xg::uniform(shape, -bound, bound); }

Tensor normal(const Shape& shape, double stddev) {
  Tensor t = randn(shape);
  return t * stddev;
}

Tensor xavier_uniform(const Shape& shape) {
  const double fan_out = static_cast<double>(shape.at(0)), fan_in = static_cast<double>(shape.at(1));
  return uniform(shape, std::sqrt(6.0 / (fan_in + fan_out)));
}

}  // namespace xg::nn::init
