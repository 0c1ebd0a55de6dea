#pragma once
// Shared test helpers: deterministic inputs and closeness checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <xgrad/xgrad.hpp>

namespace xgtest {

// Deterministic values scale * sin(a*i + offset): the Python reference scripts use the same.
inline xg::Tensor seq(const xg::Shape& shape, double a = 0.7, double scale = 2.0, double offset = 0.0,
                      xg::DType dtype = xg::DType::Float64) {
  std::vector<double> v(static_cast<std::size_t>(xg::numel_of(shape)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * std::sin(a * static_cast<double>(i) + offset);
  return xg::Tensor::from_vector(v, shape, dtype);
}

inline xg::Tensor leaf(xg::Tensor t) {
  t.requires_grad_(true);
  return t;
}

inline void require_close(const std::vector<double>& v, const std::vector<double>& expected, double tol = 1e-9) {
  REQUIRE(v.size() == expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    INFO("element " << i << ": got " << v[i] << ", expected " << expected[i]);
    CHECK(std::abs(v[i] - expected[i]) <= tol * (1.0 + std::abs(expected[i])));
  }
}

inline void require_close(const xg::Tensor& t, const std::vector<double>& expected, double tol = 1e-9) {
  require_close(t.to_vector(), expected, tol);
}

// A key-padding mask (B, T): 1 at positions t >= lengths[b].
inline xg::Tensor padding(int64_t B, int64_t T, const std::vector<int64_t>& lengths,
                          xg::DType dtype = xg::DType::Float64) {
  std::vector<double> m(static_cast<std::size_t>(B * T), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = lengths[static_cast<std::size_t>(b)]; t < T; ++t) m[static_cast<std::size_t>(b * T + t)] = 1.0;
  return xg::Tensor::from_vector(m, {B, T}, dtype);
}

inline void require_gradcheck(const std::function<xg::Tensor(const std::vector<xg::Tensor>&)>& fn,
                              const std::vector<xg::Tensor>& inputs, xg::GradcheckOptions opt = {}) {
  const auto r = xg::gradcheck(fn, inputs, opt);
  INFO(r.message);
  REQUIRE(r.ok);
}

}  // namespace xgtest
