#pragma once
/// \file
/// Module: the base of every layer. Parameters, buffers and submodules are registered by name;
/// names compose into dotted paths ("encoder.rnn.weight_ih_l0") used by checkpoints.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg::nn {

/// Base of every layer and model, as torch::nn::Module: registered parameters, buffers and
/// submodules by name, train/eval mode, dotted names for checkpoints.
class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}  ///< `type_name` is shown by summary()
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Registers a trainable tensor (sets requires_grad) and returns the handle to keep.
  Tensor register_parameter(const std::string& name, Tensor t);
  /// Registers state that is saved but not trained (positional tables, running statistics).
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  /// Registers a submodule (its parameters appear under "name.") and returns it.
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

  std::vector<std::pair<std::string, Tensor>> named_parameters() const;  ///< every parameter below, by dotted name
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;  ///< every buffer below, by dotted name
  /// Parameters and buffers: what a checkpoint holds.
  std::vector<std::pair<std::string, Tensor>> state() const;
  std::vector<Tensor> parameters() const;  ///< every parameter below, in registration order
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }  ///< direct submodules, by name
  /// Every module below this one, depth first, by dotted path ("encoder.layers_0.self_attn"); as
  /// libtorch's named_modules() without the root itself.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;
  int64_t num_parameters() const;  ///< total elements of all parameters

  /// Training mode (dropout active) propagates to every submodule.
  void train(bool on = true);
  void eval() { train(false); }  ///< train(false)
  bool is_training() const { return training_; }  ///< training mode
  void zero_grad();  ///< drops every parameter's gradient
  /// Converts every parameter and buffer in place (handles held elsewhere see the change);
  /// float64 is for gradient checks.
  void to(DType dtype);

  /// One line per module, indented by depth: "decoder.attention  BahdanauAttention(...)  (33,024 params)".
  std::string summary() const;
  /// The layer's own settings, e.g. "in=128, out=64, bias=true"; shown by summary().
  virtual std::string extra_repr() const { return ""; }
  const std::string& type_name() const { return type_name_; }  ///< the name given to the constructor

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, bool buffers,
               std::vector<std::pair<std::string, Tensor>>& out) const;
  void summary_lines(const std::string& name, int depth, std::string& out) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

/// A module with one input and one output, so it can sit in a Sequential.
class UnaryModule : public Module {
 public:
  using Module::Module;  ///< constructed with a type name
  virtual Tensor forward(const Tensor& x) = 0;  ///< the layer's function
  Tensor operator()(const Tensor& x) { return forward(x); }  ///< forward(x)
};

}  // namespace xg::nn
