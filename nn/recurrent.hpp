#pragma once
/// \file
/// GRU and LSTM: cells, and multi-layer (bi)directional layers over padded batches.
/// Gate layouts and parameter names follow PyTorch (GRU gates r,z,n; LSTM gates i,f,g,o;
/// "weight_ih_l0", "bias_hh_l1_reverse", ...), all initialised U(-1/sqrt(H), 1/sqrt(H)).
#include <memory>
#include <vector>

#include <xgrad/nn/layers.hpp>
#include <xgrad/nn/module.hpp>

namespace xg::nn {

/// One GRU step from precomputed input projections gi = x W_ihᵀ + b_ih (B, 3H):
///   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = (1 - z) ⊙ n + z ⊙ h
/// with gh = h W_hhᵀ + b_hh. Fused into one op with a hand-written backward.
Tensor gru_step(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh);
/// The same step composed of primitive ops: the reference the fused op is tested against.
Tensor gru_step_composed(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh);

/// An LSTM's state.
struct LSTMState {
  Tensor h;  ///< (B, H) hidden state
  Tensor c;  ///< (B, H) cell state
};
/// One LSTM step from gi = x W_ihᵀ + b_ih (B, 4H): i,f,o = σ(.), g = tanh(.), c' = f⊙c + i⊙g,
/// h' = o ⊙ tanh(c').
LSTMState lstm_step(const Tensor& gi, const LSTMState& state, const Tensor& w_hh, const Tensor& b_hh);

/// One GRU step, with PyTorch's gate equations and weight layout (gates r, z, n).
class GRUCell : public Module {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size);  ///< weights U(-1/sqrt(H), 1/sqrt(H))
  Tensor forward(const Tensor& x, const Tensor& h);  ///< (B, in), (B, H) -> (B, H)
  std::string extra_repr() const override;
  /// (3H, in), (3H, H), (3H), (3H), as torch.nn.GRUCell.
  ///@{
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  ///@}
  /// Input width and H.
  ///@{
  int64_t input_size, hidden_size;
  ///@}

 private:
  friend struct detail::LayerAccess;
  struct Prepared;
  std::shared_ptr<Prepared> prepared_;
};

/// The steps of a decoder's GRU cell fed [e; c]: the embedding e of the previous word and a
/// context vector c (so cell.input_size = embedding.dim + the context's width), as in Cho et al.
/// (2014) and Bahdanau et al. (2015). A step computes cell.forward(concat({e, c}, 1), h), with its
/// input projection W_ih [e; c] + b_ih split in two shares that are each computed where they are
/// cheapest: the words' share W_e e + b_ih for all teacher-forced words at once, or (decoding) as
/// rows of the embedding table projected once; the context's share W_c c once per sentence when
/// the context is fixed (an RNN encoder-decoder) or once per step (attention). Build one per pass
/// (a training step's forward, a decoding run): it holds the weights prepared for that pass.
class GRUDecoderSteps {
 public:
  GRUDecoderSteps(GRUCell& cell, Embedding& embedding);  ///< both must outlive it
  /// W_e e + b_ih for every id: ids_shape + (3H).
  Tensor word_share(const std::vector<int64_t>& ids, const Shape& ids_shape) const;
  /// W_c c: (N, C) -> (N, 3H).
  Tensor context_share(const Tensor& context) const;
  /// One step from the whole input projection gi = word share + context share: (N, 3H), h (N, H) -> (N, H).
  Tensor step(const Tensor& gi, const Tensor& h) const;
  /// One step for the previous words `ids` (N of them) and the context's share (N, 3H): the words'
  /// share is read from the rows of the projected embedding table, made on the first such call.
  Tensor step(const std::vector<int64_t>& ids, const Tensor& context_share, const Tensor& h) const;

 private:
  struct Parts;
  std::shared_ptr<Parts> parts_;
};

/// One LSTM step, with PyTorch's gate equations and weight layout (gates i, f, g, o).
class LSTMCell : public Module {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size);  ///< weights U(-1/sqrt(H), 1/sqrt(H))
  LSTMState forward(const Tensor& x, const LSTMState& state);  ///< (B, in), state (B, H) each -> the new state
  std::string extra_repr() const override;
  /// (4H, in), (4H, H), (4H), (4H), as torch.nn.LSTMCell.
  ///@{
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  ///@}
  /// Input width and H.
  ///@{
  int64_t input_size, hidden_size;
  ///@}
};

/// What a RecurrentLayer returns.
struct RNNOutput {
  Tensor output;  ///< (B, T, directions*H); zero at padded positions
  Tensor h_n;     ///< (layers*directions, B, H): the state after each sequence's last real step
  Tensor c_n;     ///< LSTM only, same shape as h_n
};

/// Batch-first recurrent layer. With `lengths` (one per batch row, 1..T), steps past a sequence's
/// end leave its state unchanged and output zeros, so padding never changes results at real
/// positions; the reverse direction starts at each sequence's own last token.
class RecurrentLayer : public Module {
 public:
  /// The cell.
  enum class Kind { GRU, LSTM };
  /// As torch.nn.GRU/LSTM with batch_first=true: layers stacked, dropout between layers in
  /// training.
  RecurrentLayer(Kind kind, int64_t input_size, int64_t hidden_size, int64_t num_layers = 1,
                 bool bidirectional = false, double dropout = 0.0);
  /// x (B, T, in); h0 (and c0 for LSTM) (layers*directions, B, H) or undefined for zeros.
  RNNOutput forward(const Tensor& x, const std::vector<int64_t>& lengths = {},
                    const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor());
  /// The layer over the embeddings of `ids` (batch·steps of them, row-major (batch, steps)): the
  /// same function as forward(embedding.forward(ids, {batch, steps}), ...). The first layer's
  /// input projection is applied to the embedding table's rows rather than to every token when
  /// the table has fewer rows than there are ids (V·E·3H multiply-adds instead of B·T·E·3H, in
  /// the backward too), and a GRU reads its rows in place.
  RNNOutput forward(Embedding& embedding, const std::vector<int64_t>& ids, int64_t batch, int64_t steps,
                    const std::vector<int64_t>& lengths = {}, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor());
  std::string extra_repr() const override;

  Kind kind;  ///< GRU or LSTM
  /// Input width, H, and the number of stacked layers.
  ///@{
  int64_t input_size, hidden_size, num_layers;
  ///@}
  bool bidirectional;  ///< a reverse direction too (outputs concatenated)
  double dropout;  ///< between layers, in training

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  std::vector<Weights> weights_;  ///< index layer*directions + direction
  struct Prepared;
  std::vector<std::shared_ptr<Prepared>> prepared_hh_;  ///< W_hh prepared per scope, the same index
  /// The first layer's input: x (B, T, in), or its projections (B, T, gates*H) per direction, or
  /// tables of projected rows looked up by ids (B·T of them).
  struct FirstInput {
    Tensor x;
    std::vector<Tensor> projected;
    const std::vector<int64_t>* ids = nullptr;
    int64_t batch = 0, steps = 0;
  };
  RNNOutput run(const FirstInput& first, const std::vector<int64_t>& lengths, const Tensor& h0, const Tensor& c0);
  RNNOutput forward_projected(const std::vector<Tensor>& first_layer_inputs, const std::vector<int64_t>& lengths,
                              const Tensor& h0, const Tensor& c0);
  RNNOutput forward_table_rows(const std::vector<Tensor>& tables, const std::vector<int64_t>& ids, int64_t batch,
                               int64_t steps, const std::vector<int64_t>& lengths, const Tensor& h0, const Tensor& c0);
};

/// A (multi-layer, optionally bidirectional) GRU.
class GRU : public RecurrentLayer {
 public:
  GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bidirectional = false,  ///< as torch.nn.GRU(batch_first=True)
      double dropout = 0.0)
      : RecurrentLayer(Kind::GRU, input_size, hidden_size, num_layers, bidirectional, dropout) {}
};

/// A (multi-layer, optionally bidirectional) LSTM.
class LSTM : public RecurrentLayer {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bidirectional = false,  ///< as torch.nn.LSTM(batch_first=True)
       double dropout = 0.0)
      : RecurrentLayer(Kind::LSTM, input_size, hidden_size, num_layers, bidirectional, dropout) {}
};

}  // namespace xg::nn
