// nn::AttentionRecorder: a recorded call computes what the unrecorded call computes, its weights
// are softmax(q k^T / sqrt(dh) + bias) over the keys neither mask hides of its own recorded heads (recomputed here in
// double), its context is weights · value, and records come in call order, one thread's only.
#include <cmath>
#include <thread>

#include "helpers.hpp"
#include <xgrad/nn/attention_recorder.hpp>

using namespace xg;
using namespace xg::nn;
using xgtest::require_close;
using xgtest::seq;

namespace {
// softmax over keys of q·k/sqrt(dh) + bias, masked and padded keys left out, for batch row b and head h, in double.
std::vector<double> expected_weights(const AttentionRecord& r, int64_t b, int64_t h) {
  const auto& qs = r.query.shape();
  const int64_t H = qs[1], Tq = qs[2], dh = qs[3], Tk = r.key.shape()[2];
  const auto q = r.query.to_vector(), k = r.key.to_vector();
  const auto bias = r.bias.defined() ? r.bias.to_vector() : std::vector<double>();
  const auto mask = r.mask.defined() ? r.mask.to_vector() : std::vector<double>();
  const auto pad = r.key_padding_mask.defined() ? r.key_padding_mask.to_vector() : std::vector<double>();
  std::vector<double> out;
  for (int64_t i = 0; i < Tq; ++i) {
    std::vector<double> s(static_cast<std::size_t>(Tk));
    double top = -INFINITY;
    for (int64_t j = 0; j < Tk; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < dh; ++d)
        dot += q[static_cast<std::size_t>(((b * H + h) * Tq + i) * dh + d)] * k[static_cast<std::size_t>(((b * H + h) * Tk + j) * dh + d)];
      double v = dot / std::sqrt(static_cast<double>(dh));
      if (!bias.empty()) v += bias[static_cast<std::size_t>((h * Tq + i) * Tk + j)];
      const bool hidden = (!mask.empty() && mask[static_cast<std::size_t>(i * Tk + j)] != 0) ||
                          (!pad.empty() && pad[static_cast<std::size_t>(b * Tk + j)] != 0);
      if (hidden) v = -INFINITY;
      s[static_cast<std::size_t>(j)] = v;
      top = std::max(top, v);
    }
    double total = 0;
    for (auto& v : s) total += (v = std::exp(v - top));
    for (auto v : s) out.push_back(v / total);
  }
  return out;
}

std::vector<double> head_slice(const Tensor& t, int64_t b, int64_t h) { return select(select(t, 0, b), 0, h).to_vector(); }
}  // namespace

TEST_CASE("AttentionRecorder: every layer's heads, the same outputs as unrecorded, weights from its own q and k",
          "[nn][attention][recorder]") {
  manual_seed(11);
  TransformerConfig c;
  c.d_model = 16, c.num_heads = 4, c.ff_dim = 32, c.dropout = 0.0, c.position_bias = PositionBiasKind::ALiBi;
  TransformerEncoder encoder(c, 2);
  TransformerDecoder decoder(c, 2);
  encoder.eval(), decoder.eval();
  encoder.to(DType::Float64), decoder.to(DType::Float64);
  const int64_t B = 2, S = 7, T = 5;
  const Tensor src = seq({B, S, c.d_model}, 0.37, 1.0), tgt = seq({B, T, c.d_model}, 0.53, 1.0, 0.2);
  const Tensor src_pad = xgtest::padding(B, S, {7, 4});
  NoGradGuard no_grad;
  const Tensor memory = encoder.forward(src, src_pad);
  const DecoderOutput out = decoder.forward(tgt, memory, Tensor(), src_pad, Tensor(), true);

  AttentionRecorder recorder;
  const Tensor memory2 = encoder.forward(src, src_pad);
  const DecoderOutput out2 = decoder.forward(tgt, memory2, Tensor(), src_pad, Tensor(), true);
  require_close(memory2, memory.to_vector(), 1e-12);
  require_close(out2.output, out.output.to_vector(), 1e-12);

  // Encoder layer 0, 1, then decoder layer 0 self, cross, layer 1 self, cross.
  const std::vector<const MultiHeadAttention*> order = {
      encoder.layers[0]->self_attn.get(), encoder.layers[1]->self_attn.get(), decoder.layers[0]->self_attn.get(),
      decoder.layers[0]->cross_attn.get(), decoder.layers[1]->self_attn.get(), decoder.layers[1]->cross_attn.get()};
  REQUIRE(recorder.records().size() == order.size());
  for (std::size_t n = 0; n < order.size(); ++n) {
    INFO("record " << n);
    const AttentionRecord& r = recorder.records()[n];
    CHECK(r.module == order[n]);
    REQUIRE(r.weights.defined());
    const bool cross = n == 3 || n == 5, decoder_self = n == 2 || n == 4;
    CHECK(r.weights.shape() == Shape{B, 4, n < 2 ? S : T, n < 2 || cross ? S : T});
    CHECK(r.bias.defined() == !cross);        // ALiBi in self-attention only
    CHECK(r.mask.defined() == decoder_self);  // the causal mask
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < 4; ++h) {
        require_close(head_slice(r.weights, b, h), expected_weights(r, b, h), 1e-12);
        // context = weights · value
        const Tensor w = select(select(r.weights, 0, b), 0, h), v = select(select(r.value, 0, b), 0, h);
        require_close(head_slice(r.context, b, h), matmul(w, v).to_vector(), 1e-12);
      }
    if (cross) require_close(r.weights, out.cross_weights[n == 3 ? 0 : 1].to_vector(), 1e-12);
  }
  recorder.clear();
  CHECK(recorder.records().empty());
}

TEST_CASE("AttentionRecorder: weights also past the memory-efficient length, nesting and threads", "[nn][attention][recorder]") {
  manual_seed(5);
  AttentionConfig config;
  config.memory_efficient_from = 8;  // 12 keys would be tiled, the weights never formed
  MultiHeadAttention mha(8, 2, 0.0, config);
  mha.to(DType::Float64);
  const Tensor x = seq({1, 12, 8}, 0.41, 1.0);
  NoGradGuard no_grad;
  CHECK_FALSE(mha.forward(x, x, x).weights.defined());
  const Tensor unrecorded = mha.forward(x, x, x).context;
  CHECK(AttentionRecorder::active() == nullptr);
  AttentionRecorder outer;
  {
    AttentionRecorder inner;
    CHECK(AttentionRecorder::active() == &inner);
    const AttentionOutput a = mha.forward(x, x, x);
    REQUIRE(a.weights.defined());
    require_close(a.context, unrecorded.to_vector(), 1e-12);
    REQUIRE(inner.records().size() == 1);
    require_close(head_slice(inner.records()[0].weights, 0, 1), expected_weights(inner.records()[0], 0, 1), 1e-12);
    // Another thread's calls are not this thread's records.
    std::thread([&] { mha.forward(x, x, x); }).join();
    CHECK(inner.records().size() == 1);
  }
  CHECK(AttentionRecorder::active() == &outer);
  CHECK(outer.records().empty());
}

TEST_CASE("AttentionRecorder: RNN attention layers leave one record per step, local-p with its centres", "[nn][attention][recorder]") {
  manual_seed(9);
  BahdanauAttention additive(6, 4, 5);
  LuongLocalAttention local(6, 4, 2, 5);
  additive.to(DType::Float64), local.to(DType::Float64);
  const Tensor query = seq({2, 6}, 0.31, 1.0), keys = seq({2, 7, 4}, 0.23, 1.0);
  const Tensor pad = xgtest::padding(2, 7, {7, 5});
  NoGradGuard no_grad;
  AttentionRecorder recorder;
  const AttentionOutput a = additive.forward(query, additive.project_keys(keys), keys, pad);
  const AttentionOutput b = local.forward(query, local.project_keys(keys), keys, pad);
  REQUIRE(recorder.source_records().size() == 2);
  CHECK(recorder.records().empty());
  const SourceAttentionRecord& ra = recorder.source_records()[0];
  const SourceAttentionRecord& rb = recorder.source_records()[1];
  CHECK(ra.module == &additive);
  CHECK(rb.module == &local);
  require_close(ra.weights, a.weights.to_vector(), 0);
  require_close(rb.weights, b.weights.to_vector(), 0);
  // The additive weights are the softmax of the recorded energies over the unpadded keys.
  const auto scores = ra.scores.to_vector(), w = ra.weights.to_vector();
  for (int64_t row = 0; row < 2; ++row) {
    const int64_t n = row == 0 ? 7 : 5;
    double total = 0;
    for (int64_t s = 0; s < n; ++s) total += std::exp(scores[static_cast<std::size_t>(row * 7 + s)]);
    for (int64_t s = 0; s < 7; ++s)
      CHECK(w[static_cast<std::size_t>(row * 7 + s)] ==
            Approx(s < n ? std::exp(scores[static_cast<std::size_t>(row * 7 + s)]) / total : 0.0).margin(1e-14));
  }
  CHECK_FALSE(ra.centres.defined());
  REQUIRE(rb.centres.shape() == Shape{2});
  CHECK(rb.window == 2);
  // Outside [p_t - D, p_t + D] the local weights are zero.
  const auto centres = rb.centres.to_vector(), wl = rb.weights.to_vector();
  for (int64_t row = 0; row < 2; ++row)
    for (int64_t s = 0; s < 7; ++s)
      if (std::abs(static_cast<double>(s) - centres[static_cast<std::size_t>(row)]) > 2.0) CHECK(wl[static_cast<std::size_t>(row * 7 + s)] == 0.0);
}
