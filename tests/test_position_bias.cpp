// Relative position biases (nn/position_bias.hpp): ALiBi's slopes and T5's buckets against the
// papers' code, the additive bias in every attention implementation against the composed ops,
// float64 gradient checks (the bias table included), and cached decoding equal to the full decoder
// (the encoder-decoder and the causal, decoder-only stack).
#include <cmath>

#include "helpers.hpp"

using namespace xg;
using namespace xg::nn;
using xgtest::leaf;
using xgtest::padding;
using xgtest::require_close;
using xgtest::require_gradcheck;
using xgtest::seq;
using Inputs = std::vector<Tensor>;

TEST_CASE("ALiBi slopes follow the paper's geometric sequence, also for head counts not a power of two", "[nn][position]") {
  require_close(alibi_slopes(8), {0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625}, 1e-15);
  require_close(alibi_slopes(4), {0.25, 0.0625, 0.015625, 0.00390625}, 1e-15);
  // 6 heads: the 4-head slopes, then the 8-head ones at 0 and 2 (the paper's get_slopes).
  require_close(alibi_slopes(6), {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125}, 1e-15);
  CHECK(alibi_slopes(1) == std::vector<double>{std::pow(2.0, -8.0)});
  CHECK_THROWS_WITH(alibi_slopes(0), Catch::Contains("0 heads"));
  // Queries at the last Tq positions: the one query of a decoding step is the newest position.
  const Tensor b = alibi_bias({0.5, 0.25}, 1, 4, DType::Float64);
  CHECK(b.shape() == Shape{2, 1, 4});
  require_close(b, {-1.5, -1.0, -0.5, 0.0, -0.75, -0.5, -0.25, 0.0}, 1e-15);
  require_close(alibi_bias({1.0}, 3, 3, DType::Float64), {0, -1, -2, -1, 0, -1, -2, -1, 0}, 1e-15);
}

TEST_CASE("T5 buckets equal the reference implementation's", "[nn][position]") {
  // Values from Hugging Face's T5Attention._relative_position_bucket (32 buckets, max_distance 128).
  const std::vector<std::pair<int64_t, int64_t>> bidirectional = {
      {0, 0}, {-1, 1}, {1, 17}, {-7, 7}, {-8, 8}, {-16, 10}, {-40, 12}, {-128, 15}, {-1000, 15}, {1000, 31}, {9, 24}, {20, 26}};
  for (const auto& [relative, bucket] : bidirectional) {
    INFO("bidirectional, relative position " << relative);
    CHECK(t5_bucket(relative, true) == bucket);
  }
  const std::vector<std::pair<int64_t, int64_t>> causal = {{5, 0}, {-5, 5}, {-15, 15}, {-16, 16}, {-32, 21}, {-100, 30}, {-200, 31}};
  for (const auto& [relative, bucket] : causal) {
    INFO("causal, relative position " << relative);
    CHECK(t5_bucket(relative, false) == bucket);
  }
  // The bias module reads its table at those buckets: (H, Tq, Tk), queries last.
  manual_seed(3);
  PositionBias t5(PositionBiasKind::T5, 2, true);
  const Tensor bias = t5.forward(2, 5, DType::Float64);
  CHECK(bias.shape() == Shape{2, 2, 5});
  const std::vector<double> table = t5.table->weight.to_vector(), got = bias.to_vector();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 5; ++j)
        CHECK(got[static_cast<std::size_t>((h * 2 + i) * 5 + j)] ==
              Approx(table[static_cast<std::size_t>(t5_bucket(j - (3 + i), true) * 2 + h)]));
}

TEST_CASE("an additive bias gives the composed attention's values and gradients on every path", "[nn][position][attention]") {
  for (DType dtype : {DType::Float64, DType::Float32}) {
    INFO(dtype_name(dtype));
    const double tol = dtype == DType::Float64 ? 1e-12 : 2e-5;
    const Tensor q0 = seq({2, 3, 5, 4}, 0.31).to(dtype), k0 = seq({2, 3, 7, 4}, 0.47).to(dtype);
    const Tensor v0 = seq({2, 3, 7, 6}, 0.23).to(dtype), bias0 = seq({3, 5, 7}, 0.61, 1.5).to(dtype);
    const Tensor w = seq({2, 3, 5, 6}, 0.19).to(dtype), ww = seq({2, 3, 5, 7}, 0.83).to(dtype);
    const Tensor pad = padding(2, 7, {7, 4}, dtype);
    auto run = [&](bool fused) {
      Tensor q = leaf(q0.clone()), k = leaf(k0.clone()), v = leaf(v0.clone()), bias = leaf(bias0.clone());
      // A (1, H, Tq, Tk) bias broadcasts the same way but is not the fused op's (H, Tq, Tk).
      const Tensor b = fused ? bias : reshape(bias, {1, 3, 5, 7});
      const AttentionOutput a = scaled_dot_product_attention(q, k, v, Tensor(), pad, 0.0, b);
      (sum(a.context * w) + sum(a.weights * ww)).backward();  // both outputs' backward
      return std::vector<std::vector<double>>{a.context.to_vector(), a.weights.to_vector(), q.grad().to_vector(),
                                              k.grad().to_vector(), v.grad().to_vector(), bias.grad().to_vector()};
    };
    const auto fused = run(true), composed = run(false);
    for (std::size_t i = 0; i < fused.size(); ++i) {
      INFO("output " << i << " (context, weights, dq, dk, dv, dbias)");
      require_close(fused[i], composed[i], tol);
    }
  }
}

TEST_CASE("gradcheck: attention with a bias, and an encoder layer with the T5 table and ALiBi", "[nn][position][gradcheck]") {
  require_gradcheck(
      [](const Inputs& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2], Tensor(), Tensor(), 0.0, in[3]).context;
      },
      {leaf(seq({2, 2, 3, 4}, 0.3)), leaf(seq({2, 2, 5, 4}, 0.5)), leaf(seq({2, 2, 5, 3}, 0.7)), leaf(seq({2, 3, 5}, 0.9))});
  for (PositionBiasKind kind : {PositionBiasKind::T5, PositionBiasKind::ALiBi}) {
    INFO(to_string(kind));
    manual_seed(5);
    TransformerConfig c;
    c.d_model = 8, c.num_heads = 2, c.ff_dim = 8, c.dropout = 0.0, c.norm_first = true, c.position_bias = kind;
    auto enc = std::make_shared<TransformerEncoder>(c, 2);
    enc->to(DType::Float64);
    Inputs params;
    for (auto& [name, p] : enc->named_parameters())
      if (name.find("position_bias") != std::string::npos || name.find("layers_0.self_attn.q_proj") != std::string::npos)
        params.push_back(p);
    CHECK(params.size() == (kind == PositionBiasKind::T5 ? 3u : 2u));  // the T5 table: one, shared by both layers
    const Tensor x = seq({2, 4, 8}, 0.37);
    require_gradcheck([&](const Inputs&) { return enc->forward(x); }, params);
  }
}

TEST_CASE("position biases: cached decoding equals the full causal decoder, in float64 and float32", "[nn][position][transformer]") {
  for (PositionBiasKind kind : {PositionBiasKind::ALiBi, PositionBiasKind::T5})
    for (DType dtype : {DType::Float64, DType::Float32}) {
      INFO(to_string(kind) << " " << dtype_name(dtype));
      manual_seed(12);
      TransformerConfig c;
      c.d_model = 8, c.num_heads = 2, c.ff_dim = 16, c.dropout = 0.0, c.norm_first = true, c.position_bias = kind;
      TransformerDecoder dec(c, 2);
      dec.to(dtype);
      dec.eval();
      NoGradGuard no_grad;  // decoding: the key/value cache grows in place, read by the cached-query kernel
      const Tensor memory = seq({2, 4, 8}, 0.3).to(dtype), x = seq({2, 9, 8}, 0.45).to(dtype);
      const Tensor pad = padding(2, 4, {4, 2}, dtype);
      const DecoderOutput full = dec.forward(x, memory, Tensor(), pad, Tensor(), true);
      auto caches = dec.start(memory);
      for (int64_t t = 0; t < 9; ++t) {
        const DecoderOutput one = dec.step(narrow(x, 1, t, 1), caches, pad);
        require_close(one.output, narrow(full.output, 1, t, 1).to_vector(), dtype == DType::Float64 ? 1e-12 : 2e-5);
      }
    }
}

TEST_CASE("a causal (decoder-only) stack: gradcheck, and a prompt then single steps equal its full forward", "[nn][position][transformer]") {
  // Row 1's first three positions are left padding (a shorter prompt): every key a padding query
  // sees is hidden, and its context must be zero rather than NaN, or the rows after it break.
  for (PositionBiasKind kind : {PositionBiasKind::None, PositionBiasKind::ALiBi, PositionBiasKind::T5})
    for (bool rotary : {false, true}) {
      if (rotary && kind != PositionBiasKind::None) continue;
      INFO(to_string(kind) << (rotary ? " rotary" : ""));
      manual_seed(21);
      TransformerConfig c;
      c.d_model = 8, c.num_heads = 2, c.ff_dim = 16, c.dropout = 0.0, c.norm_first = true, c.position_bias = kind;
      c.attention.rotary = rotary;
      CausalTransformer stack(c, 2);
      stack.to(DType::Float64);
      std::vector<double> left(2 * 9, 0.0);
      for (int64_t t = 0; t < 3; ++t) left[static_cast<std::size_t>(9 + t)] = 1.0;
      const Tensor pad = Tensor::from_vector(left, {2, 9}, DType::Float64);
      const Tensor x = seq({2, 9, 8}, 0.45).to(DType::Float64);
      Inputs params;
      for (auto& [name, p] : stack.named_parameters())
        if (name.find("position_bias") != std::string::npos || name.find("layers_1.self_attn.k_proj") != std::string::npos)
          params.push_back(p);
      require_gradcheck([&](const Inputs&) { return stack.forward(narrow(x, 1, 0, 5), narrow(pad, 1, 0, 5)); }, params);
      stack.eval();
      NoGradGuard no_grad;
      const Tensor full = stack.forward(x, pad);
      const std::vector<double> values = full.to_vector();
      for (double v : values) REQUIRE(std::isfinite(v));
      std::vector<KeyValues> caches = stack.start();
      const Tensor prompt = stack.step(narrow(x, 1, 0, 4), caches, narrow(pad, 1, 0, 4));  // 4 positions at once
      require_close(prompt, narrow(full, 1, 0, 4).to_vector(), 1e-12);
      for (int64_t t = 4; t < 9; ++t) {
        const Tensor one = stack.step(narrow(x, 1, t, 1), caches, narrow(pad, 1, 0, t + 1));
        require_close(one, narrow(full, 1, t, 1).to_vector(), 1e-12);
      }
      // Left padding changes nothing a relative (or no) position sees: row 1's real positions
      // equal the same six vectors run alone.
      const Tensor alone = stack.forward(narrow(narrow(x, 0, 1, 1), 1, 3, 6));
      require_close(alone, narrow(narrow(full, 0, 1, 1), 1, 3, 6).to_vector(), 1e-12);
    }
}

TEST_CASE("a bias of the wrong shape, or on a kind that cannot take one, is an error naming both", "[nn][position]") {
  MultiHeadAttention mha(8, 2);
  const Tensor x = seq({1, 3, 8}, 0.2, 1.0, 0.0, DType::Float32);
  CHECK_THROWS_WITH(mha.forward(x, x, x, Tensor(), Tensor(), false, Tensor::empty({2, 3, 4})),
                    Catch::Contains("attn_bias [2, 3, 4]") && Catch::Contains("[2, 3, 3]"));
  AttentionConfig linear;
  linear.kind = AttentionKind::Linear;
  MultiHeadAttention lin(8, 2, 0.0, linear);
  CHECK_THROWS_WITH(lin.forward(x, x, x, Tensor(), Tensor(), false, Tensor::empty({2, 3, 3})), Catch::Contains("linear"));
}
