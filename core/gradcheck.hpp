#pragma once
/// \file
/// Finite-difference check of an op's backward, in float64.
#include <functional>
#include <string>

#include <xgrad/core/tensor.hpp>

namespace xg {

/// Settings of gradcheck: an element passes when |analytic - numeric| <= atol + rtol |numeric|.
struct GradcheckOptions {
  double eps = 1e-6;   ///< central-difference step
  double atol = 1e-5;  ///< absolute tolerance
  double rtol = 1e-4;  ///< relative tolerance
  uint64_t seed = 7;   ///< for the random output weights
};

/// The outcome of gradcheck and its worst element.
struct GradcheckResult {
  bool ok = true;  ///< every element within tolerance
  /// The worst element is the one furthest past (or closest to) its tolerance atol + rtol*|numeric|:
  double worst_error = 0;      ///< its |analytic - numeric|, >= 0
  double worst_excess = 0;     ///< its |analytic - numeric| - tolerance: <= 0 when the check passes
  std::size_t worst_input = 0;  ///< which input holds the worst element
  int64_t worst_index = -1;    ///< flat index into that input
  double analytic = 0;         ///< the backward's derivative at the worst element
  double numeric = 0;          ///< the finite difference there
  std::string message;         ///< names the input, element index and both values on failure
};

/// Checks the gradient of fn with respect to every input that requires grad. The inputs must be
/// float64. A non-scalar output is reduced as sum(out * w) with fixed random w, which checks the
/// whole vector-Jacobian product, not just its sum.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace xg
