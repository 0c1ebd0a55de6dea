#pragma once
// GRU and LSTM: cells, and multi-layer (bi)directional layers over padded batches.
// Gate layouts and parameter names follow PyTorch (GRU gates r,z,n; LSTM gates i,f,g,o;
// "weight_ih_l0", "bias_hh_l1_reverse", ...), all initialised U(-1/sqrt(H), 1/sqrt(H)).
#include <memory>
#include <vector>

#include "core/linear.hpp"
#include "nn/module.hpp"

namespace xg::nn {

// One GRU step from precomputed input projections gi = x W_ihᵀ + b_ih (B, 3H):
//   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = (1 - z) ⊙ n + z ⊙ h
// with gh = h W_hhᵀ + b_hh. Fused into one op with a hand-written backward.
Tensor gru_step(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh);
// The same with gh = hh(h): W_hh laid out once for a whole sequence (core/linear.hpp).
Tensor gru_step(const Tensor& gi, const Tensor& h, const PackedLinear& hh);
// The same with gi = index_select(table, 0, ids) + addend (addend (B, 3H) or undefined), read
// row by row from table and addend rather than gathered and added first: a decoder's input, the
// previous words' rows of the projected embedding table plus the context's share.
Tensor gru_step_gathered(const Tensor& table, const std::vector<int64_t>& ids, const Tensor& addend, const Tensor& h,
                         const PackedLinear& hh);
// The same step composed of primitive ops: the reference the fused op is tested against.
Tensor gru_step_composed(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh);

struct LSTMState {
  Tensor h, c;  // (B, H) each
};
// One LSTM step from gi = x W_ihᵀ + b_ih (B, 4H): i,f,o = σ(.), g = tanh(.), c' = f⊙c + i⊙g,
// h' = o ⊙ tanh(c').
LSTMState lstm_step(const Tensor& gi, const LSTMState& state, const Tensor& w_hh, const Tensor& b_hh);
LSTMState lstm_step(const Tensor& gi, const LSTMState& state, const PackedLinear& hh);

class GRUCell : public Module {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size);
  Tensor forward(const Tensor& x, const Tensor& h);  // (B, in), (B, H) -> (B, H)
  // W_hh and b_hh laid out for gru_step: once per FixedWeightsGuard scope, shared by its threads.
  PackedLinear packed_hh();
  std::string extra_repr() const override;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  int64_t input_size, hidden_size;

 private:
  ScopedLayout hh_layout_;
};

class LSTMCell : public Module {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size);
  LSTMState forward(const Tensor& x, const LSTMState& state);
  std::string extra_repr() const override;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  int64_t input_size, hidden_size;
};

struct RNNOutput {
  Tensor output;  // (B, T, directions*H); zero at padded positions
  Tensor h_n;     // (layers*directions, B, H): the state after each sequence's last real step
  Tensor c_n;     // LSTM only, same shape as h_n
};

// Batch-first recurrent layer. With `lengths` (one per batch row, 1..T), steps past a sequence's
// end leave its state unchanged and output zeros, so padding never changes results at real
// positions; the reverse direction starts at each sequence's own last token.
class RecurrentLayer : public Module {
 public:
  enum class Kind { GRU, LSTM };
  RecurrentLayer(Kind kind, int64_t input_size, int64_t hidden_size, int64_t num_layers = 1,
                 bool bidirectional = false, double dropout = 0.0);
  // x (B, T, in); h0 (and c0 for LSTM) (layers*directions, B, H) or undefined for zeros.
  RNNOutput forward(const Tensor& x, const std::vector<int64_t>& lengths = {},
                    const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor());
  // The same from the first layer's input projections x W_ihᵀ + b_ih, one (B, T, gates*H) per
  // direction, computed by the caller: an embedding input projects its table rows instead of
  // every token (Embedding::project with input_weight(0, d) and input_bias(0, d)).
  RNNOutput forward_projected(const std::vector<Tensor>& first_layer_inputs,
                              const std::vector<int64_t>& lengths = {}, const Tensor& h0 = Tensor(),
                              const Tensor& c0 = Tensor());
  // The same with those projections as rows of a table per direction: step t of sentence b is
  // row ids[b·T + t] of tables[d] (V, gates*H), Embedding::projected_table(input_weight(0, d),
  // input_bias(0, d)). A GRU's cell reads the rows in place; an LSTM gathers them first.
  RNNOutput forward_table_rows(const std::vector<Tensor>& tables, const std::vector<int64_t>& ids, int64_t batch,
                               int64_t steps, const std::vector<int64_t>& lengths = {}, const Tensor& h0 = Tensor(),
                               const Tensor& c0 = Tensor());
  const Tensor& input_weight(int64_t layer, int64_t direction) const;  // W_ih (gates*H, in)
  const Tensor& input_bias(int64_t layer, int64_t direction) const;    // b_ih (gates*H)
  std::string extra_repr() const override;

  Kind kind;
  int64_t input_size, hidden_size, num_layers;
  bool bidirectional;
  double dropout;

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  std::vector<Weights> weights_;  // index layer*directions + direction
  std::vector<std::unique_ptr<ScopedLayout>> hh_layouts_;  // W_hh laid out, the same index
  // The first layer's input: x (B, T, in), or its projections (B, T, gates*H) per direction, or
  // tables of projected rows looked up by ids (B·T of them).
  struct FirstInput {
    Tensor x;
    std::vector<Tensor> projected;
    const std::vector<int64_t>* ids = nullptr;
    int64_t batch = 0, steps = 0;
  };
  RNNOutput run(const FirstInput& first, const std::vector<int64_t>& lengths, const Tensor& h0, const Tensor& c0);
};

class GRU : public RecurrentLayer {
 public:
  GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bidirectional = false,
      double dropout = 0.0)
      : RecurrentLayer(Kind::GRU, input_size, hidden_size, num_layers, bidirectional, dropout) {}
};

class LSTM : public RecurrentLayer {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bidirectional = false,
       double dropout = 0.0)
      : RecurrentLayer(Kind::LSTM, input_size, hidden_size, num_layers, bidirectional, dropout) {}
};

}  // namespace xg::nn
