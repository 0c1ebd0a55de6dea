#pragma once
/// \file
/// Custom ops with a hand-written backward, in the style of torch.autograd.Function:
///
///   struct Square : xg::CustomOp<Square> {
///     static xg::Tensor forward(xg::OpContext& ctx, const xg::Tensor& x) {
///       ctx.save_for_backward({x});
///       return x * x;                      // runs with recording off
///     }
///     static std::vector<xg::Tensor> backward(xg::OpContext& ctx, const xg::Tensor& grad) {
///       return {grad * ctx.saved[0] * 2.0};  // one gradient per Tensor argument, in order
///     }
///   };
///   xg::Tensor y = Square::apply(x);
///
/// forward may take other (non-Tensor) arguments after or between the tensors; backward returns
/// one entry per Tensor argument (an undefined Tensor for "no gradient"); a gradient of the
/// broadcast shape is summed down to its input's shape. The op joins the graph
/// through xg::record exactly like the built-in ops, and xg::gradcheck tests it.
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xgrad/core/autograd.hpp>

namespace xg {

/// Sums a gradient over broadcast axes down to `shape` (ShapeError if it does not broadcast).
Tensor reduce_to_shape(const Tensor& grad, const Shape& shape);
/// Whether a gradient of shape `from` sums down to `to` (from is `to` broadcast to more or longer axes).
bool sums_down_to(const Shape& from, const Shape& to);

/// What a CustomOp's forward keeps for its backward: tensors (saved detached) and scalars.
struct OpContext {
  std::vector<Tensor> saved;            ///< detached: saving does not keep the graph alive
  std::map<std::string, double> values;  ///< scalars the backward needs
  /// Replaces `saved` with detached handles of `tensors` (undefined ones stay undefined).
  void save_for_backward(const std::vector<Tensor>& tensors) {
    saved.clear();
    for (const auto& t : tensors) saved.push_back(t.defined() ? t.detach() : Tensor());
  }
};

template <class Derived>
/// Base of a user-defined op with its own backward (CRTP). Derived provides name(), static Tensor
/// forward(OpContext&, args...) and static std::vector<Tensor> backward(OpContext&, const Tensor&
/// grad), one gradient per tensor argument in order (undefined: no gradient). docs/custom_layers.md
/// shows one.
struct CustomOp {
  template <class... Args>
  /// Runs Derived::forward without recording, then records one node whose backward calls
  /// Derived::backward and checks the gradients' count and shapes (errors name the op).
  static Tensor apply(Args&&... args) {
    std::vector<Tensor> inputs;
    (collect(inputs, args), ...);
    auto ctx = std::make_shared<OpContext>();
    Tensor out;
    {
      NoGradGuard no_grad;
      out = Derived::forward(*ctx, std::forward<Args>(args)...);
    }
    if (out.grad_fn()) out = out.detach();
    const std::size_t n = inputs.size();
    std::vector<Shape> shapes;
    for (const auto& t : inputs) shapes.push_back(t.shape());
    return record(Derived::name(), out, inputs, [ctx, n, shapes](const Tensor& g, GradSink& sink) {
      std::vector<Tensor> grads = Derived::backward(*ctx, g);
      if (grads.size() != n)
        throw AutogradError(std::string(Derived::name()) + ": backward returned " +
                            std::to_string(grads.size()) + " gradients for " + std::to_string(n) +
                            " tensor inputs");
      for (std::size_t i = 0; i < n; ++i) {
        if (!grads[i].defined()) continue;
        if (!sums_down_to(grads[i].shape(), shapes[i]))
          throw ShapeError(std::string(Derived::name()) + ": backward returned a gradient of shape " +
                           shape_str(grads[i].shape()) + " for tensor input " + std::to_string(i) + " of shape " +
                           shape_str(shapes[i]));
        sink.add(i, reduce_to_shape(grads[i], shapes[i]));
      }
    });
  }
  /// Shown in error messages and anomaly reports; override with a static name() in Derived.
  static const char* name() { return "custom_op"; }

 private:
  template <class A>
  static void collect(std::vector<Tensor>& inputs, const A& a) {
    if constexpr (std::is_same_v<std::decay_t<A>, Tensor>) inputs.push_back(a);
  }
};

}  // namespace xg
