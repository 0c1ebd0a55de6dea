#include <xgrad/nn/recurrent.hpp>

#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/detail/vecmath.hpp>
#include <xgrad/core/ops.hpp>
#include <xgrad/nn/detail/layer_access.hpp>
#include <xgrad/nn/detail/layer_kernels.hpp>
#include <xgrad/nn/detail/recurrent_steps.hpp>
#include <xgrad/nn/init.hpp>

namespace xg::nn {

namespace {

void check_gates(const char* op, const Tensor& gi, const Tensor& gh, const Tensor& state, int64_t gates) {
  const int64_t b = state.dim() == 2 ? state.shape()[0] : -1, h = state.dim() == 2 ? state.shape()[1] : -1;
  if (state.dim() != 2 || gi.shape() != Shape{b, gates * h} || gh.shape() != Shape{b, gates * h})
    throw ShapeError(fmt::format("{}: gates {} and {} for state {} (need (B, {}H) and (B, H))", op,
                                 shape_str(gi.shape()), shape_str(gh.shape()), shape_str(state.shape()), gates));
}

// The gates' input gi, row b: row b of `first` (or row ids[b] of it, a table, when ids is not
// empty), plus row b of `second` when defined.
struct GateInput {
  Tensor first;
  const std::vector<int64_t>* ids = nullptr;
  Tensor second;
};

// The GRU gate arithmetic after both projections, fused: one pass forward, one backward, per
// row in vecmath's SIMD kernels (gates, sigmoid and tanh as separate loops compiled for SSE2 took
// 12% of a GRU greedy decode on this AVX-512 machine).
Tensor gru_gates(const GateInput& in, const Tensor& gh, const Tensor& h) {
  const int64_t B = h.dim() == 2 ? h.shape()[0] : -1, H = h.dim() == 2 ? h.shape()[1] : -1;
  const Tensor& gi_shaped = in.ids ? in.second : in.first;  // the (B, 3H) one, when there is one
  if (gi_shaped.defined()) check_gates("gru_step", gi_shaped, gh, h, 3);
  else check_gates("gru_step", gh, gh, h, 3);
  if (in.ids) {
    const int64_t rows = in.first.dim() == 2 ? in.first.shape()[0] : -1;
    if (in.first.dim() != 2 || in.first.shape()[1] != 3 * H || static_cast<int64_t>(in.ids->size()) != B)
      throw ShapeError(fmt::format("gru_step: table {} and {} ids for state {} (need (V, 3H) and B ids)",
                                   shape_str(in.first.shape()), in.ids->size(), shape_str(h.shape())));
    for (std::size_t b = 0; b < in.ids->size(); ++b)
      if ((*in.ids)[b] < 0 || (*in.ids)[b] >= rows)
        throw IndexError(fmt::format("gru_step: id {} of row {} is outside a table of {} rows", (*in.ids)[b], b, rows));
  }
  for (const Tensor* t : {&in.first, &in.second, &gh})
    if (t->defined()) check_same_dtype("gru_step", h, *t);
  Tensor out = Tensor::uninitialized({B, H}, h.dtype());
  // r, z, n, gh_n per row, for the backward; decoding under NoGradGuard saves nothing (four of
  // the kernel's five stores per element).
  const bool saving = grad_mode_enabled() && (in.first.requires_grad() || (in.second.defined() && in.second.requires_grad()) ||
                                              gh.requires_grad() || h.requires_grad());
  Tensor saved = saving ? Tensor::uninitialized({B, 4, H}, h.dtype()) : Tensor();
  std::vector<int64_t> row_of(static_cast<std::size_t>(B));
  for (int64_t b = 0; b < B; ++b) row_of[b] = in.ids ? (*in.ids)[b] : b;
  dispatch(h.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const detail::LayerKernels<T>& kernels = detail::layer_kernels<T>();  // looked up once, not per row
    const T* pi = in.first.data<T>();
    const T* pi2 = in.second.defined() ? in.second.data<T>() : nullptr;
    const T* pg = gh.data<T>();
    const T* ph = h.data<T>();
    T* po = out.data<T>();
    T* ps = saving ? saved.data<T>() : nullptr;
    XG_PRAGMA(omp parallel for if (B * H > kParallelGrain / 8) schedule(static))
    for (int64_t b = 0; b < B; ++b)
      kernels.gru_cell_forward(pi + row_of[b] * 3 * H, pi2 ? pi2 + b * 3 * H : nullptr, pg + b * 3 * H, ph + b * H,
                                ps ? ps + b * 4 * H : nullptr, po + b * H, H);
  });
  const Tensor hd = h.detach();
  const bool gathered = in.ids != nullptr;
  return record("gru_step", out, {in.first, in.second, gh, h},
                [saved, hd, B, H, gathered, row_of](const Tensor& g, GradSink& sink) {
    Tensor dgi = Tensor::uninitialized({B, 3 * H}, g.dtype()), dgh = Tensor::uninitialized({B, 3 * H}, g.dtype());
    Tensor dh = Tensor::uninitialized({B, H}, g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const detail::LayerKernels<T>& kernels = detail::layer_kernels<T>();  // looked up once, not per row
      const T* pgo = g.data<T>();
      const T* ps = saved.data<T>();
      const T* ph = hd.data<T>();
      T* pdi = dgi.data<T>();
      T* pdg = dgh.data<T>();
      T* pdh = dh.data<T>();
      XG_PRAGMA(omp parallel for if (B * H > kParallelGrain / 8) schedule(static))
      for (int64_t b = 0; b < B; ++b)
        kernels.gru_cell_backward(ps + b * 4 * H, pgo + b * H, ph + b * H, pdi + b * 3 * H, pdg + b * 3 * H,
                                   pdh + b * H, H);
      if (gathered && sink.needs(0)) {  // into the table's rows, in batch order (ids may repeat)
        T* pt = sink.buffer(0).data<T>();
        for (int64_t b = 0; b < B; ++b)
          for (int64_t j = 0; j < 3 * H; ++j) pt[row_of[b] * 3 * H + j] += pdi[b * 3 * H + j];
      }
    });
    sink.add(gathered ? 1 : 0, std::move(dgi));
    sink.add(2, std::move(dgh));
    sink.add(3, std::move(dh));
  });
}

// One batch row of the LSTM gates' backward; grad_out is [dh'; dc'] (2H), saved is
// i, f, g, o, tanh(c') (5H).
template <class T>
void lstm_backward_row(const T* __restrict saved, const T* __restrict grad_out, const T* __restrict c,
                       T* __restrict dgates, T* __restrict dc, int64_t H) {
  const T* i = saved;
  const T* f = saved + H;
  const T* g = saved + 2 * H;
  const T* o = saved + 3 * H;
  const T* tc = saved + 4 * H;
  for (int64_t j = 0; j < H; ++j) {
    const T dh = grad_out[j];
    const T dcn = grad_out[H + j] + dh * o[j] * (T(1) - tc[j] * tc[j]);
    dgates[j] = dcn * g[j] * i[j] * (T(1) - i[j]);
    dgates[H + j] = dcn * c[j] * f[j] * (T(1) - f[j]);
    dgates[2 * H + j] = dcn * i[j] * (T(1) - g[j] * g[j]);
    dgates[3 * H + j] = dh * tc[j] * o[j] * (T(1) - o[j]);
    dc[j] = dcn * f[j];
  }
}

// LSTM gate arithmetic, fused; returns [h', c'] side by side as (B, 2H).
Tensor lstm_gates(const Tensor& gi, const Tensor& gh, const Tensor& c) {
  check_gates("lstm_step", gi, gh, c, 4);
  const int64_t B = c.shape()[0], H = c.shape()[1];
  Tensor out = Tensor::uninitialized({B, 2 * H}, c.dtype());
  Tensor saved = Tensor::uninitialized({B, 5, H}, c.dtype());  // i, f, g, o, tanh(c')
  dispatch(c.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const vecmath::Kernels<T>& kernels = vecmath::best<T>();  // looked up once, not per row
    const T* pi = gi.data<T>();
    const T* pg = gh.data<T>();
    const T* pc = c.data<T>();
    T* po = out.data<T>();
    T* ps = saved.data<T>();
    XG_PRAGMA(omp parallel for if (B * H > kParallelGrain / 8) schedule(static))
    for (int64_t b = 0; b < B; ++b) {
      const T* xi = pi + b * 4 * H;
      const T* xh = pg + b * 4 * H;
      T* s = ps + b * 5 * H;
      for (int64_t j = 0; j < 4 * H; ++j) s[j] = xi[j] + xh[j];
      kernels.sigmoid(s, s, 2 * H);                  // i, f
      kernels.tanh(s + 2 * H, s + 2 * H, H);         // g
      kernels.sigmoid(s + 3 * H, s + 3 * H, H);      // o
      for (int64_t j = 0; j < H; ++j) s[4 * H + j] = s[H + j] * pc[b * H + j] + s[j] * s[2 * H + j];  // c'
      for (int64_t j = 0; j < H; ++j) po[b * 2 * H + H + j] = s[4 * H + j];
      kernels.tanh(s + 4 * H, s + 4 * H, H);         // tanh(c')
      for (int64_t j = 0; j < H; ++j) po[b * 2 * H + j] = s[3 * H + j] * s[4 * H + j];
    }
  });
  const Tensor cd = c.detach();
  return record("lstm_step", out, {gi, gh, c}, [saved, cd, B, H](const Tensor& g, GradSink& sink) {
    Tensor dgates = Tensor::uninitialized({B, 4 * H}, g.dtype()), dc = Tensor::uninitialized({B, H}, g.dtype());
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pgo = g.data<T>();
      const T* ps = saved.data<T>();
      const T* pc = cd.data<T>();
      T* pd = dgates.data<T>();
      T* pdc = dc.data<T>();
      XG_PRAGMA(omp parallel for if (B * H > kParallelGrain / 8) schedule(static))
      for (int64_t b = 0; b < B; ++b)
        lstm_backward_row(ps + b * 5 * H, pgo + b * 2 * H, pc + b * H, pd + b * 4 * H, pdc + b * H, H);
    });
    if (sink.needs(0)) sink.add(0, dgates);
    if (sink.needs(1)) sink.add(1, std::move(dgates));
    sink.add(2, std::move(dc));
  });
}

// The four PyTorch-named tensors of one recurrent cell ("weight_ih" + suffix, ...), all
// U(-1/sqrt(H), 1/sqrt(H)), gates*hidden rows each.
struct CellWeights {
  Tensor w_ih, w_hh, b_ih, b_hh;
};
CellWeights register_cell_weights(Module& m, const std::string& suffix, int64_t gates, int64_t in, int64_t hidden) {
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden));
  return {m.register_parameter("weight_ih" + suffix, init::uniform({gates * hidden, in}, k)),
          m.register_parameter("weight_hh" + suffix, init::uniform({gates * hidden, hidden}, k)),
          m.register_parameter("bias_ih" + suffix, init::uniform({gates * hidden}, k)),
          m.register_parameter("bias_hh" + suffix, init::uniform({gates * hidden}, k))};
}

}  // namespace

Tensor gru_step(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  return gru_gates({gi, nullptr, Tensor()}, linear(h, w_hh, b_hh), h);
}

Tensor detail::gru_step(const Tensor& gi, const Tensor& h, const xg::detail::PackedLinear& hh) {
  return gru_gates({gi, nullptr, Tensor()}, hh(h), h);
}

Tensor detail::gru_step_gathered(const Tensor& table, const std::vector<int64_t>& ids, const Tensor& addend,
                                 const Tensor& h, const xg::detail::PackedLinear& hh) {
  return gru_gates({table, &ids, addend}, hh(h), h);
}

Tensor gru_step_composed(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  const int64_t H = h.shape()[1];
  const Tensor gh = linear(h, w_hh, b_hh);
  auto i = split(gi, {H, H, H}, 1), hh = split(gh, {H, H, H}, 1);
  const Tensor r = sigmoid(i[0] + hh[0]);
  const Tensor z = sigmoid(i[1] + hh[1]);
  const Tensor n = tanh(i[2] + r * hh[2]);
  return (1.0 - z) * n + z * h;
}

namespace {
LSTMState lstm_step_from(const Tensor& gi, const Tensor& gh, const LSTMState& state) {
  const int64_t H = state.h.shape().at(1);
  const Tensor hc = lstm_gates(gi, gh, state.c);
  return {narrow(hc, 1, 0, H), narrow(hc, 1, H, H)};
}
}  // namespace

LSTMState lstm_step(const Tensor& gi, const LSTMState& state, const Tensor& w_hh, const Tensor& b_hh) {
  return lstm_step_from(gi, linear(state.h, w_hh, b_hh), state);
}

LSTMState detail::lstm_step(const Tensor& gi, const LSTMState& state, const xg::detail::PackedLinear& hh) {
  return lstm_step_from(gi, hh(state.h), state);
}

// W_hh laid out once per FixedWeightsGuard scope, shared by the scope's threads.
struct GRUCell::Prepared {
  xg::detail::ScopedLayout hh;
};
struct RecurrentLayer::Prepared {
  xg::detail::ScopedLayout hh;
};

GRUCell::GRUCell(int64_t in, int64_t hidden)
    : Module("GRUCell"), input_size(in), hidden_size(hidden), prepared_(std::make_shared<Prepared>()) {
  const CellWeights w = register_cell_weights(*this, "", 3, in, hidden);
  weight_ih = w.w_ih, weight_hh = w.w_hh, bias_ih = w.b_ih, bias_hh = w.b_hh;
}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h) {
  return gru_step(linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh);
}
xg::detail::PackedLinear detail::LayerAccess::packed_hh(GRUCell& cell) {
  return cell.prepared_->hh.get(cell.weight_hh, cell.bias_hh);
}
std::string GRUCell::extra_repr() const { return fmt::format("{}, {}", input_size, hidden_size); }

struct GRUDecoderSteps::Parts {
  GRUCell* cell;
  Embedding* embedding;
  Tensor word_weight;                      // W_e (3H, E): the columns of W_ih that read e
  xg::detail::PackedLinear context, hh;    // W_c (3H, C) and W_hh, laid out once for the pass
  Tensor table;                            // (V, 3H): W_e e + b_ih for every word, on first use
};

GRUDecoderSteps::GRUDecoderSteps(GRUCell& cell, Embedding& embedding) : parts_(std::make_shared<Parts>()) {
  const int64_t words = embedding.dim, context = cell.input_size - words;
  if (context < 1)
    throw ShapeError(fmt::format("GRUDecoderSteps: a cell of input {} leaves no room for a context beside "
                                 "embeddings of width {}", cell.input_size, words));
  auto w = split(cell.weight_ih, {words, context}, 1);  // W_ih = [W_e W_c]
  parts_->cell = &cell, parts_->embedding = &embedding;
  parts_->word_weight = w[0];
  parts_->context = xg::detail::PackedLinear(w[1]);
  parts_->hh = detail::LayerAccess::packed_hh(cell);
}

Tensor GRUDecoderSteps::word_share(const std::vector<int64_t>& ids, const Shape& ids_shape) const {
  return parts_->embedding->project(ids, ids_shape, parts_->word_weight, parts_->cell->bias_ih);
}

Tensor GRUDecoderSteps::context_share(const Tensor& context) const { return parts_->context(context); }

Tensor GRUDecoderSteps::step(const Tensor& gi, const Tensor& h) const { return detail::gru_step(gi, h, parts_->hh); }

Tensor GRUDecoderSteps::step(const std::vector<int64_t>& ids, const Tensor& context_share, const Tensor& h) const {
  if (!parts_->table.defined())
    parts_->table = parts_->embedding->projected_table(parts_->word_weight, parts_->cell->bias_ih);
  return detail::gru_step_gathered(parts_->table, ids, context_share, h, parts_->hh);
}

LSTMCell::LSTMCell(int64_t in, int64_t hidden) : Module("LSTMCell"), input_size(in), hidden_size(hidden) {
  const CellWeights w = register_cell_weights(*this, "", 4, in, hidden);
  weight_ih = w.w_ih, weight_hh = w.w_hh, bias_ih = w.b_ih, bias_hh = w.b_hh;
}

LSTMState LSTMCell::forward(const Tensor& x, const LSTMState& state) {
  return lstm_step(linear(x, weight_ih, bias_ih), state, weight_hh, bias_hh);
}
std::string LSTMCell::extra_repr() const { return fmt::format("{}, {}", input_size, hidden_size); }

RecurrentLayer::RecurrentLayer(Kind k, int64_t in, int64_t hidden, int64_t layers, bool bidir, double drop)
    : Module(k == Kind::GRU ? "GRU" : "LSTM"), kind(k), input_size(in), hidden_size(hidden),
      num_layers(layers), bidirectional(bidir), dropout(drop) {
  if (in <= 0 || hidden <= 0 || layers <= 0)
    throw Error(fmt::format("{}: sizes must be positive (input {}, hidden {}, layers {})", type_name(),
                            in, hidden, layers));
  const int64_t gates = k == Kind::GRU ? 3 : 4, dirs = bidir ? 2 : 1;
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t d = 0; d < dirs; ++d) {
      const CellWeights w = register_cell_weights(*this, fmt::format("_l{}{}", l, d ? "_reverse" : ""), gates,
                                                  l == 0 ? in : hidden * dirs, hidden);
      weights_.push_back({w.w_ih, w.w_hh, w.b_ih, w.b_hh});
      prepared_hh_.push_back(std::make_shared<Prepared>());
    }
}

std::string RecurrentLayer::extra_repr() const {
  return fmt::format("{}, {}, layers={}, bidirectional={}, dropout={}", input_size, hidden_size,
                     num_layers, bidirectional, dropout);
}

RNNOutput RecurrentLayer::forward(const Tensor& x, const std::vector<int64_t>& lengths,
                                  const Tensor& h0, const Tensor& c0) {
  if (x.dim() != 3 || x.shape()[2] != input_size)
    throw ShapeError(fmt::format("{}: input {} (needs (B, T, {}))", type_name(), shape_str(x.shape()), input_size));
  return run({x, {}, nullptr, 0, 0}, lengths, h0, c0);
}

RNNOutput RecurrentLayer::forward_projected(const std::vector<Tensor>& projected, const std::vector<int64_t>& lengths,
                                            const Tensor& h0, const Tensor& c0) {
  const int64_t dirs = bidirectional ? 2 : 1, gates = kind == Kind::GRU ? 3 : 4;
  if (static_cast<int64_t>(projected.size()) != dirs)
    throw ShapeError(fmt::format("{}: {} input projections for {} direction(s)", type_name(), projected.size(), dirs));
  for (const Tensor& p : projected)
    if (p.dim() != 3 || p.shape()[2] != gates * hidden_size || p.shape() != projected[0].shape())
      throw ShapeError(fmt::format("{}: input projection {} (needs (B, T, {}), the same for every direction)",
                                   type_name(), shape_str(p.shape()), gates * hidden_size));
  return run({Tensor(), projected, nullptr, 0, 0}, lengths, h0, c0);
}

RNNOutput RecurrentLayer::forward_table_rows(const std::vector<Tensor>& tables, const std::vector<int64_t>& ids,
                                             int64_t batch, int64_t steps, const std::vector<int64_t>& lengths,
                                             const Tensor& h0, const Tensor& c0) {
  const int64_t dirs = bidirectional ? 2 : 1, gates = kind == Kind::GRU ? 3 : 4;
  if (static_cast<int64_t>(tables.size()) != dirs)
    throw ShapeError(fmt::format("{}: {} projected tables for {} direction(s)", type_name(), tables.size(), dirs));
  if (batch < 1 || steps < 1 || static_cast<int64_t>(ids.size()) != batch * steps)
    throw ShapeError(fmt::format("{}: {} ids for {} sentences of {} steps", type_name(), ids.size(), batch, steps));
  for (const Tensor& t : tables) {
    if (t.dim() != 2 || t.shape()[1] != gates * hidden_size || t.shape() != tables[0].shape())
      throw ShapeError(fmt::format("{}: projected table {} (needs (V, {}), the same for every direction)", type_name(),
                                   shape_str(t.shape()), gates * hidden_size));
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] < 0 || ids[i] >= t.shape()[0])
        throw IndexError(fmt::format("{}: id {} at position {} is outside a table of {} rows", type_name(), ids[i], i,
                                     t.shape()[0]));
  }
  return run({Tensor(), tables, &ids, batch, steps}, lengths, h0, c0);
}

RNNOutput RecurrentLayer::forward(Embedding& embedding, const std::vector<int64_t>& ids, int64_t batch, int64_t steps,
                                  const std::vector<int64_t>& lengths, const Tensor& h0, const Tensor& c0) {
  if (embedding.dim != input_size)
    throw ShapeError(fmt::format("{}: embeddings of width {} for an input of {}", type_name(), embedding.dim, input_size));
  if (batch < 1 || steps < 1 || static_cast<int64_t>(ids.size()) != batch * steps)
    throw ShapeError(fmt::format("{}: {} ids for {} sentences of {} steps", type_name(), ids.size(), batch, steps));
  const int64_t dirs = bidirectional ? 2 : 1;
  if (static_cast<int64_t>(ids.size()) > embedding.num_embeddings) {
    // Fewer table rows than words: project the table once per direction; the GRU cell reads each
    // word's row in place (no (B, T, 3H) gathered copy, forward or backward).
    std::vector<Tensor> tables;
    for (int64_t d = 0; d < dirs; ++d) tables.push_back(embedding.projected_table(weights_[d].w_ih, weights_[d].b_ih));
    return forward_table_rows(tables, ids, batch, steps, lengths, h0, c0);
  }
  std::vector<Tensor> projected;
  for (int64_t d = 0; d < dirs; ++d)
    projected.push_back(embedding.project(ids, {batch, steps}, weights_[d].w_ih, weights_[d].b_ih));
  return forward_projected(projected, lengths, h0, c0);
}

RNNOutput RecurrentLayer::run(const FirstInput& first, const std::vector<int64_t>& lengths, const Tensor& h0,
                              const Tensor& c0) {
  const Tensor& x = first.x;
  const std::vector<Tensor>& projected = first.projected;
  const Tensor& shaped = x.defined() ? x : projected[0];
  const int64_t B = first.ids ? first.batch : shaped.shape()[0], T = first.ids ? first.steps : shaped.shape()[1];
  const int64_t H = hidden_size, dirs = bidirectional ? 2 : 1;
  const DType dtype = shaped.dtype();
  if (!lengths.empty() && static_cast<int64_t>(lengths.size()) != B)
    throw ShapeError(fmt::format("{}: {} lengths for a batch of {}", type_name(), lengths.size(), B));
  bool padded = false;
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] < 1 || lengths[b] > T)
      throw IndexError(fmt::format("{}: length {} of batch row {} is outside [1, {}]", type_name(),
                                   lengths[b], b, T));
    padded = padded || lengths[b] < T;
  }
  const Shape state_shape{num_layers * dirs, B, H};
  for (const Tensor* s : {&h0, &c0})
    if (s->defined() && s->shape() != state_shape)
      throw ShapeError(fmt::format("{}: initial state {} (needs {})", type_name(),
                                   shape_str(s->shape()), shape_str(state_shape)));
  // (B, 1) per step: 1 where step t is inside the sequence
  std::vector<Tensor> step_mask;
  if (padded)
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> m(static_cast<std::size_t>(B));
      for (int64_t b = 0; b < B; ++b) m[b] = t < lengths[b] ? 1.0 : 0.0;
      step_mask.push_back(Tensor::from_vector(m, {B, 1}, dtype));
    }

  Tensor layer_input = x;
  std::vector<Tensor> h_finals, c_finals;
  for (int64_t l = 0; l < num_layers; ++l) {
    std::vector<Tensor> dir_outputs;
    for (int64_t d = 0; d < dirs; ++d) {
      const Weights& w = weights_[l * dirs + d];
      const int64_t idx = l * dirs + d;
      // (B, T, gates*H), all steps at once; or the rows of a projected table (first.ids)
      const bool table_rows = l == 0 && first.ids;
      const Tensor gi_all = table_rows ? (kind == Kind::GRU ? Tensor()
                                                            : reshape(index_select(projected[d], 0, *first.ids),
                                                                      {B, T, 4 * H}))
                            : l == 0 && !x.defined() ? projected[d]
                                                     : linear(layer_input, w.w_ih, w.b_ih);
      Tensor h = h0.defined() ? select(h0, 0, idx) : zeros({B, H}, dtype);
      Tensor c = kind == Kind::LSTM ? (c0.defined() ? select(c0, 0, idx) : zeros({B, H}, dtype)) : Tensor();
      std::vector<Tensor> outs(static_cast<std::size_t>(T));
      const xg::detail::PackedLinear hh = prepared_hh_[idx]->hh.get(w.w_hh, w.b_hh);  // the same W_hh for all T steps
      // The GRU cell reads step t's rows (b·T + t) of gi_all, or the table rows of step t's ids, in
      // place, where select would copy them (and its backward scatter them back): one view for
      // all steps, one gradient buffer.
      const Tensor gi_rows = kind != Kind::GRU ? Tensor() : table_rows ? projected[d] : reshape(gi_all, {B * T, 3 * H});
      std::vector<int64_t> rows(static_cast<std::size_t>(B));
      for (int64_t s = 0; s < T; ++s) {
        const int64_t t = d == 0 ? s : T - 1 - s;
        Tensor h_new, c_new;
        if (kind == Kind::GRU) {
          for (int64_t b = 0; b < B; ++b) rows[b] = table_rows ? (*first.ids)[b * T + t] : b * T + t;
          h_new = detail::gru_step_gathered(gi_rows, rows, Tensor(), h, hh);
        } else {
          LSTMState st = detail::lstm_step(select(gi_all, 1, t), {h, c}, hh);
          h_new = st.h, c_new = st.c;
        }
        if (padded) {
          const Tensor& m = step_mask[t];
          h = where(m, h_new, h);
          if (c_new.defined()) c = where(m, c_new, c);
          outs[t] = h_new * m;
        } else {
          h = h_new, c = c_new;
          outs[t] = h_new;
        }
      }
      dir_outputs.push_back(stack(outs, 1));  // (B, T, H)
      h_finals.push_back(h);
      if (c.defined()) c_finals.push_back(c);
    }
    layer_input = dirs == 1 ? dir_outputs[0] : concat(dir_outputs, 2);
    if (dropout > 0 && l + 1 < num_layers) layer_input = xg::dropout(layer_input, dropout, is_training());
  }
  RNNOutput out;
  out.output = layer_input;
  out.h_n = stack(h_finals, 0);
  if (!c_finals.empty()) out.c_n = stack(c_finals, 0);
  return out;
}

}  // namespace xg::nn
