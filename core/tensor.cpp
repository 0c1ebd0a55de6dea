#include <xgrad/core/tensor.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <fmt/format.h>
#include <ostream>
#include <type_traits>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/tensor_impl.hpp>

namespace xg {

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

int64_t numel_of(const Shape& s) {
  // Checked: a product that wraps (a dimension of 2^62 times 4) would read as a small or zero
  // size, and the loops that trust the shape would write past the buffer.
  int64_t n = 1;
  for (auto d : s) {
    if (d < 0) throw ShapeError(fmt::format("negative dimension {} in shape {}", d, shape_str(s)));
    if (__builtin_mul_overflow(n, d, &n))
      throw ShapeError(fmt::format("shape {} has more elements than a 64-bit count holds", shape_str(s)));
  }
  return n;
}

namespace {
// One element converted to the destination dtype: bool is "not zero" (as in PyTorch); a float
// that has no int64 value (NaN, infinite, out of range) is an error rather than undefined
// behaviour; a float with a fraction truncates toward zero, as a C++ cast and torch do.
template <class T, class S>
T convert_element(S v) {
  if constexpr (std::is_same_v<T, uint8_t>) {
    return v != S(0) ? 1 : 0;
  } else if constexpr (std::is_same_v<T, int64_t> && std::is_floating_point_v<S>) {
    if (!(v >= S(-9.2e18) && v <= S(9.2e18)))
      throw DTypeError(fmt::format("conversion to int64: the value {} has no int64 counterpart", v));
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}
}  // namespace

Storage::Storage(DType dtype, std::size_t n, bool zero_fill) {
  dispatch_all(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto b = xt::xtensor<T, 1>::from_shape({n});
    if (zero_fill) std::memset(b.data(), 0, n * sizeof(T));
    buffer = std::move(b);
  });
}

void* Storage::data() {
  return std::visit([](auto& b) -> void* { return b.data(); }, buffer);
}

static Tensor allocate(const Shape& shape, DType dtype, bool zero_fill) {
  for (auto d : shape)
    if (d < 0) throw ShapeError("empty: negative dimension in shape " + shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  const int64_t n = numel_of(shape);
  const std::size_t element_bytes = dtype_size(dtype);
  if (static_cast<uint64_t>(n) > std::numeric_limits<std::size_t>::max() / element_bytes / 2)
    throw ShapeError(fmt::format("tensor of shape {} ({} elements) is larger than any memory", shape_str(shape), n));
  try {
    impl->storage = std::make_shared<Storage>(dtype, static_cast<std::size_t>(n), zero_fill);
  } catch (const std::bad_alloc&) {
    // Named here, where the shape is known: "std::bad_alloc" alone tells a user nothing.
    throw OutOfMemoryError(fmt::format("out of memory allocating a {} tensor of shape {} ({:.1f} MiB)", dtype_name(dtype),
                                       shape_str(shape), static_cast<double>(n) * static_cast<double>(element_bytes) / 1048576.0));
  }
  return Tensor(std::move(impl));
}

Tensor Tensor::empty(const Shape& shape, DType dtype) { return allocate(shape, dtype, true); }
Tensor Tensor::uninitialized(const Shape& shape, DType dtype) { return allocate(shape, dtype, false); }

namespace {
// A new tensor of `shape` holding `values` (row-major), each converted to `dtype`.
template <class S>
Tensor tensor_of(const char* op, const std::vector<S>& values, const Shape& shape, DType dtype) {
  if (static_cast<int64_t>(values.size()) != numel_of(shape))
    throw ShapeError(fmt::format("{}: {} values do not fill shape {} ({} elements)", op, values.size(),
                                 shape_str(shape), numel_of(shape)));
  Tensor t = Tensor::uninitialized(shape, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (std::size_t i = 0; i < values.size(); ++i) p[i] = convert_element<T>(values[i]);
  });
  return t;
}
}  // namespace

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  return tensor_of("from_vector", values, shape, dtype);
}

Tensor Tensor::from_ints(const std::vector<int64_t>& values, const Shape& shape, DType dtype) {
  return tensor_of("from_ints", values, shape, dtype);
}

std::vector<int64_t> Tensor::to_ints() const {
  std::vector<int64_t> out(static_cast<std::size_t>(numel()));
  dispatch_all(dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = data<T>();
    for (std::size_t i = 0; i < out.size(); ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        if (p[i] != std::trunc(p[i]))  // NaN fails this too
          throw DTypeError(fmt::format("to_ints: element {} of a {} tensor {} is {}, not an integer", i,
                                       dtype_name(dtype()), shape_str(shape()), p[i]));
      }
      out[i] = convert_element<int64_t>(p[i]);
    }
  });
  return out;
}

static const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl) throw Error("use of an undefined Tensor");
  return *impl;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
int64_t Tensor::numel() const { return numel_of(shape()); }

int64_t Tensor::size(int64_t axis) const {
  const int64_t n = dim();
  if (axis < -n || axis >= n)
    throw IndexError(fmt::format("size: axis {} out of range for a {}-d tensor", axis, n));
  return shape()[static_cast<std::size_t>(axis < 0 ? axis + n : axis)];
}

template <class T> T* Tensor::data() {
  const auto& impl = checked(impl_);
  if (impl.dtype != dtype_of<T>())
    throw DTypeError(fmt::format("data<{}>() on a {} tensor", dtype_name(dtype_of<T>()),
                                 dtype_name(impl.dtype)));
  return static_cast<T*>(impl.storage->data());
}
template <class T> const T* Tensor::data() const { return const_cast<Tensor*>(this)->data<T>(); }
template float* Tensor::data<float>();
template double* Tensor::data<double>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template int64_t* Tensor::data<int64_t>();
template uint8_t* Tensor::data<uint8_t>();
template const int64_t* Tensor::data<int64_t>() const;
template const uint8_t* Tensor::data<uint8_t>() const;

double Tensor::item() const {
  if (numel() != 1)
    throw ShapeError("item: tensor of shape " + shape_str(shape()) + " has " +
                     std::to_string(numel()) + " elements, not 1");
  return dispatch_all(dtype(), [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    return static_cast<double>(data<T>()[0]);
  });
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> out(static_cast<std::size_t>(numel()));
  dispatch_all(dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = data<T>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

Tensor Tensor::detach() const {
  const auto& impl = checked(impl_);
  auto alias = std::make_shared<TensorImpl>();
  alias->shape = impl.shape;
  alias->dtype = impl.dtype;
  alias->storage = impl.storage;
  return Tensor(std::move(alias));
}

bool Tensor::requires_grad() const { return checked(impl_).requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  checked(impl_);
  if (impl_->grad_fn)
    throw AutogradError("requires_grad_: only leaf tensors can change requires_grad (this one "
                        "was produced by " + impl_->grad_fn->name + "); use detach() first");
  if (on && !is_floating_point(impl_->dtype))
    throw AutogradError(fmt::format("requires_grad_: only floating-point tensors can require "
                                    "gradients; this one is {} {}", dtype_name(impl_->dtype),
                                    shape_str(impl_->shape)));
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return checked(impl_).grad_fn == nullptr; }

Tensor Tensor::grad() const {
  const auto& impl = checked(impl_);
  return impl.grad;
}

void Tensor::set_grad(const Tensor& g) {
  checked(impl_);
  if (g.defined() && (g.shape() != shape() || g.dtype() != dtype()))
    throw ShapeError("set_grad: gradient " + shape_str(g.shape()) + " " + dtype_name(g.dtype()) +
                     " does not match tensor " + shape_str(shape()) + " " + dtype_name(dtype()));
  impl_->grad = g;
}

void Tensor::zero_grad() { checked(impl_), impl_->grad = Tensor(); }

const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked(impl_).grad_fn; }

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  run_backward(*this, gradient, retain_graph);
}

void Tensor::fill_(double value) {
  dispatch_all(dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = data<T>();
    const int64_t n = numel();
    const T v = convert_element<T>(value);
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  });
}

void Tensor::copy_(const Tensor& src) {
  if (src.shape() != shape())
    throw ShapeError("copy_: source " + shape_str(src.shape()) + " into " + shape_str(shape()));
  dispatch_all(dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = data<T>();
    const int64_t n = numel();
    if (src.dtype() == dtype()) {
      std::memcpy(p, src.data<T>(), static_cast<std::size_t>(n) * sizeof(T));
      return;
    }
    dispatch_all(src.dtype(), [&](auto stag) {
      using S = typename decltype(stag)::type;
      const S* q = src.data<S>();
      for (int64_t i = 0; i < n; ++i) p[i] = convert_element<T>(q[i]);
    });
  });
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = uninitialized(shape(), target);
  out.copy_(*this);
  if (!is_floating_point(target)) return out;  // ids and masks carry no gradient
  const DType source = dtype();
  return record("to", out, {*this}, [source](const Tensor& g, GradSink& sink) {
    Tensor gs = Tensor::uninitialized(g.shape(), source);
    gs.copy_(g);
    sink.add(0, std::move(gs));
  });
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  out.copy_(*this);
  return record("clone", out, {*this}, [](const Tensor& g, GradSink& sink) { sink.add(0, g); });
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  os << "Tensor(shape=" << shape_str(t.shape()) << ", dtype=" << dtype_name(t.dtype()) << ", [";
  const auto v = t.to_vector();
  const std::size_t shown = std::min<std::size_t>(v.size(), 12);
  for (std::size_t i = 0; i < shown; ++i) os << (i ? ", " : "") << fmt::format("{:.6g}", v[i]);
  if (shown < v.size()) os << ", ... (" << v.size() << " values)";
  return os << "])";
}

}  // namespace xg
