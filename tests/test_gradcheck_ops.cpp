// A float64 finite-difference check of every differentiable op, including broadcasting and an
// input used twice.
#include "helpers.hpp"

using namespace xg;
using xgtest::leaf;
using xgtest::require_gradcheck;
using xgtest::seq;
using Inputs = std::vector<Tensor>;

TEST_CASE("gradcheck: binary ops with broadcasting", "[gradcheck][elementwise]") {
  const Tensor a = leaf(seq({2, 3, 4})), b = leaf(seq({3, 1}, 0.5, 1.0, 0.3) + 2.5);
  require_gradcheck([](const Inputs& x) { return add(x[0], x[1]); }, {a, b});
  require_gradcheck([](const Inputs& x) { return sub(x[1], x[0]); }, {a, b});
  require_gradcheck([](const Inputs& x) { return mul(x[0], x[1]); }, {a, b});
  require_gradcheck([](const Inputs& x) { return div(x[0], x[1]); }, {a, b});
  const Tensor base = leaf(seq({2, 3}, 0.4, 0.5, 0.1) + 1.5), ex = leaf(seq({3}, 0.9, 1.0));
  require_gradcheck([](const Inputs& x) { return pow(x[0], x[1]); }, {base, ex});
  const Tensor row = leaf(seq({4}, 1.1));
  require_gradcheck([](const Inputs& x) { return x[0] * x[1] - x[1] / 2.0 + 3.0; }, {a, row});
}

TEST_CASE("gradcheck: an input used more than once accumulates", "[gradcheck][autograd]") {
  const Tensor a = leaf(seq({3, 2}));
  require_gradcheck([](const Inputs& x) { return x[0] * x[0] + exp(x[0]) * x[0]; }, {a});
  // add hands its gradient to both sides unchanged: here twice to one input, then once more.
  require_gradcheck([](const Inputs& x) { return (x[0] + x[0]) * 3.0 + x[0]; }, {a});
  require_gradcheck([](const Inputs& x) { return matmul(x[0], transpose(x[0], 0, 1)); }, {a});
}

TEST_CASE("gradcheck: unary ops", "[gradcheck][elementwise]") {
  const Tensor x = leaf(seq({3, 4}, 0.7, 2.0, 0.2));  // no element within 1e-3 of 0
  const Tensor pos = leaf(seq({3, 4}, 0.7, 1.0, 0.2) + 1.5);
  require_gradcheck([](const Inputs& v) { return neg(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return exp(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return log(v[0]); }, {pos});
  require_gradcheck([](const Inputs& v) { return sqrt(v[0]); }, {pos});
  require_gradcheck([](const Inputs& v) { return abs(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return tanh(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return sigmoid(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return relu(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return gelu(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return clamp(v[0], -1.0, 1.3); }, {x});
  require_gradcheck([](const Inputs& v) { return pow(v[0], 3.0); }, {x});
  require_gradcheck([](const Inputs& v) { return pow(v[0], -0.5); }, {pos});
  require_gradcheck([](const Inputs& v) { return affine(v[0], -2.5, 1.0); }, {x});
  require_gradcheck([](const Inputs& v) { return 2.0 / v[0]; }, {pos});
  require_gradcheck([](const Inputs& v) { return v[0].clone() * 1.5; }, {x});
}

TEST_CASE("gradcheck: reductions", "[gradcheck][reduction]") {
  const Tensor x = leaf(seq({2, 3, 4}, 0.37));
  require_gradcheck([](const Inputs& v) { return sum(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return sum(v[0], {0, 2}); }, {x});
  require_gradcheck([](const Inputs& v) { return sum(v[0], {-1}, true); }, {x});
  require_gradcheck([](const Inputs& v) { return mean(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return mean(v[0], {1}, false); }, {x});
  require_gradcheck([](const Inputs& v) { return max(v[0], 1, false); }, {x});
  require_gradcheck([](const Inputs& v) { return max(v[0], 2, true); }, {x});
  require_gradcheck([](const Inputs& v) { return max(v[0]); }, {x});
}

TEST_CASE("gradcheck: shape ops", "[gradcheck][shape]") {
  const Tensor x = leaf(seq({2, 3, 4}, 0.53));
  const Tensor y = leaf(seq({2, 2, 4}, 0.29));
  require_gradcheck([](const Inputs& v) { return reshape(v[0], {6, -1}); }, {x});
  require_gradcheck([](const Inputs& v) { return flatten(v[0], 1); }, {x});
  require_gradcheck([](const Inputs& v) { return squeeze(unsqueeze(v[0], 1), 1) * v[0]; }, {x});
  require_gradcheck([](const Inputs& v) { return permute(v[0], {2, 0, 1}); }, {x});
  require_gradcheck([](const Inputs& v) { return transpose(v[0], 0, 2); }, {x});
  require_gradcheck([](const Inputs& v) { return narrow(v[0], 1, 1, 2); }, {x});
  require_gradcheck([](const Inputs& v) { return slice(v[0], 2, -3, -1); }, {x});
  require_gradcheck([](const Inputs& v) { return select(v[0], 1, -1); }, {x});
  require_gradcheck([](const Inputs& v) { return concat({v[0], v[1], v[0]}, 1); }, {x, y});
  require_gradcheck([](const Inputs& v) { return stack({v[0], v[0] * 2.0}, 3); }, {x});
  require_gradcheck([](const Inputs& v) {
    auto parts = split(v[0], {1, 2, 1}, 2);
    return parts[0] * parts[2] + sum(parts[1], {2}, true);
  }, {x});
  // Two narrows of one input accumulate into the same gradient buffer.
  require_gradcheck([](const Inputs& v) { return narrow(v[0], 0, 0, 1) * narrow(v[0], 0, 1, 1); }, {x});
}

TEST_CASE("gradcheck: indexing ops", "[gradcheck][indexing]") {
  const Tensor x = leaf(seq({4, 3}, 0.61));
  require_gradcheck([](const Inputs& v) { return index_select(v[0], 0, {3, 0, 3, 1}); }, {x});
  require_gradcheck([](const Inputs& v) { return index_select(v[0], 1, {2, 2}); }, {x});
  require_gradcheck([](const Inputs& v) { return gather(v[0], 1, {0, 2, 1, 1, 2, 0, 0, 0}, {4, 2}); }, {x});
  require_gradcheck([](const Inputs& v) { return gather(v[0], 0, {3, 2, 1}, {1, 3}); }, {x});
  require_gradcheck([](const Inputs& v) { return embedding(v[0], {1, 2, 1, 0, 3, 0}, {2, 3}); }, {x});
  const Tensor mask = tensor({1, 0, 0}, {3});
  require_gradcheck([mask](const Inputs& v) { return masked_fill(v[0], mask, -7.0); }, {x});
  const Tensor cond = tensor({1, 0, 1, 0}, {4, 1});
  const Tensor other = leaf(seq({3}, 0.2));
  require_gradcheck([cond](const Inputs& v) { return where(cond, v[0], v[1]); }, {x, other});
}

TEST_CASE("embedding: the padding row gets no gradient", "[indexing]") {
  Tensor w = leaf(seq({4, 2}));
  Tensor out = embedding(w, {0, 2, 0, 2}, {4}, 0);
  sum(out).backward();
  xgtest::require_close(w.grad(), {0, 0, 0, 0, 2, 2, 0, 0});
}

TEST_CASE("gradcheck: matmul 2-D and batched and broadcast", "[gradcheck][matmul]") {
  const Tensor a2 = leaf(seq({3, 4})), b2 = leaf(seq({4, 2}, 0.3));
  const Tensor a3 = leaf(seq({2, 3, 4}, 0.45)), b3 = leaf(seq({2, 4, 5}, 0.8));
  require_gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a2, b2});
  require_gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a3, b3});
  require_gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a3, b2});
  require_gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a2, b3});
}

TEST_CASE("gradcheck: softmax and log_softmax along every axis with masked entries", "[gradcheck][softmax]") {
  const Tensor x = leaf(seq({2, 3, 4}, 0.77));
  for (int64_t axis : {0, 1, 2, -1}) {
    require_gradcheck([axis](const Inputs& v) { return softmax(v[0], axis); }, {x});
    require_gradcheck([axis](const Inputs& v) { return log_softmax(v[0], axis); }, {x});
  }
  // A -inf entry and a fully masked row: gradients stay finite (zero for the masked row).
  const Tensor mask = tensor({0, 1, 0, 0, 1, 1, 1, 1}, {2, 4});
  Tensor y = leaf(seq({2, 4}, 0.31));
  require_gradcheck([mask](const Inputs& v) { return softmax(masked_fill(v[0], mask, -INFINITY)); }, {y});
  Tensor loss = sum(softmax(masked_fill(y, mask, -INFINITY)) * seq({2, 4}));
  y.zero_grad();
  loss.backward();
  const auto g = y.grad().to_vector();
  for (int j = 4; j < 8; ++j) CHECK(g[j] == 0.0);
}

TEST_CASE("gradcheck: layer_norm with and without affine parameters", "[gradcheck][layer_norm]") {
  const Tensor x = leaf(seq({3, 5}, 0.9)), w = leaf(seq({5}, 0.4) + 1.0), b = leaf(seq({5}, 1.7));
  require_gradcheck([](const Inputs& v) { return layer_norm(v[0], v[1], v[2]); }, {x, w, b});
  require_gradcheck([](const Inputs& v) { return layer_norm(v[0], Tensor(), Tensor()); }, {x});
  // Rows wider than the 16 partial sums of the row statistics, with a tail of 5.
  const Tensor xw = leaf(seq({3, 37}, 0.3, 2.0, 1.5)), ww = leaf(seq({37}, 0.6) + 1.0), bw = leaf(seq({37}, 0.2));
  require_gradcheck([](const Inputs& v) { return layer_norm(v[0], v[1], v[2]); }, {xw, ww, bw});
}

TEST_CASE("gradcheck: dropout with a fixed mask", "[gradcheck][dropout]") {
  const Tensor x = leaf(seq({4, 6}));
  require_gradcheck([](const Inputs& v) {
    Generator g(11);
    return dropout(v[0], 0.3, true, g);
  }, {x});
  Generator g(3);
  CHECK(dropout(x, 0.5, false, g).same(x));
}

TEST_CASE("gradcheck: cross_entropy with ignore_index and label smoothing", "[gradcheck][loss]") {
  const Tensor logits = leaf(seq({2, 3, 5}, 0.41));
  const std::vector<int64_t> t = {4, 0, -100, 2, 2, 1};
  require_gradcheck([t](const Inputs& v) { return cross_entropy(v[0], t); }, {logits});
  require_gradcheck([t](const Inputs& v) { return cross_entropy(v[0], t, -100, 0.2); }, {logits});
}

TEST_CASE("gradcheck: dtype conversion", "[gradcheck]") {
  const Tensor x = leaf(seq({3}));
  require_gradcheck([](const Inputs& v) { return v[0].to(DType::Float32).to(DType::Float64) * v[0]; },
                    {x}, GradcheckOptions{1e-3, 1e-4, 1e-3, 7});
}

TEST_CASE("gradcheck reports the worst element of a wrong gradient", "[gradcheck]") {
  // A deliberately wrong op: forward x^2, backward claims 3x.
  auto wrong = [](const Inputs& v) {
    Tensor out = Tensor::empty(v[0].shape(), v[0].dtype());
    const auto xs = v[0].to_vector();
    for (std::size_t i = 0; i < xs.size(); ++i) out.data<double>()[i] = xs[i] * xs[i];
    const Tensor xd = v[0].detach();
    return record("wrong_square", out, {v[0]}, [xd](const Tensor& g, GradSink& sink) {
      sink.add(0, g * xd * 3.0);
    });
  };
  const auto r = gradcheck(wrong, {leaf(tensor({1, -4, 2}, {3}, DType::Float64))});
  CHECK_FALSE(r.ok);
  CHECK(r.worst_index == 1);
  CHECK(r.message.find("element 1") != std::string::npos);
  // Weights w of the reduction sum(out * w) in [0.5, 1.5]: the error at element 1 is |w (6x - 4x)| = 8w.
  CHECK(r.worst_error >= 4.0);
  CHECK(r.worst_error <= 12.0);
  CHECK(r.worst_excess > 0);
  // A passing check reports its largest difference as a non-negative number, within tolerance.
  const auto good = gradcheck([](const Inputs& v) { return mul(v[0], v[0]); }, {leaf(tensor({1, -4, 2}, {3}, DType::Float64))});
  CHECK(good.ok);
  CHECK(good.worst_error >= 0);
  CHECK(good.worst_error < 1e-5);
  CHECK(good.worst_excess <= 0);
}

TEST_CASE("gradcheck: linear with and without bias", "[gradcheck][linear]") {
  const Tensor x = leaf(seq({2, 3, 4}, 0.3)), w = leaf(seq({5, 4}, 0.7)), b = leaf(seq({5}, 1.3));
  require_gradcheck([](const Inputs& v) { return linear(v[0], v[1], v[2]); }, {x, w, b});
  require_gradcheck([](const Inputs& v) { return linear(v[0], v[1]); }, {x, w});
}

TEST_CASE("linear equals matmul with the transposed weight plus bias", "[forward][linear]") {
  const Tensor x = seq({3, 4}, 0.3), w = seq({5, 4}, 0.7), b = seq({5}, 1.3);
  xgtest::require_close(linear(x, w, b), (matmul(x, transpose(w, 0, 1)) + b).to_vector(), 1e-12);
}
