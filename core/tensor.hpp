#pragma once
/// \file
/// Tensor: a shape, a dtype, contiguous row-major storage, and (when it takes part in autograd)
/// the node that produced it. Copies of a Tensor are handles to the same data, as in PyTorch.
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <vector>

#include <xgrad/core/dtype.hpp>
#include <xgrad/core/errors.hpp>

namespace xg {

struct Node;
struct Storage;
struct TensorImpl;

/// A handle to an n-dimensional array and, when it takes part in autograd, its place in the graph.
/// Copies share data (as torch.Tensor); ops return new tensors (reshape and detach share storage).
class Tensor {
 public:
  Tensor() = default;  ///< undefined: no data
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}  ///< wraps an implementation (library internals and custom kernels)

  /// A new zero-filled tensor (unlike torch.empty, whose counterpart is uninitialized(): xgrad's
  /// kernels accumulate into empty() tensors, so its zeros are part of its contract).
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32);
  /// A new tensor whose elements are left unset, for kernels that write every element: it saves
  /// the zero fill (memset was 9% of a transformer training step).
  static Tensor uninitialized(const Shape& shape, DType dtype = DType::Float32);
  /// Copies `values` (row-major) into a new tensor of `shape`.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::Float32);

  /// Copies integer `values` (row-major) into a new int64 (or bool: non-zero is true) tensor:
  /// token ids, targets, masks.
  static Tensor from_ints(const std::vector<int64_t>& values, const Shape& shape,
                          DType dtype = DType::Int64);

  bool defined() const { return impl_ != nullptr; }  ///< false for a default-constructed Tensor
  const Shape& shape() const;  ///< sizes of the axes
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }  ///< number of axes
  int64_t size(int64_t axis) const;  ///< size of one axis (negative counts from the end)
  int64_t numel() const;  ///< number of elements
  DType dtype() const;  ///< element type

  /// Raw element access; T must match dtype() (a DTypeError otherwise).
  ///@{
  template <class T> T* data();
  template <class T> const T* data() const;
  ///@}

  double item() const;                  ///< the value of a one-element tensor
  std::vector<double> to_vector() const;  ///< all values, row-major
  /// All values as integers, row-major (a floating-point element with a fraction is an error).
  std::vector<int64_t> to_ints() const;
  /// dtype conversion; differentiable between float32 and float64. To bool: non-zero is true; from
  /// float to int64: truncation toward zero, as in PyTorch.
  Tensor to(DType dtype) const;
  Tensor clone() const;                 ///< differentiable copy
  Tensor detach() const;                ///< same storage, no history

  bool requires_grad() const;  ///< whether gradients flow to or through it
  Tensor& requires_grad_(bool on = true);  ///< only for leaves
  bool is_leaf() const;  ///< made by the user, not by an op
  /// Accumulated gradient of a leaf (undefined until a backward reaches it).
  Tensor grad() const;
  void set_grad(const Tensor& g);  ///< replaces the accumulated gradient (same shape and dtype)
  void zero_grad();  ///< drops the gradient (optimisers treat a missing gradient as zero)
  const std::shared_ptr<Node>& grad_fn() const;  ///< the node that made it (null for leaves)

  /// Reverse-mode sweep from this tensor. A non-scalar needs `gradient` of the same shape.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

  /// Fills in place, outside autograd (initialisers, optimisers).
  void fill_(double value);
  void copy_(const Tensor& src);  ///< copies src's values (same shape; dtype converted)

  TensorImpl* impl() const { return impl_.get(); }  ///< the implementation (custom kernels)
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }  ///< the implementation's shared handle
  bool same(const Tensor& other) const { return impl_ == other.impl_; }  ///< whether both handles point to the same tensor

 private:
  std::shared_ptr<TensorImpl> impl_;
};

/// Prints shape, dtype and up to 12 values.
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace xg
