#include <xgrad/core/autograd.hpp>

#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include <xgrad/core/custom_op.hpp>
#include <xgrad/core/detail/broadcast.hpp>
#include <xgrad/core/detail/kernels.hpp>
#include <xgrad/core/detail/tensor_impl.hpp>

namespace xg {

namespace {
thread_local bool g_grad_enabled = true;
bool g_anomaly = false;

thread_local LeafGradStore* t_leaf_store = nullptr;

// Where input i's gradient lives: a leaf keeps it (or this thread's LeafGradStore does); a
// non-leaf's goes to the node that made it, to be consumed and freed when that node runs.
Tensor& grad_slot(const Tensor& input) {
  TensorImpl* impl = input.impl();
  if (impl->grad_fn) return impl->grad_fn->grad;
  return t_leaf_store ? t_leaf_store->slot(input) : impl->grad;
}

bool uniquely_owned(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1;
}
}  // namespace

Node::~Node() {
  std::vector<Tensor> pending = std::move(inputs);
  while (!pending.empty()) {
    Tensor t = std::move(pending.back());
    pending.pop_back();
    if (!t.defined() || t.impl_ptr().use_count() != 1) continue;  // someone else keeps it
    std::shared_ptr<Node>& fn = t.impl()->grad_fn;
    if (fn && fn.use_count() == 1) {
      for (auto& in : fn->inputs) pending.push_back(std::move(in));
      fn->inputs.clear();
      fn->backward = nullptr;  // closures may hold tensors too; drop them while shallow
    }
  }
}

bool sums_down_to(const Shape& from, const Shape& to) {
  if (to.size() > from.size()) return false;
  const std::size_t lead = from.size() - to.size();
  for (std::size_t i = 0; i < to.size(); ++i)
    if (to[i] != from[lead + i] && to[i] != 1) return false;
  return true;
}

Tensor reduce_to_shape(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  if (broadcast_shapes("reduce_to_shape", grad.shape(), shape) != grad.shape())
    throw ShapeError("reduce_to_shape: gradient " + shape_str(grad.shape()) +
                     " cannot be summed down to " + shape_str(shape));
  return sum_to(grad, shape);
}

Tensor& LeafGradStore::slot(const Tensor& leaf) {
  auto& entry = grads_[leaf.impl()];
  if (!entry.first.defined()) entry.first = leaf;  // keeps the leaf alive until its gradient is added
  return entry.second;
}

void LeafGradStore::add_into_leaves() {
  for (auto& item : grads_) {
    auto& [leaf, grad] = item.second;
    if (!grad.defined()) continue;
    Tensor& own = leaf.impl()->grad;
    if (own.defined()) kernels::add_into(own, grad);
    else own = std::move(grad);
  }
  grads_.clear();
}

LeafGradStoreGuard::LeafGradStoreGuard(LeafGradStore& store) : previous_(t_leaf_store) { t_leaf_store = &store; }
LeafGradStoreGuard::~LeafGradStoreGuard() { t_leaf_store = previous_; }

bool grad_mode_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

void set_anomaly_mode(bool on) { g_anomaly = on; }
bool anomaly_mode_enabled() { return g_anomaly; }
AnomalyModeGuard::AnomalyModeGuard(bool on) : previous_(g_anomaly) { g_anomaly = on; }
AnomalyModeGuard::~AnomalyModeGuard() { g_anomaly = previous_; }

namespace {
thread_local GradReadyFn g_grad_ready;
}  // namespace

GradReadyHookGuard::GradReadyHookGuard(GradReadyFn fn) : previous_(std::move(g_grad_ready)) { g_grad_ready = std::move(fn); }
GradReadyHookGuard::~GradReadyHookGuard() { g_grad_ready = std::move(previous_); }

bool GradSink::needs(std::size_t i) const {
  return i < node_.inputs.size() && node_.inputs[i].defined();
}

void GradSink::add(std::size_t i, Tensor g) {
  if (!needs(i)) return;
  const Tensor& input = node_.inputs[i];
  if (g.shape() != input.shape() || g.dtype() != input.dtype())
    throw AutogradError(fmt::format("backward of {}: gradient {} {} for input {} of shape {} {}",
                                    node_.name, shape_str(g.shape()), dtype_name(g.dtype()), i,
                                    shape_str(input.shape()), dtype_name(input.dtype())));
  Tensor& slot = grad_slot(input);
  if (slot.defined()) {
    // A leaf's .grad accumulates in place (a handle the user holds sees the sum); a non-leaf's
    // may share its storage (below), and then the sum goes to a new tensor.
    if (input.is_leaf() || uniquely_owned(slot)) kernels::add_into(slot, g);
    else slot = kernels::sum_of(slot, g);
  } else if (uniquely_owned(g) || !input.is_leaf()) {
    // A non-leaf's gradient is only read (by its node's backward) or replaced, so it may share
    // storage with g (reshape's backward hands on its gradient's storage; a custom op may pass
    // one gradient to two inputs). A leaf's .grad belongs to the user and the optimiser, which
    // change it in place: it gets its own copy.
    slot = std::move(g);
  } else {
    slot = Tensor::uninitialized(g.shape(), g.dtype());
    slot.copy_(g);
  }
}

Tensor& GradSink::buffer(std::size_t i) {
  if (!needs(i))
    throw AutogradError(fmt::format("backward of {}: input {} takes no gradient", node_.name, i));
  const Tensor& input = node_.inputs[i];
  Tensor& slot = grad_slot(input);
  if (!slot.defined()) slot = Tensor::empty(input.shape(), input.dtype());
  else if (!input.is_leaf() && !uniquely_owned(slot)) slot = slot.clone();  // written in place: copy on write
  return slot;
}

Tensor* GradSink::partial(std::size_t i) {
  if (!needs(i) || !grad_slot(node_.inputs[i]).defined()) return nullptr;
  return &buffer(i);
}

Tensor record(const char* op_name, Tensor output, const std::vector<Tensor>& inputs,
              BackwardFn backward) {
  if (g_anomaly && !kernels::all_finite(output))
    throw AnomalyError(fmt::format("anomaly: the output of {} (shape {}) holds NaN or Inf",
                                   op_name, shape_str(output.shape())));
  if (!g_grad_enabled) return output;
  bool any = false;
  for (const auto& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return output;
  auto node = std::make_shared<Node>();
  node->name = op_name;
  node->inputs.reserve(inputs.size());
  for (const auto& t : inputs) node->inputs.push_back(t.defined() && t.requires_grad() ? t : Tensor());
  node->backward = std::move(backward);
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = std::move(node);
  return output;
}

Tensor name_result(Tensor out, const Tensor& input, const char* op_name) {
  if (out.defined() && out.grad_fn() && out.impl() != input.impl() && out.grad_fn() != input.grad_fn())
    out.grad_fn()->name = op_name;
  return out;
}

static void throw_released(const Node& n) {
  throw AutogradError("backward through the graph of " + n.name +
                      " a second time: its saved values were freed by the first backward; pass "
                      "retain_graph=true to the first call if you need to backward twice");
}

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  if (!root.defined()) throw AutogradError("backward on an undefined tensor");
  if (!root.requires_grad())
    throw AutogradError("backward: the tensor " + shape_str(root.shape()) +
                        " does not require grad and has no grad_fn");
  Tensor seed = gradient;
  if (!seed.defined()) {
    if (root.numel() != 1)
      throw AutogradError("backward: a gradient is needed for a non-scalar output of shape " +
                          shape_str(root.shape()));
    seed = Tensor::uninitialized(root.shape(), root.dtype());
    seed.fill_(1.0);
  } else if (seed.shape() != root.shape() || seed.dtype() != root.dtype()) {
    throw ShapeError("backward: gradient " + shape_str(seed.shape()) + " " +
                     dtype_name(seed.dtype()) + " does not match output " +
                     shape_str(root.shape()) + " " + dtype_name(root.dtype()));
  }
  NoGradGuard no_grad;  // gradient closures build no graph of their own

  if (root.is_leaf()) {
    Tensor& slot = grad_slot(root);
    if (slot.defined()) kernels::add_into(slot, seed);
    else slot = seed.clone();
    if (g_grad_ready) g_grad_ready(root);
    return;
  }

  // Post-order depth-first search: a node comes after every node that consumes its output.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack;
  stack.emplace_back(root.grad_fn(), 0);
  seen.insert(root.grad_fn().get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (node->released) throw_released(*node);
    if (next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      if (in.defined() && in.grad_fn() && seen.insert(in.grad_fn().get()).second)
        stack.emplace_back(in.grad_fn(), 0);
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }

  // With a grad-ready hook: the leaves whose last contributing node is at each position.
  std::vector<std::vector<Tensor>> leaves_done_at;
  if (g_grad_ready) {
    leaves_done_at.resize(order.size());
    std::unordered_map<TensorImpl*, std::size_t> last;
    std::vector<Tensor> leaves;
    for (std::size_t k = 0; k < order.size(); ++k)
      for (const Tensor& in : order[order.size() - 1 - k]->inputs)
        if (in.defined() && !in.grad_fn()) {
          if (last.emplace(in.impl(), k).second) leaves.push_back(in);
          else last[in.impl()] = k;
        }
    for (const Tensor& leaf : leaves) leaves_done_at[last[leaf.impl()]].push_back(leaf);
  }

  Node& top = *root.grad_fn();
  top.grad = seed.clone();
  std::size_t position = 0;
  for (auto it = order.rbegin(); it != order.rend(); ++it, ++position) {
    Node& node = **it;
    if (node.grad.defined()) {
      if (g_anomaly && !kernels::all_finite(node.grad))
        throw AnomalyError("anomaly: the gradient flowing into the backward of " + node.name +
                           " holds NaN or Inf");
      GradSink sink(node);
      node.backward(node.grad, sink);
      node.grad = Tensor();
    }
    if (!retain_graph) {
      node.backward = nullptr;
      node.inputs.clear();
      node.released = true;
    }
    if (g_grad_ready)
      for (const Tensor& leaf : leaves_done_at[position]) g_grad_ready(leaf);
  }
}

}  // namespace xg
