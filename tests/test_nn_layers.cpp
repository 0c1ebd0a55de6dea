// Layers against PyTorch 1.13 outputs (tests/reference/nn_reference.py fills the parameters of
// both by the same rule), float64 gradient checks of each layer, and the padding and masking
// properties the translation models rely on.
#include <set>

#include <xgrad/core/detail/packed_linear.hpp>
#include "helpers.hpp"
#include <xgrad/nn/detail/recurrent_steps.hpp>
#include <xgrad/nn/detail/fused_attention.hpp>
#include "reference/nn_reference.inc"

using namespace xg;
using xg::detail::PackedLinear;
using xg::nn::detail::gru_step_gathered;
using namespace xg::nn;
using xgtest::leaf;
using xgtest::require_close;
using xgtest::require_gradcheck;
using xgtest::seq;
using Inputs = std::vector<Tensor>;

using xg::nn::detail::FusedAttentionResult;
using xg::nn::detail::cached_query_attention;
using xg::nn::detail::fused_attention;
using xg::nn::detail::fused_attention_heads_last;
namespace {
// The fill rule of nn_reference.py: 0.3 sin(0.37 i + 0.1 len(name)).
void fill_like_reference(Module& m) {
  m.to(DType::Float64);
  for (auto& [name, t] : m.named_parameters()) {
    double* p = t.data<double>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = 0.3 * std::sin(0.37 * static_cast<double>(i) + 0.1 * static_cast<double>(name.size()));
  }
}
// Gradient check of a module's output with respect to its input and every parameter.
void gradcheck_module(Module& m, const std::function<Tensor(const Tensor&)>& fn, Tensor input,
                      GradcheckOptions opt = {}) {
  m.to(DType::Float64);
  Inputs inputs{input};
  for (auto& t : m.parameters()) inputs.push_back(t);
  require_gradcheck([&](const Inputs& v) { return fn(v[0]); }, inputs, opt);
}
const double kTol = 1e-10;
}  // namespace

TEST_CASE("Module registers names hierarchically and propagates train/eval", "[nn][module]") {
  manual_seed(1);
  Sequential seq_model({std::make_shared<Linear>(4, 8), std::make_shared<ReLU>(), std::make_shared<Dropout>(0.5),
                        std::make_shared<Linear>(8, 2, false)});
  std::vector<std::string> names;
  for (auto& [n, _] : seq_model.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "3.weight"});
  CHECK(seq_model.num_parameters() == 4 * 8 + 8 + 16);
  seq_model.eval();
  for (auto& [_, child] : seq_model.named_children()) CHECK_FALSE(child->is_training());
  Sequential outer({std::make_shared<Sequential>(std::vector<std::shared_ptr<UnaryModule>>{std::make_shared<Linear>(2, 2)}),
                    std::make_shared<ReLU>()});
  std::vector<std::string> paths;
  for (auto& [n, m] : outer.named_modules()) paths.push_back(n + ":" + m->type_name());
  CHECK(paths == std::vector<std::string>{"0:Sequential", "0.0:Linear", "1:ReLU"});
  const Tensor x = randn({3, 4});
  CHECK(seq_model.forward(x).to_vector() == seq_model.forward(x).to_vector());  // dropout off in eval
  const std::string s = seq_model.summary();
  CHECK(s.find("Linear(in=4, out=8, bias=true)") != std::string::npos);
  CHECK(s.find("56 params") != std::string::npos);
  CHECK(s.rfind("Sequential()  56 params\n", 0) == 0);  // the root line: its type, no "(root)"
  CHECK_THROWS_AS(seq_model.register_parameter("0", zeros({1})), Error);
}

TEST_CASE("a wrong input width names the layer and the input, not the weight", "[nn][errors]") {
  Linear layer(4, 8);
  CHECK_THROWS_WITH(layer.forward(zeros({5, 3})), Catch::Contains("Linear(in=4, out=8): input [5, 3] has 3 features in its last axis (needs 4)"));
  CHECK_THROWS_WITH(linear(zeros({5, 3}), zeros({8, 4})), Catch::Contains("linear: input [5, 3] has 3 features in its last axis; the weight [8, 4] takes 4"));
}

TEST_CASE("ModuleList and ModuleDict register their modules by index and by name", "[nn][module]") {
  manual_seed(2);
  ModuleList list;
  auto first = list.push_back(std::make_shared<Linear>(3, 4));
  list.push_back(std::make_shared<ReLU>());
  list.push_back(std::make_shared<Linear>(4, 2, false));
  CHECK(list.size() == 3);
  CHECK(list.at<Linear>(0) == first);
  CHECK_THROWS_WITH(list.at<Linear>(1), Catch::Contains("element 1 is a ReLU"));
  CHECK_THROWS_AS(list[3], IndexError);
  std::vector<std::string> names;
  for (auto& [n, _] : list.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight"});
  // A forward that is not a chain: the list's layers used by hand.
  Tensor x = randn({5, 3}), y = x;
  for (const auto& m : list) y = std::dynamic_pointer_cast<UnaryModule>(m)->forward(y);
  CHECK(y.shape() == Shape{5, 2});
  list.eval();
  for (const auto& m : list) CHECK_FALSE(m->is_training());

  ModuleDict heads;
  heads.insert("french", std::make_shared<Linear>(4, 6));
  heads.insert("german", std::make_shared<Linear>(4, 7));
  CHECK(heads.keys() == std::vector<std::string>{"french", "german"});
  CHECK(heads.contains("german"));
  CHECK_FALSE(heads.contains("dutch"));
  CHECK(std::dynamic_pointer_cast<Linear>(heads["german"])->out_features == 7);
  CHECK_THROWS_WITH(heads["dutch"], Catch::Contains("no module 'dutch' (has: french, german)"));
  CHECK_THROWS_WITH(heads.insert("french", std::make_shared<ReLU>()), Catch::Contains("already registered"));
  CHECK(heads.named_parameters()[0].first == "french.weight");
}

TEST_CASE("Linear and Embedding follow PyTorch's default initialisation ranges", "[nn][init]") {
  manual_seed(3);
  Linear lin(100, 50);
  const auto w = lin.weight.to_vector();
  double mx = 0;
  for (double v : w) mx = std::max(mx, std::abs(v));
  CHECK(mx <= 0.1);
  CHECK(mx > 0.09);
  Embedding emb(10, 4, 0);
  for (int j = 0; j < 4; ++j) CHECK(emb.weight.to_vector()[j] == 0.0);
}

TEST_CASE("GRU and LSTM match PyTorch (2 layers bidirectional)", "[nn][rnn]") {
  for (auto kind : {RecurrentLayer::Kind::GRU, RecurrentLayer::Kind::LSTM}) {
    RecurrentLayer rnn(kind, 3, 4, 2, true);
    fill_like_reference(rnn);
    const Tensor x = seq({2, 3, 3}, 0.7, 1.0);
    const RNNOutput full = rnn.forward(x);
    const RNNOutput packed = rnn.forward(x, {3, 2});
    if (kind == RecurrentLayer::Kind::GRU) {
      require_close(full.output, kGRUOutput, kTol);
      require_close(full.h_n, kGRUHn, kTol);
      require_close(packed.output, kGRUPackedOutput, kTol);
      require_close(packed.h_n, kGRUPackedHn, kTol);
    } else {
      require_close(full.output, kLSTMOutput, kTol);
      require_close(full.h_n, kLSTMHn, kTol);
      require_close(full.c_n, kLSTMCn, kTol);
      require_close(packed.output, kLSTMPackedOutput, kTol);
      require_close(packed.h_n, kLSTMPackedHn, kTol);
    }
  }
}

TEST_CASE("RNN padding: real positions and final states equal the unpadded run", "[nn][rnn]") {
  manual_seed(5);
  GRU rnn(3, 5, 1, true);
  rnn.to(DType::Float64);
  const Tensor x = seq({1, 4, 3}, 0.3);
  // The same sequence padded with junk to length 7.
  const Tensor padded = concat({x, seq({1, 3, 3}, 1.9, 7.0)}, 1);
  const RNNOutput a = rnn.forward(x), b = rnn.forward(padded, {4});
  require_close(narrow(b.output, 1, 0, 4), a.output.to_vector(), 1e-12);
  require_close(b.h_n, a.h_n.to_vector(), 1e-12);
  require_close(narrow(b.output, 1, 4, 3), std::vector<double>(3 * 10, 0.0));
}

TEST_CASE("gru_step_gathered reads its input from table rows and an addend: equal to gathering first",
          "[nn][rnn][gradcheck]") {
  // ids repeat (two sentences with the same previous word): their rows' gradients add up.
  const std::vector<int64_t> ids{3, 0, 3};
  const Tensor table = leaf(seq({5, 9}, 0.3)), addend = leaf(seq({3, 9}, 0.7, 1.0, 0.2)), h = leaf(seq({3, 3}, 0.5));
  const Tensor w = leaf(seq({9, 3}, 0.9, 0.5)), b = leaf(seq({9}, 1.1, 0.5));
  for (const bool with_addend : {true, false}) {
    INFO("addend " << with_addend);
    const auto fused = [&](const Inputs& v) {
      return gru_step_gathered(v[0], ids, with_addend ? v[1] : Tensor(), v[2], PackedLinear(v[3], v[4]));
    };
    const auto gathered_first = [&](const Inputs& v) {
      const Tensor gi = index_select(v[0], 0, ids);
      return gru_step(with_addend ? gi + v[1] : gi, v[2], v[3], v[4]);
    };
    const Inputs in{table, addend, h, w, b};
    for (const Tensor& t : in) const_cast<Tensor&>(t).zero_grad();  // gradcheck of the last round left some
    const Tensor r = seq({3, 3}, 1.3);
    sum(fused(in) * r).backward();
    std::vector<std::vector<double>> grads;
    for (const Tensor& t : in) grads.push_back(t.grad().defined() ? t.grad().to_vector() : std::vector<double>());
    for (const Tensor& t : in) const_cast<Tensor&>(t).zero_grad();
    sum(gathered_first(in) * r).backward();
    for (std::size_t i = 0; i < in.size(); ++i) {
      INFO("input " << i);
      require_close(grads[i], in[i].grad().defined() ? in[i].grad().to_vector() : std::vector<double>(), 1e-12);
    }
    for (const Tensor& t : in) const_cast<Tensor&>(t).zero_grad();
    require_close(fused(in), gathered_first(in).to_vector(), 1e-12);
    require_gradcheck(fused, in);
  }
  // Float32 with the packed kernel (the decoders' case) against the same gathered first.
  const Tensor t32 = seq({5, 48}, 0.3, 1.0, 0.0, DType::Float32), a32 = seq({3, 48}, 0.7, 1.0, 0.2, DType::Float32);
  const Tensor h32 = seq({3, 16}, 0.5, 1.0, 0.0, DType::Float32), w32 = seq({48, 16}, 0.9, 0.5, 0.0, DType::Float32);
  require_close(gru_step_gathered(t32, ids, a32, h32, PackedLinear(w32)),
                gru_step(index_select(t32, 0, ids) + a32, h32, w32, Tensor()).to_vector(), 1e-5);
  // Errors name what is wrong.
  CHECK_THROWS_WITH(gru_step_gathered(table, {3, 0, 5}, addend, h, PackedLinear(w, b)),
                    Catch::Matchers::Contains("id 5") && Catch::Matchers::Contains("5 rows"));
  CHECK_THROWS_WITH(gru_step_gathered(seq({5, 8}), ids, addend, h, PackedLinear(w, b)),
                    Catch::Matchers::Contains("[5, 8]"));
  CHECK_THROWS_WITH(gru_step_gathered(table, {3, 0}, addend, h, PackedLinear(w, b)), Catch::Matchers::Contains("2 ids"));
}

TEST_CASE("a recurrent layer over an embedding equals the layer over the embedded input, values and gradients",
          "[nn][rnn]") {
  // 3 sentences of 4 ids, two padded; GRU one and both directions, LSTM; float64. A table of 5
  // rows (fewer than the 12 ids: its projected rows are read) and of 20 (every id projected).
  const std::vector<int64_t> ids{1, 4, 4, 0, 2, 2, 3, 1, 0, 3, 1, 1}, lengths{4, 2, 3};
  for (const int64_t rows : {5, 20})
    for (const auto& [lstm, bidirectional] : {std::pair<bool, bool>{false, false}, {false, true}, {true, true}}) {
      INFO("table rows " << rows << ", lstm " << lstm << ", bidirectional " << bidirectional);
      manual_seed(3);
      std::shared_ptr<RecurrentLayer> rnn;
      if (lstm) rnn = std::make_shared<LSTM>(2, 3, 1, bidirectional);
      else rnn = std::make_shared<GRU>(2, 3, 1, bidirectional);
      Embedding embedding(rows, 2, 0);
      rnn->to(DType::Float64);
      embedding.to(DType::Float64);
      const Tensor r = seq({3, 4, 3 * (bidirectional ? 2 : 1)}, 1.3);
      const auto grads = [&] {
        std::vector<std::vector<double>> g;
        for (const Tensor& p : rnn->parameters()) g.push_back(p.grad().to_vector());
        g.push_back(embedding.weight.grad().to_vector());
        rnn->zero_grad(), embedding.zero_grad();
        return g;
      };
      const RNNOutput a = rnn->forward(embedding, ids, 3, 4, lengths);
      sum(a.output * r).backward();
      const auto grads_a = grads();
      const RNNOutput b = rnn->forward(embedding.forward(ids, {3, 4}), lengths);
      sum(b.output * r).backward();
      const auto grads_b = grads();
      require_close(a.output, b.output.to_vector(), 1e-12);
      require_close(a.h_n, b.h_n.to_vector(), 1e-12);
      for (std::size_t i = 0; i < grads_a.size(); ++i) {
        INFO("gradient " << i);
        require_close(grads_a[i], grads_b[i], 1e-12);
      }
      for (int64_t j = 0; j < 2; ++j) CHECK(grads_a.back()[j] == 0.0);  // the padding row learns nothing
    }
  GRU gru(2, 3);
  Embedding five(5, 2), wide(5, 3);
  CHECK_THROWS_WITH(gru.forward(five, {1, 7}, 1, 2), Catch::Matchers::Contains("7") && Catch::Matchers::Contains("5"));
  CHECK_THROWS_WITH(gru.forward(five, {1, 2, 3}, 1, 2), Catch::Matchers::Contains("3 ids for 1 sentences of 2 steps"));
  CHECK_THROWS_WITH(gru.forward(wide, {1, 2}, 1, 2), Catch::Matchers::Contains("embeddings of width 3 for an input of 2"));
}

TEST_CASE("GRUDecoderSteps: every way of taking a step equals GRUCell on [embedding, context]", "[nn][rnn][gradcheck]") {
  manual_seed(5);
  GRUCell cell(2 + 3, 4);
  Embedding embedding(6, 2, 0);
  cell.to(DType::Float64);
  embedding.to(DType::Float64);
  const std::vector<int64_t> words{3, 0, 5};
  const Tensor context = leaf(seq({3, 3}, 0.6)), h = leaf(seq({3, 4}, 0.4));
  const Tensor expected = cell.forward(concat({embedding.forward(words, {3}), context}, 1), h);
  const GRUDecoderSteps steps(cell, embedding);
  // The words' and the context's shares added up, or the words read from the projected table.
  require_close(steps.step(steps.word_share(words, {3}) + steps.context_share(context), h), expected.to_vector(), 1e-13);
  require_close(steps.step(words, steps.context_share(context), h), expected.to_vector(), 1e-13);
  require_gradcheck([&](const Inputs& v) { return steps.step(words, steps.context_share(v[0]), v[1]); }, {context, h});
  require_gradcheck(
      [&](const Inputs&) {
        const GRUDecoderSteps fresh(cell, embedding);  // the weights as perturbed now
        // (no padding id here: the padding row's held-back gradient is not the derivative)
        return fresh.step({3, 1, 5}, fresh.context_share(context), h);
      },
                    {cell.weight_ih, cell.weight_hh, cell.bias_ih, embedding.weight});
  CHECK_THROWS_WITH(GRUDecoderSteps(cell, *std::make_shared<Embedding>(6, 5)),
                    Catch::Matchers::Contains("input 5") && Catch::Matchers::Contains("width 5"));
}

TEST_CASE("fused GRU and LSTM steps equal their composed forms and pass gradcheck", "[nn][rnn][gradcheck]") {
  const Tensor gi = leaf(seq({2, 9}, 0.3)), h = leaf(seq({2, 3}, 0.5)), w = leaf(seq({9, 3}, 0.9, 0.5)),
               b = leaf(seq({9}, 1.1, 0.5));
  require_close(gru_step(gi, h, w, b), gru_step_composed(gi, h, w, b).to_vector(), 1e-12);
  require_gradcheck([](const Inputs& v) { return gru_step(v[0], v[1], v[2], v[3]); }, {gi, h, w, b});
  const Tensor gi4 = leaf(seq({2, 12}, 0.3)), c = leaf(seq({2, 3}, 0.8)), w4 = leaf(seq({12, 3}, 0.9, 0.5)),
               b4 = leaf(seq({12}, 1.1, 0.5));
  require_gradcheck([](const Inputs& v) {
    LSTMState s = lstm_step(v[0], {v[1], v[2]}, v[3], v[4]);
    return concat({s.h, s.c * 0.5}, 1);
  }, {gi4, h, c, w4, b4});
  // Composed LSTM reference: i, f, g, o gates.
  const Tensor gates = gi4 + linear(h, w4, b4);
  auto parts = split(gates, {3, 3, 3, 3}, 1);
  const Tensor c2 = sigmoid(parts[1]) * c + sigmoid(parts[0]) * tanh(parts[2]);
  const LSTMState s = lstm_step(gi4, {h, c}, w4, b4);
  require_close(s.c, c2.to_vector(), 1e-12);
  require_close(s.h, (sigmoid(parts[3]) * tanh(c2)).to_vector(), 1e-12);
}

TEST_CASE("gradcheck: GRU and LSTM layers with padding", "[nn][rnn][gradcheck]") {
  manual_seed(2);
  GRU gru(2, 3, 2, true);
  gradcheck_module(gru, [&](const Tensor& x) { return gru.forward(x, {3, 2}).output; }, leaf(seq({2, 3, 2})));
  LSTM lstm(2, 3, 1, true);
  gradcheck_module(lstm, [&](const Tensor& x) {
    RNNOutput o = lstm.forward(x, {2, 3});
    return concat({flatten(o.output), flatten(o.c_n)}, 0);
  }, leaf(seq({2, 3, 2})));
  GRUCell cell(2, 3);
  const Tensor h0 = leaf(seq({2, 3}, 0.2));
  cell.to(DType::Float64);
  require_gradcheck([&](const Inputs& v) { return cell.forward(v[0], v[1]); },
                    {leaf(seq({2, 2})), h0, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh});
}

TEST_CASE("Bahdanau attention matches the formula computed by PyTorch", "[nn][attention]") {
  BahdanauAttention attn(4, 6, 5);
  fill_like_reference(attn);
  const Tensor s = seq({2, 4}, 0.7, 1.0), h = seq({2, 3, 6}, 0.4, 1.0, 0.1);
  const Tensor mask = tensor({0, 0, 0, 0, 0, 1}, {2, 3}, DType::Float64);
  const AttentionOutput a = attn.forward(s, attn.project_keys(h), h, mask);
  require_close(a.weights, kBahdanauWeights, kTol);
  require_close(a.context, kBahdanauContext, kTol);
  CHECK(a.weights.to_vector()[5] == 0.0);  // the padded key gets exactly zero weight
}

TEST_CASE("gradcheck: Bahdanau and Luong attention with masks", "[nn][attention][gradcheck]") {
  manual_seed(4);
  const Tensor mask = tensor({0, 0, 1, 0, 0, 0}, {2, 3}, DType::Float64);
  BahdanauAttention bahdanau(4, 6, 5);
  bahdanau.to(DType::Float64);
  const Tensor keys = leaf(seq({2, 3, 6}, 0.4));
  gradcheck_module(bahdanau, [&](const Tensor& q) {
    AttentionOutput a = bahdanau.forward(q, bahdanau.project_keys(keys), keys, mask);
    return concat({a.context, a.weights}, 1);
  }, leaf(seq({2, 4})));
  for (auto score : {LuongAttention::Score::Dot, LuongAttention::Score::General, LuongAttention::Score::Concat}) {
    LuongAttention luong(score, 6, 6, 5);
    gradcheck_module(luong, [&](const Tensor& q) {
      AttentionOutput a = luong.forward(q, keys, mask);
      return concat({a.context, a.weights}, 1);
    }, leaf(seq({2, 6}, 0.3)));
  }
}

TEST_CASE("MultiHeadAttention matches PyTorch with a key padding mask", "[nn][attention]") {
  MultiHeadAttention mha(8, 2);
  fill_like_reference(mha);
  const Tensor q = seq({2, 3, 8}, 0.7, 1.0), kv = seq({2, 4, 8}, 0.45, 1.0, 0.3);
  const Tensor pad = tensor({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4}, DType::Float64);
  const AttentionOutput a = mha.forward(q, kv, kv, Tensor(), pad);
  require_close(a.context, kMHAOutput, kTol);
  require_close(a.weights, kMHAWeights, kTol);
}

TEST_CASE("attention masks: zero weight on padding and causal independence of the future", "[nn][attention]") {
  manual_seed(6);
  MultiHeadAttention mha(8, 4);
  mha.to(DType::Float64);
  Tensor x = seq({2, 5, 8}, 0.3);
  const Tensor pad = tensor({0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, {2, 5}, DType::Float64);
  const AttentionOutput a = mha.forward(x, x, x, causal_mask(5, DType::Float64), pad);
  const auto w = a.weights.to_vector();  // (2, 4, 5, 5)
  for (int b = 0; b < 2; ++b)
    for (int h = 0; h < 4; ++h)
      for (int t = 0; t < 5; ++t) {
        double total = 0;
        for (int k = 0; k < 5; ++k) {
          const double v = w[((b * 4 + h) * 5 + t) * 5 + k];
          if (k > t || (b == 1 && k >= 3)) CHECK(v == 0.0);
          total += v;
        }
        CHECK(total == Approx(1.0).epsilon(1e-12));
      }
  // Changing positions after t leaves outputs at <= t unchanged under the causal mask.
  Tensor y = x.clone();
  for (int j = 3 * 8; j < 5 * 8; ++j) y.data<double>()[j] += 10.0;
  const Tensor out_x = mha.forward(x, x, x, causal_mask(5, DType::Float64)).context;
  const Tensor out_y = mha.forward(y, y, y, causal_mask(5, DType::Float64)).context;
  require_close(narrow(out_y, 1, 0, 3), narrow(out_x, 1, 0, 3).to_vector(), 1e-12);
}

TEST_CASE("gradcheck: scaled dot-product and multi-head attention with masks", "[nn][attention][gradcheck]") {
  const Tensor q = leaf(seq({2, 3, 4})), k = leaf(seq({2, 3, 4}, 0.3)), v = leaf(seq({2, 3, 4}, 0.9));
  const Tensor pad = tensor({0, 0, 1, 0, 0, 0}, {2, 3}, DType::Float64);
  require_gradcheck([&](const Inputs& x) {
    AttentionOutput a = scaled_dot_product_attention(x[0], x[1], x[2], causal_mask(3, DType::Float64), pad);
    return concat({flatten(a.context), flatten(a.weights)}, 0);
  }, {q, k, v});
  manual_seed(8);
  MultiHeadAttention mha(4, 2);
  const Tensor mem = leaf(seq({2, 3, 4}, 0.6));
  gradcheck_module(mha, [&](const Tensor& x) { return mha.forward(x, mem, mem, Tensor(), pad).context; },
                   leaf(seq({2, 2, 4}, 0.35)));
}

TEST_CASE("fused attention equals the composed ops: values, both outputs' gradients, dropout, masks", "[nn][attention]") {
  // The composed reference: scores, masks, softmax, dropout multipliers and the weighted sum as
  // separate ops. B·H·Tq·Tk·max(d, dv) = 37,440 > 32,768, so with 2 or more threads the heads
  // run in parallel; batch row 3 has only padding keys (zero weights, zero context).
  const int64_t B = 4, H = 8, Tq = 13, Tk = 15, d = 5, dv = 6;
  const Tensor q = leaf(seq({B, H, Tq, d}, 0.11)), k = leaf(seq({B, H, Tk, d}, 0.27)),
               v = leaf(seq({B, H, Tk, dv}, 0.53));
  std::vector<double> pad(B * Tk, 0.0);
  for (int64_t j = 7; j < Tk; ++j) pad[j] = 1.0;            // row 0: the last 4 keys are padding
  for (int64_t j = 0; j < Tk; ++j) pad[3 * Tk + j] = 1.0;  // row 3: every key is padding
  const Tensor padding = tensor(pad, {B, Tk}, DType::Float64);
  std::vector<double> am(Tq * Tk, 0.0);
  for (int64_t i = 0; i < Tq; ++i)
    for (int64_t j = i + 3; j < Tk; ++j) am[i * Tk + j] = 1.0;  // causal, aligned to the end
  const Tensor attn_mask = tensor(am, {Tq, Tk}, DType::Float64);
  std::vector<double> kv(B * H * Tq * Tk);
  for (std::size_t i = 0; i < kv.size(); ++i) kv[i] = (i * 7) % 5 == 0 ? 0.0 : 1.25;  // p = 0.2
  const Tensor keep = tensor(kv, {B, H, Tq, Tk}, DType::Float64);
  auto composed = [&](const Inputs& x, bool with_keep) {
    Tensor s = matmul(x[0], transpose(x[1], -1, -2)) * (1.0 / std::sqrt(double(d)));
    s = masked_fill(masked_fill(s, attn_mask, -INFINITY), reshape(padding, {B, 1, 1, Tk}), -INFINITY);
    const Tensor w = softmax(s, -1);
    return AttentionOutput{matmul(with_keep ? w * keep : w, x[2]), w};
  };
  // The suite runs on one thread (OMP_NUM_THREADS=1); two make the heads run in parallel.
  const int saved_threads = num_threads();
  for (const int threads : {1, 2})
  for (bool with_keep : {false, true}) {
    set_num_threads(threads);
    const FusedAttentionResult f = fused_attention(q, k, v, attn_mask, padding, with_keep ? keep : Tensor());
    const AttentionOutput c = composed({q, k, v}, with_keep);
    require_close(f.context, c.context.to_vector(), 1e-13);
    require_close(f.weights, c.weights.to_vector(), 1e-13);
    CHECK(sum(abs(narrow(f.context, 0, 3, 1))).item() == 0.0);
    // One backward through a mix of both outputs, against the same through the composed ops.
    const Tensor gc = seq({B, H, Tq, dv}, 0.7), gw = seq({B, H, Tq, Tk}, 0.2);
    auto grads = [&](const Tensor& ctx, const Tensor& w) {
      for (const Tensor* t : {&q, &k, &v}) const_cast<Tensor&>(*t).zero_grad();
      (sum(ctx * gc) + sum(w * gw)).backward();
      return std::vector<std::vector<double>>{q.grad().to_vector(), k.grad().to_vector(), v.grad().to_vector()};
    };
    const auto fused_grads = grads(f.context, f.weights), composed_grads = grads(c.context, c.weights);
    for (int i = 0; i < 3; ++i) xgtest::require_close(fused_grads[i], composed_grads[i], 1e-12);
  }
  set_num_threads(saved_threads);
  require_gradcheck([&](const Inputs& x) {
    const FusedAttentionResult f = fused_attention(x[0], x[1], x[2], narrow(attn_mask, 0, 0, 4), padding, narrow(keep, 2, 0, 4));
    return concat({flatten(f.context), flatten(f.weights)}, 0);
  }, {leaf(seq({B, H, 4, d}, 0.4)), leaf(seq({B, H, Tk, d}, 0.8)), leaf(seq({B, H, Tk, dv}, 0.3))});
  // With dropout, scaled_dot_product_attention draws the same multipliers as xg::dropout would
  // on the composed weights, so a seed gives the same result as before the fusion.
  manual_seed(21);
  const AttentionOutput fused_dropped = scaled_dot_product_attention(q, k, v, attn_mask, padding, 0.3);
  manual_seed(21);
  Tensor s = masked_fill(matmul(q, transpose(k, -1, -2)) * (1.0 / std::sqrt(double(d))), attn_mask, -INFINITY);
  s = masked_fill(s, reshape(padding, {B, 1, 1, Tk}), -INFINITY);
  require_close(fused_dropped.context, matmul(xg::dropout(softmax(s, -1), 0.3, true), v).to_vector(), 1e-13);
  CHECK_THROWS_WITH(dropout_multipliers({2}, 1.0, DType::Float64), Catch::Matchers::Contains("p=1 is outside [0, 1)"));
  CHECK_THROWS_WITH(fused_attention(q, k, v, tensor(am, {Tk, Tq}, DType::Float64), Tensor(), Tensor()),
                    Catch::Matchers::Contains("attn_mask [15, 13]") && Catch::Matchers::Contains("needs [13, 15]"));
  CHECK_THROWS_WITH(fused_attention(q, narrow(k, 1, 0, 2), v, Tensor(), Tensor(), Tensor()),
                    Catch::Matchers::Contains("leading axes differ"));
}

TEST_CASE("fused attention with the heads side by side equals it with the heads as an axis", "[nn][attention]") {
  // (B, T, H·d) tensors against the same values permuted to (B, H, T, d): context, weights and
  // the gradients of q, k and v, with a causal mask, key padding (row 2 all padding) and dropout
  // multipliers; on 1 and 2 threads (B·H·Tq·Tk·dv = 46,800: the heads run in parallel on 2).
  const int64_t B = 3, H = 4, Tq = 10, Tk = 13, d = 5, dv = 6;
  const Tensor q = leaf(seq({B, Tq, H * d}, 0.11)), k = leaf(seq({B, Tk, H * d}, 0.27)),
               v = leaf(seq({B, Tk, H * dv}, 0.53));
  std::vector<double> pad(B * Tk, 0.0);
  for (int64_t j = 9; j < Tk; ++j) pad[j] = 1.0;
  for (int64_t j = 0; j < Tk; ++j) pad[2 * Tk + j] = 1.0;
  const Tensor padding = tensor(pad, {B, Tk}, DType::Float64);
  std::vector<double> kv(B * H * Tq * Tk);
  for (std::size_t i = 0; i < kv.size(); ++i) kv[i] = (i * 5) % 7 == 0 ? 0.0 : 1.0 / 0.8;
  const Tensor keep = tensor(kv, {B, H, Tq, Tk}, DType::Float64);
  std::vector<double> am(Tq * Tk, 0.0);
  for (int64_t i = 0; i < Tq; ++i)
    for (int64_t j = i + (Tk - Tq) + 1; j < Tk; ++j) am[i * Tk + j] = 1.0;  // causal, aligned to the end
  const Tensor mask = tensor(am, {Tq, Tk}, DType::Float64);
  const auto heads_axis = [&](const Tensor& x) { return permute(reshape(x, {B, x.shape()[1], H, -1}), {0, 2, 1, 3}); };
  const Tensor gc = seq({B, Tq, H * dv}, 0.7), gw = seq({B, H, Tq, Tk}, 0.2);
  const int saved_threads = num_threads();
  for (const int threads : {1, 2})
    for (const bool with_keep : {false, true}) {
      set_num_threads(threads);
      const Tensor kp = with_keep ? keep : Tensor();
      const FusedAttentionResult last = fused_attention_heads_last(q, k, v, H, mask, padding, kp);
      const FusedAttentionResult axis = fused_attention(heads_axis(q), heads_axis(k), heads_axis(v), mask, padding, kp);
      const Tensor axis_context = reshape(permute(axis.context, {0, 2, 1, 3}), {B, Tq, H * dv});
      REQUIRE(last.context.shape() == Shape{B, Tq, H * dv});
      REQUIRE(last.weights.shape() == Shape{B, H, Tq, Tk});
      require_close(last.context, axis_context.to_vector(), 1e-14);
      require_close(last.weights, axis.weights.to_vector(), 1e-14);
      CHECK(sum(abs(narrow(last.context, 0, 2, 1))).item() == 0.0);
      auto grads = [&](const Tensor& ctx, const Tensor& w) {
        for (const Tensor* t : {&q, &k, &v}) const_cast<Tensor&>(*t).zero_grad();
        (sum(ctx * gc) + sum(w * gw)).backward();
        return std::vector<std::vector<double>>{q.grad().to_vector(), k.grad().to_vector(), v.grad().to_vector()};
      };
      const auto g_last = grads(last.context, last.weights), g_axis = grads(axis_context, axis.weights);
      for (int i = 0; i < 3; ++i) xgtest::require_close(g_last[i], g_axis[i], 1e-13);
    }
  set_num_threads(saved_threads);
  require_gradcheck([&](const Inputs& x) {
    const FusedAttentionResult f = fused_attention_heads_last(x[0], x[1], x[2], 2, Tensor(), narrow(padding, 0, 0, 2),
                                                              Tensor());
    return concat({flatten(f.context), flatten(f.weights)}, 0);
  }, {leaf(seq({2, 3, 4}, 0.4)), leaf(seq({2, Tk, 4}, 0.8)), leaf(seq({2, Tk, 6}, 0.3))});
  CHECK_THROWS_WITH(fused_attention_heads_last(q, k, v, 3, Tensor(), Tensor(), Tensor()),
                    Catch::Matchers::Contains("3 heads do not divide the last axis"));
  CHECK_THROWS_WITH(fused_attention_heads_last(q, narrow(k, 0, 0, 2), v, H, Tensor(), Tensor(), Tensor()),
                    Catch::Matchers::Contains("batch sizes differ"));
  CHECK_THROWS_WITH(fused_attention_heads_last(q, k, v, 0, Tensor(), Tensor(), Tensor()),
                    Catch::Matchers::Contains("0 heads"));
  CHECK_THROWS_WITH(fused_attention_heads_last(q, k, v, H, Tensor(), Tensor(), narrow(keep, 0, 0, 2)),
                    Catch::Matchers::Contains("dropout multipliers [2, 4, 10, 13]"));
}

TEST_CASE("MultiHeadAttention reads its projections in place and equals attending through KeyValues",
          "[nn][attention]") {
  // forward() takes fused_attention_heads_last for the standard kernel; attend() with projected
  // KeyValues is the (B, H, T, d) path. Same values and parameter gradients, with masks, causal
  // self-attention and dropout (the same multipliers for a seed).
  manual_seed(4);
  MultiHeadAttention mha(8, 2, 0.25);
  mha.to(DType::Float64);
  const Tensor x = seq({2, 5, 8}, 0.3, 1.0), mem = seq({2, 7, 8}, 0.6, 1.0);
  const Tensor pad = tensor({0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0}, {2, 7}, DType::Float64);
  struct Case {
    bool self, causal, train;
  };
  for (const Case c : {Case{true, true, false}, Case{false, false, false}, Case{false, false, true}, Case{true, true, true}}) {
    mha.train(c.train);
    const Tensor& kv = c.self ? x : mem;
    const Tensor padding = c.self ? Tensor() : pad;
    auto run = [&](bool in_place) {
      mha.zero_grad();
      manual_seed(99);
      const AttentionOutput a = in_place ? mha.forward(x, kv, kv, Tensor(), padding, c.causal)
                                         : mha.attend(x, mha.project_key_values(kv, kv), Tensor(), padding, c.causal);
      (sum(a.context * seq({2, 5, 8}, 0.9)) + sum(a.weights * seq({2, 2, 5, kv.shape()[1]}, 0.4))).backward();
      std::vector<std::vector<double>> out{a.context.to_vector(), a.weights.to_vector()};
      for (auto& [name, p] : mha.named_parameters()) out.push_back(p.grad().to_vector());
      return out;
    };
    const auto in_place = run(true), through_kv = run(false);
    INFO("self " << c.self << ", causal " << c.causal << ", training " << c.train);
    REQUIRE(in_place.size() == through_kv.size());
    for (std::size_t i = 0; i < in_place.size(); ++i) xgtest::require_close(in_place[i], through_kv[i], 1e-13);
  }
  // Shape errors name both tensors on either path (in place, and rotary through KeyValues).
  AttentionConfig rotary;
  rotary.rotary = true;
  MultiHeadAttention with_rotary(8, 2, 0.0, rotary);
  with_rotary.to(DType::Float64);
  for (MultiHeadAttention* m : {&mha, &with_rotary}) {
    CHECK_THROWS_WITH(m->forward(x, mem, seq({2, 6, 8}, 0.2)), Catch::Matchers::Contains("key [2, 7, 8] and value [2, 6, 8]"));
    CHECK_THROWS_WITH(m->forward(x, seq({2, 7}, 0.2), seq({2, 7}, 0.2)), Catch::Matchers::Contains("need (B, T, 8)"));
    CHECK_THROWS_WITH(m->forward(seq({2, 5, 4}, 0.2), mem, mem), Catch::Matchers::Contains("query [2, 5, 4]"));
  }
}

TEST_CASE("transformer encoder and decoder layers match PyTorch (post-LN and pre-LN)", "[nn][transformer]") {
  for (bool pre : {false, true}) {
    TransformerConfig c;
    c.d_model = 8, c.num_heads = 2, c.ff_dim = 16, c.dropout = 0.0, c.norm_first = pre;
    TransformerEncoderLayer enc(c);
    TransformerDecoderLayer dec(c);
    fill_like_reference(enc);
    fill_like_reference(dec);
    const Tensor x = seq({2, 4, 8}, 0.3, 1.0), tgt = seq({2, 3, 8}, 0.5, 1.0, 0.2);
    const Tensor pad = tensor({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4}, DType::Float64);
    const Tensor enc_out = enc.forward(x, pad);
    const Tensor dec_out = dec.forward(tgt, x, causal_mask(3, DType::Float64), pad).output;
    // PyTorch leaves padded positions' encoder outputs as computed; compare everything.
    require_close(enc_out, pre ? kEncPre : kEncPost, 1e-9);
    require_close(dec_out, pre ? kDecPre : kDecPost, 1e-9);
  }
}

TEST_CASE("gradcheck: transformer layers and positional encoding", "[nn][transformer][gradcheck]") {
  manual_seed(9);
  TransformerConfig c;
  c.d_model = 4, c.num_heads = 2, c.ff_dim = 6, c.dropout = 0.0;
  for (bool pre : {false, true}) {
    c.norm_first = pre;
    TransformerEncoder enc(c, 1);
    const Tensor pad = tensor({0, 0, 0, 0, 1, 1}, {2, 3}, DType::Float64);
    gradcheck_module(enc, [&](const Tensor& x) { return enc.forward(x, pad); }, leaf(seq({2, 3, 4}, 0.4)));
    TransformerDecoder dec(c, 1);
    const Tensor mem = seq({2, 3, 4}, 0.8);
    gradcheck_module(dec, [&](const Tensor& x) { return dec.forward(x, mem, causal_mask(2, DType::Float64), pad).output; },
                     leaf(seq({2, 2, 4}, 0.4)));
  }
  PositionalEncoding pe(6, 10);
  CHECK(pe.pe.to_vector()[6 + 0] == Approx(std::sin(1.0)));
  CHECK(pe.pe.to_vector()[6 + 3] == Approx(std::cos(1.0 / std::pow(10000.0, 2.0 / 6))));
  pe.to(DType::Float64);
  require_gradcheck([&](const Inputs& v) { return pe.forward(v[0]); }, {leaf(seq({1, 4, 6}))});
}

TEST_CASE("gradcheck: Linear LayerNorm Embedding and Sequential", "[nn][gradcheck]") {
  manual_seed(10);
  Sequential mlp({std::make_shared<Linear>(3, 4), std::make_shared<Tanh>(), std::make_shared<LayerNorm>(4),
                  std::make_shared<GELU>(), std::make_shared<Linear>(4, 2)});
  gradcheck_module(mlp, [&](const Tensor& x) { return mlp.forward(x); }, leaf(seq({5, 3})));
  Embedding emb(5, 3, 0);
  emb.to(DType::Float64);
  require_gradcheck([&](const Inputs&) { return emb.forward({1, 4, 4, 2}, {2, 2}); }, {emb.weight});
}

TEST_CASE("Embedding::project equals linear(embedding) in values and gradients, through the table or not", "[nn][gradcheck]") {
  manual_seed(12);
  Embedding emb(5, 3, 0);
  emb.to(DType::Float64);
  const Tensor w = leaf(seq({4, 3}, 0.7, 1.0, -0.2)), b = leaf(seq({4}, 1.3));
  // 8 ids > 5 rows: the table path; 3 ids: the direct path. Id 0 is the padding row.
  for (const std::vector<int64_t>& ids : {std::vector<int64_t>{1, 4, 4, 0, 2, 0, 3, 1}, std::vector<int64_t>{2, 0, 4}}) {
    const Shape shape{1, static_cast<int64_t>(ids.size())};
    INFO(ids.size() << " ids");
    const auto grads = [&](const Tensor& out) {
      for (Tensor t : {emb.weight, w, b}) t.zero_grad();
      sum(out * seq(out.shape(), 0.45)).backward();
      return std::vector<std::vector<double>>{emb.weight.grad().to_vector(), w.grad().to_vector(), b.grad().to_vector()};
    };
    const Tensor projected = emb.project(ids, shape, w, b), composed = linear(emb.forward(ids, shape), w, b);
    REQUIRE(projected.shape() == Shape{1, static_cast<int64_t>(ids.size()), 4});
    require_close(projected, composed.to_vector(), 1e-13);
    const auto gp = grads(projected), gc = grads(composed);
    for (std::size_t i = 0; i < gp.size(); ++i) require_close(gp[i], gc[i], 1e-12);
    for (int64_t j = 0; j < 3; ++j) CHECK(gp[0][j] == 0.0);  // the padding row learns nothing
    // Without padding ids: the padding row's held-back gradient is not the function's derivative.
    std::vector<int64_t> real = ids;
    for (auto& id : real) id = id == 0 ? 3 : id;
    require_gradcheck([&](const Inputs& v) { return emb.project(real, shape, v[1], v[2]); }, {emb.weight, w, b});
  }
  CHECK_THROWS_WITH(emb.project({1, 2, 3, 4, 5, 6}, {6}, w), Catch::Contains("Embedding::project: index 5 at position 4 is out of range [0, 5)"));
}

TEST_CASE("fused attention kernels equal their composed forms and pass gradcheck", "[nn][attention][gradcheck]") {
  const Tensor q = leaf(seq({2, 5}, 0.3)), k = leaf(seq({2, 3, 5}, 0.7)), v = leaf(seq({1, 5}, 1.1));
  const Tensor composed = squeeze(matmul(tanh(unsqueeze(q, 1) + k), transpose(v, 0, 1)), 2);
  require_close(additive_scores(q, k, v), composed.to_vector(), 1e-12);
  require_gradcheck([](const Inputs& x) { return additive_scores(x[0], x[1], x[2]); }, {q, k, v});
  const Tensor w = leaf(seq({2, 3}, 0.5)), values = leaf(seq({2, 3, 7}, 0.9));  // 7: a SIMD block and a tail
  require_close(weighted_sum(w, values), squeeze(matmul(unsqueeze(w, 1), values), 1).to_vector(), 1e-12);
  require_gradcheck([](const Inputs& x) { return weighted_sum(x[0], x[1]); }, {w, values});
  // float32 with long rows exercises the vectorised tanh against std::tanh.
  const Tensor q32 = seq({3, 37}, 0.3, 2.0, 0.0, DType::Float32), k32 = seq({3, 4, 37}, 0.7, 2.0, 0.0, DType::Float32),
               v32 = seq({37}, 1.1, 1.0, 0.0, DType::Float32);
  require_close(additive_scores(q32, k32, v32),
                additive_scores(q32.to(DType::Float64), k32.to(DType::Float64), v32.to(DType::Float64)).to_vector(), 2e-6);
  // The weight gradient of weighted_sum is a vectorised dot product over 37 entries.
  auto weight_grad = [](DType dt) {
    Tensor w32 = seq({3, 4}, 0.5, 1.0, 0.0, dt).requires_grad_(true);
    sum(weighted_sum(w32, seq({3, 4, 37}, 0.9, 1.0, 0.0, dt)) * seq({3, 37}, 0.4, 1.0, 0.0, dt)).backward();
    return w32.grad().to_vector();
  };
  require_close(weight_grad(DType::Float32), weight_grad(DType::Float64), 1e-5);
  CHECK_THROWS_AS(additive_scores(q, transpose(k, 1, 2), v), ShapeError);
}

TEST_CASE("vectorised exp tanh and sigmoid agree with the C library over a wide range", "[elementwise]") {
  std::vector<double> xs;
  for (int i = -2000; i <= 2000; ++i) xs.push_back(i * 0.05);  // -100 .. 100
  const Tensor x32 = Tensor::from_vector(xs, {static_cast<int64_t>(xs.size())}, DType::Float32);
  const auto t = tanh(x32).to_vector(), s = sigmoid(x32).to_vector(), e = exp(clamp(x32, -80, 80)).to_vector();
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const float xf = static_cast<float>(xs[i]);
    CHECK(t[i] == Approx(std::tanh(xf)).margin(2e-7).epsilon(2e-6));
    CHECK(s[i] == Approx(1.0 / (1.0 + std::exp(-static_cast<double>(xf)))).margin(2e-7).epsilon(2e-6));
    CHECK(e[i] == Approx(std::exp(std::clamp(xf, -80.f, 80.f))).epsilon(4e-6));
    CHECK(std::isfinite(s[i]));
  }
}

TEST_CASE("decoding outside autograd grows the key/value cache in place and equals the full decoder",
          "[nn][transformer][cache]") {
  // 40 steps cross the buffer's capacities 16 -> 32 -> 64; after step 20 the batch rows swap, as
  // beam search reorders them. Every attention configuration the decoder step supports.
  struct Variant {
    const char* name;
    AttentionConfig attention;
    bool pre;
  };
  std::vector<Variant> variants(5);
  variants[0].name = "standard, post-LN";
  variants[1].name = "standard, pre-LN", variants[1].pre = true;
  variants[2].name = "grouped-query", variants[2].attention.num_kv_heads = 1;
  variants[3].name = "rotary", variants[3].attention.rotary = true;
  variants[4].name = "window", variants[4].attention.kind = AttentionKind::Window, variants[4].attention.window = 6;
  for (const Variant& variant : variants) {
    INFO(variant.name);
    manual_seed(13);
    TransformerConfig c;
    c.d_model = 8, c.num_heads = 2, c.ff_dim = 16, c.dropout = 0.0, c.norm_first = variant.pre;
    c.attention = variant.attention;
    TransformerDecoder dec(c, 2);
    dec.to(DType::Float64);
    dec.eval();
    const int64_t T = 40;
    const Tensor memory = seq({2, 4, 8}, 0.3), x = seq({2, T, 8}, 0.45);
    const Tensor pad = tensor({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4}, DType::Float64);
    const DecoderOutput full = dec.forward(x, memory, Tensor(), pad, Tensor(), true);
    const std::vector<int64_t> swap{1, 0};
    const Tensor swapped_output = index_select(full.output, 0, swap), swapped_pad = index_select(pad, 0, swap);
    NoGradGuard no_grad;
    auto caches = dec.start(memory);
    for (int64_t t = 0; t < T; ++t) {
      if (t == 20)
        for (auto& cache : caches) cache.select(swap);
      const bool swapped = t >= 20;
      const Tensor input = narrow(swapped ? index_select(x, 0, swap) : x, 1, t, 1);
      const DecoderOutput one = dec.step(input, caches, swapped ? swapped_pad : pad);
      INFO("step " << t);
      require_close(one.output, narrow(swapped ? swapped_output : full.output, 1, t, 1).to_vector(), 1e-12);
    }
    CHECK(caches[0].self.buffered());
    CHECK(caches[0].self.length() == T);
    CHECK(caches[0].self.key_buffer().shape()[2] == 64);
    CHECK(caches[0].self.k().shape() == Shape{2, variant.attention.num_kv_heads == 1 ? 1 : 2, T, 4});
  }
}

TEST_CASE("cached_query_attention equals fused attention over the used positions", "[nn][attention][cache]") {
  // q (B=2, H=4, 1, d=3) against buffers of 2 key/value heads (grouped) and capacity 7, 5 in use.
  const Tensor q = seq({2, 4, 1, 3}, 0.37), kb = seq({2, 2, 7, 3}, 0.53), vb = seq({2, 2, 7, 5}, 0.71);
  const Tensor pad = tensor({0, 1, 0, 0, 1, 1, 1, 1, 1, 1}, {2, 5}, DType::Float64);  // row 1 fully hidden
  const std::vector<int64_t> heads{0, 0, 1, 1};
  const Tensor k = index_select(narrow(kb, 2, 0, 5), 1, heads), v = index_select(narrow(vb, 2, 0, 5), 1, heads);
  for (const Tensor& mask : {Tensor(), pad}) {
    const FusedAttentionResult want = fused_attention(q, k, v, Tensor(), mask, Tensor());
    const FusedAttentionResult got = cached_query_attention(q, kb, vb, 5, mask);
    require_close(got.context, want.context.to_vector(), 1e-13);
    require_close(got.weights, want.weights.to_vector(), 1e-13);
    const auto f32 = [](const Tensor& t) { return t.defined() ? t.to(DType::Float32) : t; };  // the vectorised float exp
    const FusedAttentionResult got32 = cached_query_attention(f32(q), f32(kb), f32(vb), 5, f32(mask));
    require_close(got32.context, want.context.to_vector(), 2e-6);
    require_close(got32.weights, want.weights.to_vector(), 2e-6);
  }
  // A cache started from a buffered one does not write into its buffer.
  {
    NoGradGuard no_grad;
    KeyValues first, second;
    first.append(KeyValues(narrow(kb, 2, 0, 2), narrow(vb, 2, 0, 2)));
    second.append(first);
    second.append(KeyValues(narrow(kb, 2, 2, 1), narrow(vb, 2, 2, 1)));
    first.append(KeyValues(narrow(kb, 2, 3, 1), narrow(vb, 2, 3, 1)));
    CHECK(first.buffered());
    CHECK(second.buffered());
    require_close(second.k(), narrow(kb, 2, 0, 3).to_vector(), 0.0);
    require_close(first.k(), concat({narrow(kb, 2, 0, 2), narrow(kb, 2, 3, 1)}, 2).to_vector(), 0.0);
  }
  CHECK_THROWS_WITH(cached_query_attention(q, kb, vb, 8, Tensor()), Catch::Matchers::Contains("length 8"));
  CHECK_THROWS_WITH(cached_query_attention(q, kb, vb, 5, tensor({0, 0}, {2, 1}, DType::Float64)),
                    Catch::Matchers::Contains("[2, 1]"));
  CHECK_THROWS_WITH(cached_query_attention(leaf(q), kb, vb, 5, Tensor()), Catch::Matchers::Contains("NoGradGuard"));
}

TEST_CASE("incremental decoding with cached keys and values equals the full decoder", "[nn][transformer]") {
  for (bool pre : {false, true}) {
    manual_seed(12);
    TransformerConfig c;
    c.d_model = 8, c.num_heads = 2, c.ff_dim = 16, c.dropout = 0.0, c.norm_first = pre;
    TransformerDecoder dec(c, 2);
    dec.to(DType::Float64);
    dec.eval();
    const Tensor memory = seq({2, 4, 8}, 0.3), x = seq({2, 5, 8}, 0.45);
    const Tensor pad = tensor({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4}, DType::Float64);
    const DecoderOutput full = dec.forward(x, memory, causal_mask(5, DType::Float64), pad);
    auto caches = dec.start(memory);
    for (int64_t t = 0; t < 5; ++t) {
      const DecoderOutput one = dec.step(narrow(x, 1, t, 1), caches, pad);
      require_close(one.output, narrow(full.output, 1, t, 1).to_vector(), 1e-12);
      require_close(one.cross_weights.back(), narrow(full.cross_weights.back(), 2, t, 1).to_vector(), 1e-12);
    }
    CHECK(caches[0].self.length() == 5);
  }
}
