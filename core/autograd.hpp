#pragma once
/// \file
/// Reverse-mode autograd. Every op, built in or user-defined, computes its output and then calls
/// `record` with a backward closure; that closure is the op's whole gradient rule. Backward is a
/// topological sort of the nodes and one loop over them in reverse.
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg {

class GradSink;
/// Receives the gradient of the op's output and adds the inputs' gradients into `sink`.
using BackwardFn = std::function<void(const Tensor& grad_output, GradSink& sink)>;

/// A node of the graph: the op that made a tensor, its inputs and its backward closure.
struct Node {
  std::string name;  ///< the op's name, used in errors and anomaly reports
  std::vector<Tensor> inputs;  ///< undefined where an input does not require grad
  BackwardFn backward;  ///< the op's gradient rule
  Tensor grad;                 ///< gradient of this node's output, accumulated during backward
  bool released = false;       ///< the closure was freed by a backward without retain_graph
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// Frees the chain of inputs iteratively: a graph never run backward can be millions of nodes
  /// deep (a long decoder loop), and recursive destruction would overflow the stack.
  ~Node();
};

/// Where a backward closure puts gradients. Only inputs that require grad receive them.
class GradSink {
 public:
  explicit GradSink(Node& node) : node_(node) {}  ///< a sink for `node`'s inputs (made by the engine)
  bool needs(std::size_t i) const;  ///< whether input i requires a gradient
  /// Adds g (of exactly the input's shape) into input i's gradient. Takes ownership of g's
  /// buffer when nothing else holds it, so the common case copies nothing; a non-leaf input's
  /// gradient may also share g's storage (it is only read later; a second contribution then
  /// sums into a new tensor), a leaf's .grad always gets its own and accumulates in place.
  void add(std::size_t i, Tensor g);
  /// The gradient buffer of input i, zero-filled on first use, for closures that scatter into
  /// part of it (narrow, index_select, embedding) instead of building a full-size tensor; a
  /// buffer that shares its storage is copied first (copy on write), so writing into it is safe.
  Tensor& buffer(std::size_t i);
  /// Input i's gradient so far, writable like buffer(i), or null while nothing has been added to
  /// it. A closure whose contribution comes out of a BLAS product (beta = 1) or a row kernel can
  /// add it in place there instead of writing a new tensor that add() then sums in: the second
  /// of the three projections reading one layer_norm output, a residual branch's input gradient.
  Tensor* partial(std::size_t i);

 private:
  Node& node_;
};

/// Wraps `output` into the graph when grad mode is on and any input requires grad; returns it.
/// This is the extension point for custom ops (docs/custom_layers.md).
Tensor record(const char* op_name, Tensor output, const std::vector<Tensor>& inputs,
              BackwardFn backward);

/// A composite op (mean = sum times 1/n, ...) names the node that made its result after itself, so
/// that errors and anomaly reports say what the user called ("mean", not "affine"). Leaves the
/// node alone when the op made none of its own (the result is `input`, or shares its node).
Tensor name_result(Tensor out, const Tensor& input, const char* op_name);

/// Backward from `root` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph);

/// Called during a backward pass for each leaf that requires grad, as soon as its gradient is
/// complete (every node that feeds it has run), while the rest of the backward still runs.
/// Data-parallel training uses it to start communicating gradients early. One hook per thread,
/// installed for the guard's scope.
using GradReadyFn = std::function<void(const Tensor& leaf)>;
/// Installs a GradReadyFn on this thread for the guard's scope (restoring the previous one after).
class GradReadyHookGuard {
 public:
  explicit GradReadyHookGuard(GradReadyFn fn);  ///< installs `fn`
  ~GradReadyHookGuard();
  GradReadyHookGuard(const GradReadyHookGuard&) = delete;
  GradReadyHookGuard& operator=(const GradReadyHookGuard&) = delete;

 private:
  GradReadyFn previous_;
};

/// Leaf gradients kept apart from the leaves: while a LeafGradStoreGuard lives on a thread, that
/// thread's backward passes add each leaf's gradient into the store instead of the leaf's .grad.
/// Threads running backward over parts of one batch at once use one store each, so that no two
/// add into the same .grad at the same time (see core/parallel_backward.hpp).
class LeafGradStore {
 public:
  Tensor& slot(const Tensor& leaf);  ///< undefined until a backward adds to it
  /// Adds every stored gradient into its leaf's .grad (taking the buffer if .grad is empty) and
  /// empties the store.
  void add_into_leaves();

 private:
  std::unordered_map<const TensorImpl*, std::pair<Tensor, Tensor>> grads_;  ///< leaf, gradient
};
/// Sends this thread's leaf gradients to `store` instead of the leaves' .grad for the guard's
/// scope.
class LeafGradStoreGuard {
 public:
  explicit LeafGradStoreGuard(LeafGradStore& store);  ///< redirects to `store`
  ~LeafGradStoreGuard();
  LeafGradStoreGuard(const LeafGradStoreGuard&) = delete;
  LeafGradStoreGuard& operator=(const LeafGradStoreGuard&) = delete;

 private:
  LeafGradStore* previous_;
};

/// Whether ops record the graph on this thread (false inside a NoGradGuard).
bool grad_mode_enabled();
/// Disables graph recording in its scope (evaluation, optimiser updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Anomaly mode: every op checks its output (and every backward its gradients) for NaN/Inf and
/// throws AnomalyError naming the op. Costs one pass over each output.
void set_anomaly_mode(bool on);
/// Whether anomaly mode is on (set_anomaly_mode or an AnomalyModeGuard).
bool anomaly_mode_enabled();
/// Turns anomaly mode on (or off) for the guard's scope.
class AnomalyModeGuard {
 public:
  explicit AnomalyModeGuard(bool on = true);  ///< sets anomaly mode to `on` until destroyed
  ~AnomalyModeGuard();
  AnomalyModeGuard(const AnomalyModeGuard&) = delete;
  AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace xg
