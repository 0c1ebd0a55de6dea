#pragma once
/// \file
/// Exception types. Messages name the op and the offending shapes or values so a user can fix
/// the call without a debugger.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <xgrad/core/shape.hpp>

namespace xg {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// Operand shapes do not fit the op.
struct ShapeError : Error {
  using Error::Error;
};
/// Operands of different dtypes, or a dtype the op does not take.
struct DTypeError : Error {
  using Error::Error;
};
/// An index (or axis) out of its bound.
struct IndexError : Error {
  using Error::Error;
};
/// Misuse of the graph: backward through a freed graph, from a non-scalar without a gradient...
struct AutogradError : Error {
  using Error::Error;
};
/// Anomaly mode found a NaN or Inf.
struct AnomalyError : Error {
  using Error::Error;
};
/// An allocation failed; the message names the tensor's shape and size.
struct OutOfMemoryError : Error {
  using Error::Error;
};
/// Malformed files and arguments (corpus lines, checkpoints, configs).
struct FormatError : Error {
  using Error::Error;
};

}  // namespace xg
