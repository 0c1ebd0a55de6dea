#include <xgrad/nn/layers.hpp>

#include <cmath>
#include <numeric>
#include <fmt/format.h>

#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/packed_linear.hpp>
#include <xgrad/core/ops.hpp>
#include <xgrad/nn/detail/layer_access.hpp>
#include <xgrad/nn/init.hpp>

namespace xg::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias)
    : UnaryModule("Linear"), in_features(in), out_features(out), prepared_(std::make_shared<Prepared>()) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(in, 1)));
  weight = register_parameter("weight", init::uniform({out, in}, bound));
  if (with_bias) bias = register_parameter("bias", init::uniform({out}, bound));
}

// Locked: the threads decoding parts of a batch share it.
struct Linear::Prepared {
  xg::detail::ScopedLayout layout;
};

Tensor Linear::forward(const Tensor& x) {
  if (x.dim() < 1 || x.shape().back() != in_features)
    throw ShapeError(fmt::format("Linear(in={}, out={}): input {} has {} features in its last axis (needs {})", in_features,
                                 out_features, shape_str(x.shape()), x.dim() ? x.shape().back() : 0, in_features));
  return detail::LayerAccess::packed(*this)(x);
}

// xgrad's packed product beat OpenBLAS at every shape these models use (960-1920 rows of a
// training step included: 0.86-0.98x its time, the layout costing 7-30 us).
xg::detail::PackedLinear detail::LayerAccess::packed(Linear& layer) {
  if (FixedWeightsGuard::scope_id() == 0) return xg::detail::PackedLinear(layer.weight, layer.bias);
  return layer.prepared_->layout.get(layer.weight, layer.bias);
}

std::string Linear::extra_repr() const {
  return fmt::format("in={}, out={}, bias={}", in_features, out_features, bias.defined());
}

Embedding::Embedding(int64_t n, int64_t d, int64_t pad)
    : Module("Embedding"), num_embeddings(n), dim(d), padding_idx(pad) {
  if (pad >= n) throw IndexError(fmt::format("Embedding: padding_idx {} >= num_embeddings {}", pad, n));
  Tensor w = randn({n, d});
  if (pad >= 0)
    for (int64_t j = 0; j < d; ++j) w.data<float>()[pad * d + j] = 0.0f;
  weight = register_parameter("weight", w);
}

Tensor Embedding::forward(const Tensor& ids) { return embedding(weight, ids, padding_idx); }

Tensor Embedding::forward(const std::vector<int64_t>& ids, const Shape& ids_shape) {
  return embedding(weight, ids, ids_shape, padding_idx);
}

Tensor Embedding::projected_table(const Tensor& w, const Tensor& b) {
  std::vector<int64_t> every_row(static_cast<std::size_t>(num_embeddings));
  std::iota(every_row.begin(), every_row.end(), int64_t{0});
  // Through the embedding op, not the weight itself, so the padding row gets no gradient.
  return linear(embedding(weight, every_row, {num_embeddings}, padding_idx), w, b);  // (V, N)
}

Tensor Embedding::project(const std::vector<int64_t>& ids, const Shape& ids_shape, const Tensor& w, const Tensor& b) {
  if (static_cast<int64_t>(ids.size()) <= num_embeddings) return linear(forward(ids, ids_shape), w, b);
  if (numel_of(ids_shape) != static_cast<int64_t>(ids.size()))
    throw ShapeError(fmt::format("Embedding::project: {} ids for shape {}", ids.size(), shape_str(ids_shape)));
  for (std::size_t i = 0; i < ids.size(); ++i) check_index("Embedding::project", ids[i], num_embeddings, i);
  const Tensor table = projected_table(w, b);  // (V, N)
  Shape out_shape = ids_shape;
  out_shape.push_back(table.shape()[1]);
  return reshape(index_select(table, 0, ids), out_shape);
}

std::string Embedding::extra_repr() const {
  return fmt::format("{}, {}, padding_idx={}", num_embeddings, dim, padding_idx);
}

LayerNorm::LayerNorm(int64_t d, double e) : UnaryModule("LayerNorm"), dim(d), eps(e) {
  weight = register_parameter("weight", ones({d}));
  bias = register_parameter("bias", zeros({d}));
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, weight, bias, eps); }
std::string LayerNorm::extra_repr() const { return fmt::format("{}, eps={}", dim, eps); }

Dropout::Dropout(double prob) : UnaryModule("Dropout"), p(prob) {
  if (!(p >= 0 && p <= 1)) throw Error(fmt::format("Dropout: p={} is outside [0, 1]", p));
}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training()); }
std::string Dropout::extra_repr() const { return fmt::format("p={}", p); }

Sequential::Sequential(std::vector<std::shared_ptr<UnaryModule>> layers) : Sequential() {
  for (auto& l : layers) add(std::move(l));
}

Sequential& Sequential::add(std::shared_ptr<UnaryModule> layer) {
  register_module(std::to_string(layers_.size()), layer);
  layers_.push_back(std::move(layer));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& l : layers_) h = l->forward(h);
  return h;
}

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }

}  // namespace xg::nn
