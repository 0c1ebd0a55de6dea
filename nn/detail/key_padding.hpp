#pragma once
// Internal: the key-padding mask every attention kernel takes, (B, Tk) with non-zero = masked.
#include <fmt/format.h>

#include <xgrad/core/tensor.hpp>

namespace xg::nn::detail {

// Throws a ShapeError naming `op`, the mask's and the keys' shapes unless the mask is (B, Tk)
// (an undefined mask is fine). Returns it detached in `dtype` for kernels that read it raw.
inline Tensor checked_key_padding(const char* op, const Tensor& mask, const Tensor& keys, int64_t B, int64_t Tk,
                                  DType dtype) {
  if (!mask.defined()) return Tensor();
  if (mask.shape() != Shape{B, Tk})
    throw ShapeError(fmt::format("{}: key_padding_mask {} for keys {} (needs [{}, {}])", op, shape_str(mask.shape()),
                                 shape_str(keys.shape()), B, Tk));
  return mask.dtype() == dtype ? mask.detach() : mask.detach().to(dtype);
}

}  // namespace xg::nn::detail
