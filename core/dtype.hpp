#pragma once
/// \file
/// Runtime element types. float32 trains; float64 exists so gradient checks can use finite
/// differences with small enough error. int64 holds token ids, targets and argmax results; bool
/// (one byte per element, 0 or 1) holds masks. Integer and bool tensors never require grad: they
/// pass through the data-movement ops (reshape, slice, concat, index_select, masked_fill, ...) and
/// are read by the ops that take ids or masks (embedding, cross_entropy, masked_fill, where,
/// index_select, gather); arithmetic takes floating-point tensors only.
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include <xgrad/core/errors.hpp>

namespace xg {

/// Element type of a tensor.
enum class DType { Float32, Float64, Int64, Bool };

/// "float32", "float64", "int64" or "bool".
inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
  }
  return "unknown";
}
/// Bytes per element (bool: 1).
inline std::size_t dtype_size(DType d) {
  switch (d) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
  }
  return 0;
}
/// float32 or float64: the dtypes arithmetic and gradients take.
inline bool is_floating_point(DType d) { return d == DType::Float32 || d == DType::Float64; }

/// The DType of a C++ element type (uint8_t is bool's storage).
///@{
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::Bool; }  // bool's storage
///@}

/// Carries an element type into a generic lambda (see dispatch).
template <class T> struct TypeTag {
  using type = T;  ///< the element type
};

/// Calls fn(TypeTag<T>{}) with T matching the runtime dtype: the one place a kernel's scalar
/// type is chosen, so each op dispatches once rather than per element. Floating-point dtypes only:
/// the ops that reach it compute (their entry checks name the op; this is the backstop).
template <class Fn>
decltype(auto) dispatch(DType d, Fn&& fn) {
  if (!is_floating_point(d))
    throw DTypeError(std::string("this operation takes float32 or float64 tensors, not ") +
                     dtype_name(d) + " (convert with .to(DType::Float32))");
  if (d == DType::Float32) return std::forward<Fn>(fn)(TypeTag<float>{});
  return std::forward<Fn>(fn)(TypeTag<double>{});
}

/// dispatch over every dtype, for ops that only move or compare elements.
template <class Fn>
decltype(auto) dispatch_all(DType d, Fn&& fn) {
  switch (d) {
    case DType::Int64: return std::forward<Fn>(fn)(TypeTag<int64_t>{});
    case DType::Bool: return std::forward<Fn>(fn)(TypeTag<uint8_t>{});
    case DType::Float64: return std::forward<Fn>(fn)(TypeTag<double>{});
    case DType::Float32: break;
  }
  return std::forward<Fn>(fn)(TypeTag<float>{});
}

}  // namespace xg
