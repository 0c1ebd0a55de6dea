#pragma once
// What the kernel tests (test_vecmath.cpp, test_layer_kernels.cpp) share: lengths around every
// vector width, seeded values, and closeness to a long-double formula.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace kernel_checks {

// Lengths around every vector width (2, 4, 8, 16 lanes) so each tail path runs.
const std::vector<int64_t> kLengths{0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 256, 257};

template <class T>
std::vector<T> values(int64_t n, double scale, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(u(g));
  return v;
}

// Tolerances: a few units in the last place of T, relative to max(|expected|, floor).
template <class T>
void check_close(const char* what, const std::string& isa, int64_t n, long double got, long double expected,
                 long double floor = 1) {
  const long double tol = (sizeof(T) == 4 ? 4e-7L : 2e-15L) * std::max(std::fabs(expected), floor);
  INFO(what << " on " << isa << ", n = " << n << ": got " << static_cast<double>(got) << ", expected "
            << static_cast<double>(expected));
  CHECK(std::fabs(got - expected) <= tol);
}

// A sum of n products in T, in any order: |error| <= n·u·Σ|a·b| (Higham's bound, u the unit roundoff).
template <class T>
void check_sum_close(const char* what, const std::string& isa, int64_t n, long double got, long double expected,
                     long double sum_abs) {
  const long double u = std::numeric_limits<T>::epsilon() / 2;
  INFO(what << " on " << isa << ", n = " << n << ": got " << static_cast<double>(got) << ", expected "
            << static_cast<double>(expected));
  CHECK(std::fabs(got - expected) <= (n + 1) * u * sum_abs);
}

}  // namespace kernel_checks
