#pragma once
// Internal: what a Tensor handle points to. Only .cpp files of the library include this, so
// that xtensor stays out of the public headers (it costs seconds of compile time per file).
#include <memory>
#include <variant>
#include <xtensor/xtensor.hpp>

#include <xgrad/core/tensor.hpp>

namespace xg {

// Flat contiguous buffer; shared between a tensor and its reshaped or detached aliases.
struct Storage {
  std::variant<xt::xtensor<float, 1>, xt::xtensor<double, 1>, xt::xtensor<int64_t, 1>,
               xt::xtensor<uint8_t, 1>>
      buffer;
  Storage(DType dtype, std::size_t n, bool zero_fill = true);
  void* data();
};

struct TensorImpl {
  Shape shape;
  DType dtype = DType::Float32;
  std::shared_ptr<Storage> storage;
  bool requires_grad = false;
  Tensor grad;                       // leaves only
  std::shared_ptr<Node> grad_fn;     // non-leaves only
};

}  // namespace xg
