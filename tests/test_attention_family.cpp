// The attention family beyond the basics: each kernel against an independent computation (the
// plain softmax kernel with an explicit mask, or loops written out here), float64 gradient
// checks, and the incremental decoder equal to the full one for every attention kind.
#include "helpers.hpp"
#include <xgrad/nn/detail/memory_efficient_kernels.hpp>

using namespace xg;
using namespace xg::nn;
using xgtest::leaf;
using xgtest::padding;
using xgtest::require_close;
using xgtest::require_gradcheck;
using xgtest::seq;
using Inputs = std::vector<Tensor>;

namespace {
std::vector<double> grad_of(const Tensor& t) { return t.grad().to_vector(); }

// Gradients of sum(out * w) with respect to q, k, v, for comparing two kernels' backward passes.
std::vector<std::vector<double>> qkv_grads(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f,
                                           const Tensor& q0, const Tensor& k0, const Tensor& v0, const Tensor& w) {
  Tensor q = leaf(q0.clone()), k = leaf(k0.clone()), v = leaf(v0.clone());
  sum(f(q, k, v) * w).backward();
  return {grad_of(q), grad_of(k), grad_of(v)};
}

void require_same_grads(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b, double tol) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("gradient of input " << i);
    require_close(a[i], b[i], tol);
  }
}

}  // namespace

TEST_CASE("memory-efficient attention equals the plain kernel across tiles, masks and causal offsets", "[nn][attention][flash]") {
  // 70 queries and 150 keys cross the 32-query and 64-key tiles; the padding hides a whole tile.
  const Tensor q = seq({2, 3, 70, 8}, 0.31), k = seq({2, 3, 150, 8}, 0.17, 1.5), v = seq({2, 3, 150, 5}, 0.23);
  const Tensor w = seq({2, 3, 70, 5}, 0.41, 1.0, 0.3);
  const Tensor pad = padding(2, 150, {150, 61});
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    auto plain = [&](const Tensor& a, const Tensor& b, const Tensor& c) {
      Tensor mask;
      if (causal) {  // query i sees keys j <= i + 80
        std::vector<double> m(70 * 150, 0.0);
        for (int i = 0; i < 70; ++i)
          for (int j = i + 81; j < 150; ++j) m[static_cast<std::size_t>(i * 150 + j)] = 1.0;
        mask = Tensor::from_vector(m, {70, 150}, DType::Float64);
      }
      return scaled_dot_product_attention(a, b, c, mask, pad).context;
    };
    auto tiled = [&](const Tensor& a, const Tensor& b, const Tensor& c) { return memory_efficient_attention(a, b, c, pad, causal); };
    require_close(tiled(q, k, v), plain(q, k, v).to_vector(), 1e-12);
    require_same_grads(qkv_grads(tiled, q, k, v, w), qkv_grads(plain, q, k, v, w), 1e-11);
  }
}

TEST_CASE("memory-efficient attention: a fully masked query row gives zeros, gradcheck passes", "[nn][attention][flash][gradcheck]") {
  // Causal with more queries than keys: the first query sees no key.
  const Tensor q = seq({1, 2, 4, 3}, 0.5), k = seq({1, 2, 3, 3}, 0.3), v = seq({1, 2, 3, 2}, 0.7);
  const Tensor out = memory_efficient_attention(q, k, v, Tensor(), true);
  require_close(narrow(out, 2, 0, 1), std::vector<double>(4, 0.0), 0.0);
  const Tensor pad = padding(1, 3, {2});
  for (bool causal : {false, true})
    require_gradcheck([&](const Inputs& x) { return memory_efficient_attention(x[0], x[1], x[2], pad, causal); },
                      {leaf(seq({1, 2, 4, 3}, 0.5)), leaf(seq({1, 2, 3, 3}, 0.3)), leaf(seq({1, 2, 3, 2}, 0.7))});
  CHECK_THROWS_AS(memory_efficient_attention(q, seq({1, 2, 3, 4}), v), ShapeError);
}

TEST_CASE("sliding-window attention equals softmax attention under the band mask", "[nn][attention][window]") {
  const Tensor q = seq({2, 2, 23, 4}, 0.31), k = seq({2, 2, 23, 4}, 0.17, 1.5), v = seq({2, 2, 23, 3}, 0.23);
  const Tensor w = seq({2, 2, 23, 3}, 0.41, 1.0, 0.3);
  const Tensor pad = padding(2, 23, {23, 15});
  for (bool causal : {false, true})
    for (int64_t global : {0, 2}) {
      INFO("causal " << causal << ", global tokens " << global);
      const Tensor band = sliding_window_mask(23, 3, global, causal, DType::Float64);
      auto plain = [&](const Tensor& a, const Tensor& b, const Tensor& c) { return scaled_dot_product_attention(a, b, c, band, pad).context; };
      auto banded = [&](const Tensor& a, const Tensor& b, const Tensor& c) { return sliding_window_attention(a, b, c, 3, global, causal, pad); };
      require_close(banded(q, k, v), plain(q, k, v).to_vector(), 1e-12);
      require_same_grads(qkv_grads(banded, q, k, v, w), qkv_grads(plain, q, k, v, w), 1e-11);
      require_gradcheck([&](const Inputs& x) { return sliding_window_attention(x[0], x[1], x[2], 2, global, causal, padding(1, 7, {6})); },
                        {leaf(seq({1, 2, 7, 3}, 0.5)), leaf(seq({1, 2, 7, 3}, 0.3)), leaf(seq({1, 2, 7, 2}, 0.7))});
    }
  // The band itself: with window 1 and global token 0, query 4 sees keys 0, 3, 4, 5.
  const auto m = sliding_window_mask(7, 1, 1, false, DType::Float64).to_vector();
  CHECK(std::vector<double>(m.begin() + 28, m.begin() + 35) == std::vector<double>{0, 1, 1, 0, 0, 0, 1});
  CHECK_THROWS_AS(sliding_window_attention(q, seq({2, 2, 22, 4}), v, 3), ShapeError);
}

TEST_CASE("linear attention equals its formula written out, causal and not", "[nn][attention][linear]") {
  const int64_t T = 6, d = 3, dv = 2;
  const Tensor q = seq({1, 1, T, d}, 0.5), k = seq({1, 1, T, d}, 0.3, 1.5), v = seq({1, 1, T, dv}, 0.7);
  const Tensor pad = padding(1, T, {5});
  auto phi = [](double x) { return x > 0 ? x + 1 : std::exp(x); };
  const auto qv = q.to_vector(), kv = k.to_vector(), vv = v.to_vector(), mv = pad.to_vector();
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    std::vector<double> expected;
    for (int64_t i = 0; i < T; ++i) {
      std::vector<double> num(dv, 0.0);
      double den = kLinearAttentionEpsilon;
      for (int64_t j = 0; j < T; ++j) {
        if ((causal && j > i) || mv[j] != 0) continue;
        double sim = 0;
        for (int64_t a = 0; a < d; ++a) sim += phi(qv[i * d + a]) * phi(kv[j * d + a]);
        for (int64_t e = 0; e < dv; ++e) num[e] += sim * vv[j * dv + e];
        den += sim;
      }
      for (int64_t e = 0; e < dv; ++e) expected.push_back(num[e] / den);
    }
    require_close(linear_attention(q, k, v, causal, pad), expected, 1e-12);
    require_gradcheck([&](const Inputs& x) { return linear_attention(x[0], x[1], x[2], causal, pad); },
                      {leaf(seq({1, 2, T, d}, 0.5)), leaf(seq({1, 2, T, d}, 0.3, 1.5)), leaf(seq({1, 2, T, dv}, 0.7))});
  }
  // elu + 1 at and around its joint at 0, where its derivative is 1 from both sides.
  require_close(elu_feature_map(tensor({-1, 0, 2}, {3}, DType::Float64)), {std::exp(-1.0), 1, 3}, 1e-15);
  require_gradcheck([](const Inputs& x) { return elu_feature_map(x[0]); }, {leaf(tensor({-1.5, -1e-9, 0, 1e-9, 0.7}, {5}, DType::Float64))});
  // The causal kernel's hand-written backward on its own (features already positive).
  require_gradcheck([](const Inputs& x) { return causal_linear_attention(x[0], x[1], x[2]); },
                    {leaf(seq({2, 1, 5, 3}, 0.5, 0.4, 1.0) + 1.0), leaf(seq({2, 1, 5, 3}, 0.3, 0.4, 1.0) + 1.0),
                     leaf(seq({2, 1, 5, 2}, 0.7))});
}

TEST_CASE("rotary embeddings: hand values, relative positions, gradcheck", "[nn][attention][rotary]") {
  // d = 4: θ = (1, 0.01); position 1 rotates the pairs (x0, x2) by 1 rad and (x1, x3) by 0.01 rad.
  const Tensor x = tensor({0, 0, 0, 0, 1, 2, 3, 4}, {2, 4}, DType::Float64);
  const double c0 = std::cos(1.0), s0 = std::sin(1.0), c1 = std::cos(0.01), s1 = std::sin(0.01);
  require_close(apply_rotary(x), {0, 0, 0, 0, 1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1}, 1e-14);
  // q at m and k at n: the score depends on m - n only.
  const Tensor q = seq({1, 8}, 0.3), k = seq({1, 8}, 0.7);
  auto score = [&](int64_t m, int64_t n) { return sum(apply_rotary(q, m) * apply_rotary(k, n)).item(); };
  CHECK(score(5, 2) == Approx(score(12, 9)).epsilon(1e-12));
  CHECK(score(0, 0) == Approx(sum(q * k).item()).epsilon(1e-12));
  require_gradcheck([](const Inputs& v) { return apply_rotary(v[0], 3); }, {leaf(seq({2, 3, 5, 6}))});
  CHECK_THROWS_AS(apply_rotary(seq({2, 5})), ShapeError);
}

TEST_CASE("grouped-query and multi-query attention equal multi-head attention with shared key/value heads", "[nn][attention][gqa]") {
  const Tensor x = seq({2, 5, 8}, 0.37), pad = padding(2, 5, {5, 3});
  for (int64_t kv_heads : {1, 2}) {
    INFO("kv heads " << kv_heads);
    manual_seed(3);
    AttentionConfig c;
    c.num_kv_heads = kv_heads;
    MultiHeadAttention gqa(8, 4, 0.0, c), mha(8, 4);
    gqa.to(DType::Float64), mha.to(DType::Float64);
    // The standard layer with every group's key/value projection rows copied from its shared head.
    {
      NoGradGuard no_grad;
      for (auto [full, shared] : {std::pair{mha.k_proj, gqa.k_proj}, std::pair{mha.v_proj, gqa.v_proj}}) {
        const auto w = shared->weight.to_vector(), bias = shared->bias.to_vector();
        std::vector<double> fw, fb;
        for (int64_t h = 0; h < 4; ++h) {  // head h's two rows come from kv head h / (4 / kv_heads)
          const auto src = static_cast<std::size_t>(h / (4 / kv_heads) * 2);
          fw.insert(fw.end(), w.begin() + static_cast<std::ptrdiff_t>(src * 8), w.begin() + static_cast<std::ptrdiff_t>((src + 2) * 8));
          fb.insert(fb.end(), bias.begin() + static_cast<std::ptrdiff_t>(src), bias.begin() + static_cast<std::ptrdiff_t>(src + 2));
        }
        full->weight.copy_(Tensor::from_vector(fw, {8, 8}, DType::Float64));
        full->bias.copy_(Tensor::from_vector(fb, {8}, DType::Float64));
      }
      mha.q_proj->weight.copy_(gqa.q_proj->weight), mha.q_proj->bias.copy_(gqa.q_proj->bias);
      mha.out_proj->weight.copy_(gqa.out_proj->weight), mha.out_proj->bias.copy_(gqa.out_proj->bias);
    }
    const AttentionOutput a = gqa.forward(x, x, x, Tensor(), pad), b = mha.forward(x, x, x, Tensor(), pad);
    require_close(a.context, b.context.to_vector(), 1e-13);
    require_close(a.weights, b.weights.to_vector(), 1e-13);
    CHECK(gqa.k_proj->weight.shape() == Shape{2 * kv_heads, 8});
    Inputs inputs{leaf(seq({1, 3, 8}, 0.37))};
    for (auto& p : gqa.parameters()) inputs.push_back(p);
    require_gradcheck([&](const Inputs& v) { return gqa.forward(v[0], v[0], v[0], Tensor(), Tensor(), true).context; }, inputs);
  }
  CHECK_THROWS_AS(MultiHeadAttention(8, 4, 0.0, AttentionConfig{AttentionKind::Standard, 3}), ShapeError);
}

TEST_CASE("Luong local-p attention: window, Gaussian and centre written out, gradcheck", "[nn][attention][local]") {
  manual_seed(5);
  LuongLocalAttention att(4, 6, 2, 5);
  att.to(DType::Float64);
  const int64_t B = 2, S = 9;
  const Tensor query = seq({B, 4}, 0.9), keys = seq({B, S, 6}, 0.23, 1.0, 0.5), pad = padding(B, S, {9, 6});
  const AttentionOutput out = att.forward(query, att.project_keys(keys), keys, pad);
  // Independent computation with plain loops.
  const auto W = att.general->weight.to_vector(), Wp = att.predictor->weight.to_vector(), vp = att.predictor_v->weight.to_vector();
  const auto qv = query.to_vector(), kv = keys.to_vector();
  std::vector<double> expected_w, expected_c;
  for (int64_t b = 0; b < B; ++b) {
    const double length = b == 0 ? 9 : 6;
    double e = 0;
    for (int a = 0; a < 5; ++a) {
      double h = 0;
      for (int i = 0; i < 4; ++i) h += Wp[a * 4 + i] * qv[b * 4 + i];
      e += vp[a] * std::tanh(h);
    }
    const double p = (length - 1) / (1 + std::exp(-e));
    std::vector<double> score(S, -INFINITY);
    double top = -INFINITY;
    for (int64_t s = 0; s < length; ++s) {
      if (std::abs(s - p) > 2) continue;
      double sc = 0;
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 6; ++j) sc += qv[b * 4 + i] * W[i * 6 + j] * kv[(b * S + s) * 6 + j];
      score[s] = sc, top = std::max(top, sc);
    }
    double z = 0;
    for (int64_t s = 0; s < S; ++s) z += std::isinf(score[s]) ? 0 : std::exp(score[s] - top);
    std::vector<double> ctx(6, 0.0);
    for (int64_t s = 0; s < S; ++s) {
      const double a = std::isinf(score[s]) ? 0 : std::exp(score[s] - top) / z * std::exp(-(s - p) * (s - p) / 2.0);  // σ = 1
      expected_w.push_back(a);
      for (int j = 0; j < 6; ++j) ctx[j] += a * kv[(b * S + s) * 6 + j];
    }
    expected_c.insert(expected_c.end(), ctx.begin(), ctx.end());
  }
  require_close(out.weights, expected_w, 1e-12);
  require_close(out.context, expected_c, 1e-12);
  Inputs inputs{leaf(seq({B, 4}, 0.9)), leaf(seq({B, S, 6}, 0.23, 1.0, 0.5))};
  for (auto& p : att.parameters()) inputs.push_back(p);
  require_gradcheck([&](const Inputs& v) { return att.forward(v[0], att.project_keys(v[1]), v[1], pad).context; }, inputs);
  CHECK_THROWS_AS(LuongLocalAttention(4, 6, 0, 5), Error);
}

TEST_CASE("every attention kind: incremental decoding equals the full causal decoder", "[nn][attention][transformer]") {
  struct Kind {
    const char* name;
    AttentionConfig config;
  };
  std::vector<Kind> kinds;
  kinds.push_back({"standard", {}});
  kinds.push_back({"window", {AttentionKind::Window, 0, false, 2, 1}});
  kinds.push_back({"linear", {AttentionKind::Linear}});
  kinds.push_back({"gqa", {AttentionKind::Standard, 1}});
  kinds.push_back({"rotary", {AttentionKind::Standard, 0, true}});
  AttentionConfig tiled;
  tiled.memory_efficient_from = 2;  // the tiled kernel from two keys on
  kinds.push_back({"memory-efficient", tiled});
  for (const auto& kind : kinds)
    for (bool pre : {false, true}) {
      INFO(kind.name << (pre ? " pre-LN" : " post-LN"));
      manual_seed(12);
      TransformerConfig c;
      c.d_model = 8, c.num_heads = 2, c.ff_dim = 16, c.dropout = 0.0, c.norm_first = pre, c.attention = kind.config;
      TransformerDecoder dec(c, 2);
      dec.to(DType::Float64);
      dec.eval();
      const Tensor memory = seq({2, 4, 8}, 0.3), x = seq({2, 6, 8}, 0.45);
      const Tensor pad = padding(2, 4, {4, 2});
      const DecoderOutput full = dec.forward(x, memory, Tensor(), pad, Tensor(), true);
      auto caches = dec.start(memory);
      for (int64_t t = 0; t < 6; ++t) {
        const DecoderOutput one = dec.step(narrow(x, 1, t, 1), caches, pad);
        require_close(one.output, narrow(full.output, 1, t, 1).to_vector(), 1e-12);
      }
      // A future position never changes the past (causality of every kernel).
      const Tensor x2 = concat({narrow(x, 1, 0, 5), seq({2, 1, 8}, 1.3)}, 1);
      require_close(narrow(dec.forward(x2, memory, Tensor(), pad, Tensor(), true).output, 1, 0, 5),
                    narrow(full.output, 1, 0, 5).to_vector(), 1e-12);
    }
}

TEST_CASE("gradcheck: transformer encoder layer with window, linear, rotary and memory-efficient self-attention", "[nn][attention][gradcheck]") {
  std::vector<AttentionConfig> configs(4);
  configs[0].kind = AttentionKind::Window, configs[0].window = 1, configs[0].global_tokens = 1;
  configs[1].kind = AttentionKind::Linear;
  configs[2].rotary = true;
  configs[3].memory_efficient_from = 1;
  for (const auto& ac : configs) {
    manual_seed(4);
    TransformerConfig c;
    c.d_model = 4, c.num_heads = 2, c.ff_dim = 6, c.dropout = 0.0, c.attention = ac;
    TransformerEncoderLayer layer(c);
    layer.to(DType::Float64);
    const Tensor pad = padding(2, 4, {4, 3});
    Inputs inputs{leaf(seq({2, 4, 4}, 0.61))};
    for (auto& p : layer.parameters()) inputs.push_back(p);
    require_gradcheck([&](const Inputs& v) { return layer.forward(v[0], pad); }, inputs);
  }
}

TEST_CASE("memory-efficient tiles: the AVX2 build equals the baseline build", "[nn][attention][flash]") {
  if (!nn::detail::use_avx2_kernels()) return;  // only one build can run on this CPU
  const nn::detail::AttentionDims n{2, 1, 40, 70, 8, 6};
  const auto q = seq({2, 40, 8}, 0.31).to(DType::Float32), k = seq({2, 70, 8}, 0.17).to(DType::Float32),
             v = seq({2, 70, 6}, 0.23).to(DType::Float32), g = seq({2, 40, 6}, 0.41).to(DType::Float32);
  std::vector<float> scratch(static_cast<std::size_t>(nn::detail::scratch_elements(n)));
  std::vector<std::vector<float>> results;
  for (bool avx2 : {false, true}) {
    std::vector<float> out(2 * 40 * 6), lse(2 * 40), dq(2 * 40 * 8, 0.f), dk(2 * 70 * 8, 0.f), dv(2 * 70 * 6, 0.f);
    auto fwd = avx2 ? nn::detail::avx2::forward_range<float> : nn::detail::baseline::forward_range<float>;
    auto bwd = avx2 ? nn::detail::avx2::backward_range<float> : nn::detail::baseline::backward_range<float>;
    fwd(n, true, q.data<float>(), k.data<float>(), v.data<float>(), nullptr, out.data(), lse.data(), 0, 2, scratch.data());
    bwd(n, true, q.data<float>(), k.data<float>(), v.data<float>(), nullptr, out.data(), lse.data(), g.data<float>(), dq.data(),
        dk.data(), dv.data(), 0, 2, scratch.data());
    std::vector<float> all = out;
    for (const auto* part : {&dq, &dk, &dv}) all.insert(all.end(), part->begin(), part->end());
    results.push_back(all);
  }
  REQUIRE(results[0].size() == results[1].size());
  for (std::size_t i = 0; i < results[0].size(); ++i) REQUIRE(std::abs(results[0][i] - results[1][i]) <= 1e-5f * (1 + std::abs(results[0][i])));
}

TEST_CASE("every attention kernel names itself and both shapes for a wrong key-padding mask", "[nn][attention]") {
  const Tensor q = seq({2, 2, 6, 4}), v = seq({2, 2, 6, 3}), bad = padding(2, 5, {5, 4});
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(memory_efficient_attention(q, q, v, bad), Contains("memory_efficient_attention") && Contains("[2, 5]") && Contains("[2, 2, 6, 4]"));
  CHECK_THROWS_WITH(sliding_window_attention(q, q, v, 2, 0, false, bad), Contains("sliding_window_attention") && Contains("[2, 5]"));
  CHECK_THROWS_WITH(linear_attention(q, q, v, false, bad), Contains("linear_attention") && Contains("[2, 5]"));
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, q, v, Tensor(), bad), Contains("scaled_dot_product_attention") && Contains("[2, 5]"));
}
