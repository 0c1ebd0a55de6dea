#pragma once
// Runtime element types. float32 trains; float64 exists so gradient checks can use
// finite differences with small enough error.
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

namespace xg {

enum class DType { Float32, Float64 };

inline const char* dtype_name(DType d) { return d == DType::Float32 ? "float32" : "float64"; }
inline std::size_t dtype_size(DType d) { return d == DType::Float32 ? 4 : 8; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }

template <class T> struct TypeTag { using type = T; };

// Calls fn(TypeTag<T>{}) with T matching the runtime dtype: the one place a kernel's scalar
// type is chosen, so each op dispatches once rather than per element.
template <class Fn>
decltype(auto) dispatch(DType d, Fn&& fn) {
  if (d == DType::Float32) return std::forward<Fn>(fn)(TypeTag<float>{});
  return std::forward<Fn>(fn)(TypeTag<double>{});
}

}  // namespace xg
