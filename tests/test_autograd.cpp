// Graph semantics: accumulation, freeing, retain_graph, no-grad, detach, errors, anomaly mode.
#include <functional>
#include <map>

#include "helpers.hpp"

using namespace xg;
using xgtest::leaf;
using xgtest::require_close;
using xgtest::seq;
using xgtest::require_gradcheck;
using Catch::Matchers::Contains;

TEST_CASE("gradients accumulate across backward calls until zero_grad", "[autograd]") {
  Tensor x = leaf(tensor({1, 2, 3}, {3}, DType::Float64));
  sum(x * x).backward();
  require_close(x.grad(), {2, 4, 6});
  const Tensor held = x.grad();  // a leaf's gradient accumulates in place: this handle sees the sum
  sum(x * 3.0).backward();
  require_close(x.grad(), {5, 7, 9});
  require_close(held, {5, 7, 9});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(x).backward();
  require_close(x.grad(), {1, 1, 1});
}

TEST_CASE("a second backward through a freed graph is a clear error", "[autograd]") {
  Tensor x = leaf(tensor({1, 2}, {2}));
  Tensor y = sum(exp(x));
  y.backward();
  CHECK_THROWS_WITH(y.backward(), Contains("a second time") && Contains("retain_graph"));
  // The error names the op the user called, not the op it is made of (mean = sum * 1/n).
  Tensor m = mean(exp(x));
  m.backward();
  CHECK_THROWS_WITH(m.backward(), Contains("graph of mean a second time"));
  Tensor s = sum(exp(x), {0});
  s.backward();
  CHECK_THROWS_WITH(s.backward(), Contains("graph of sum a second time"));
  // A sum over no axes returns its input: the input's node keeps its own name.
  Tensor e = exp(x);
  CHECK(sum(e, {}, true).grad_fn()->name == e.grad_fn()->name);
}

TEST_CASE("retain_graph allows a second backward", "[autograd]") {
  Tensor x = leaf(tensor({1, 2}, {2}, DType::Float64));
  Tensor y = sum(x * x);
  y.backward(Tensor(), true);
  y.backward();
  require_close(x.grad(), {4, 8});
}

TEST_CASE("backward from a non-scalar needs a gradient of its shape", "[autograd]") {
  Tensor x = leaf(tensor({1, 2}, {2}, DType::Float64));
  Tensor y = x * 2.0;
  CHECK_THROWS_AS(y.backward(), AutogradError);
  CHECK_THROWS_AS(y.backward(ones({3}, DType::Float64)), ShapeError);
  y.backward(tensor({1, 10}, {2}, DType::Float64));
  require_close(x.grad(), {2, 20});
}

TEST_CASE("NoGradGuard and detach stop recording", "[autograd]") {
  Tensor x = leaf(tensor({1, 2}, {2}));
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK((d * 2.0).grad_fn() == nullptr);
  d.data<float>()[0] = 5;  // shares storage
  CHECK(x.to_vector()[0] == 5);
  CHECK_THROWS_AS(sum(d).backward(), AutogradError);
}

TEST_CASE("a diamond graph runs each node once after all its consumers", "[autograd]") {
  Tensor x = leaf(tensor({0.5}, {1}, DType::Float64));
  Tensor a = tanh(x);
  Tensor b = a * a;
  Tensor c = exp(a);
  sum(b + c).backward();
  const double t = std::tanh(0.5);
  require_close(x.grad(), {(2 * t + std::exp(t)) * (1 - t * t)});
}

TEST_CASE("the graph frees saved tensors after backward", "[autograd]") {
  Tensor x = leaf(seq({100}));
  std::weak_ptr<TensorImpl> saved;
  {
    Tensor e = exp(x);
    saved = e.impl_ptr();
    Tensor loss = sum(e * 2.0);
    loss.backward();
  }
  CHECK(saved.expired());
}

TEST_CASE("a long chain does not overflow the stack", "[autograd]") {
  Tensor x = leaf(tensor({1}, {1}, DType::Float64));
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  sum(y).backward();
  require_close(x.grad(), {1});
  // Dropped without backward: destruction must not recurse once per node.
  Tensor z = x;
  for (int i = 0; i < 300000; ++i) z = z * 1.0;
  z = Tensor();
  CHECK(x.requires_grad());
}

TEST_CASE("shape errors name the op and both shapes", "[errors]") {
  const Tensor a = zeros({2, 3}), b = zeros({4, 5});
  CHECK_THROWS_WITH(add(a, b), Contains("add") && Contains("[2, 3]") && Contains("[4, 5]"));
  CHECK_THROWS_WITH(matmul(a, b), Contains("matmul") && Contains("[2, 3]") && Contains("[4, 5]"));
  CHECK_THROWS_AS(matmul(a, b), ShapeError);
  CHECK_THROWS_WITH(reshape(a, {5}), Contains("[2, 3]") && Contains("[5]"));
  CHECK_THROWS_AS(concat({a, b}, 0), ShapeError);
  CHECK_THROWS_AS(layer_norm(a, ones({4}), Tensor()), ShapeError);
}

TEST_CASE("dtype mismatches and out-of-range indices are clear errors", "[errors]") {
  const Tensor a = zeros({2, 3}), d = zeros({2, 3}, DType::Float64);
  CHECK_THROWS_WITH(mul(a, d), Contains("float32") && Contains("float64"));
  CHECK_THROWS_AS(a.data<double>(), DTypeError);
  CHECK_THROWS_WITH(index_select(a, 0, {0, 2}), Contains("index 2") && Contains("[0, 2)"));
  CHECK_THROWS_AS(embedding(a, {5}, {1}), IndexError);
  CHECK_THROWS_WITH(cross_entropy(a, {0, 3}), Contains("target 3") && Contains("row 1"));
  CHECK_THROWS_AS(narrow(a, 1, 2, 2), IndexError);
  CHECK_THROWS_AS(sum(a, {2}), IndexError);
  CHECK_THROWS_AS(Tensor().shape(), Error);
}

TEST_CASE("anomaly mode names the op that first produced NaN", "[anomaly]") {
  Tensor x = leaf(tensor({-1, 4}, {2}));
  {
    AnomalyModeGuard anomaly;
    CHECK_THROWS_WITH(sqrt(x) * 2.0, Contains("sqrt") && Contains("NaN"));
    CHECK_NOTHROW(sqrt(x * x));
  }
  CHECK_NOTHROW(sqrt(x));  // off again: NaN flows silently, as in PyTorch
}

TEST_CASE("a custom op joins the graph through record", "[autograd][custom]") {
  // softplus(x) = log(1 + e^x), gradient sigmoid(x)
  auto softplus = [](const Tensor& x) {
    Tensor out = Tensor::empty(x.shape(), x.dtype());
    const auto v = x.to_vector();
    for (std::size_t i = 0; i < v.size(); ++i) out.data<double>()[i] = std::log1p(std::exp(v[i]));
    const Tensor xd = x.detach();
    return record("softplus", out, {x}, [xd](const Tensor& g, GradSink& sink) { sink.add(0, g * sigmoid(xd)); });
  };
  Tensor x = leaf(seq({5}));
  xgtest::require_gradcheck([&](const std::vector<Tensor>& v) { return softplus(v[0]) * v[0]; }, {x});
  CHECK(softplus(x).grad_fn()->name == "softplus");
}

TEST_CASE("GradSink::add takes over a gradient nothing else holds, and copies one still shared", "[autograd]") {
  // Ops build their input gradients in fresh buffers; moving one into the sink must not copy it
  // (a copy cost 4% of a transformer training step), and a buffer the op keeps must be copied.
  const void* built = nullptr;
  Tensor kept;
  auto op = [&](const Tensor& x, bool keep) {
    return record("probe", x.detach() * 2.0, {x}, [&, keep](const Tensor& g, GradSink& sink) {
      Tensor gx = g * 2.0;
      built = gx.data<double>();
      if (keep) kept = gx;
      sink.add(0, std::move(gx));
    });
  };
  Tensor x = leaf(seq({4}));
  sum(op(x, false)).backward();
  CHECK(static_cast<const void*>(x.grad().data<double>()) == built);
  Tensor y = leaf(seq({4}));
  sum(op(y, true)).backward();
  CHECK(static_cast<const void*>(y.grad().data<double>()) != built);
  kept.fill_(0.0);  // the gradient is the sink's own copy: changing the op's buffer leaves it alone
  require_close(y.grad(), {2.0, 2.0, 2.0, 2.0});
}

TEST_CASE("a non-leaf's gradient may share storage with another's, and is copied before anything writes it",
          "[autograd]") {
  // "both" hands one gradient to both its inputs m and w (non-leaves), which keep it without a
  // copy (as reshape's backward hands on its gradient's storage); narrow's backward then adds into
  // m's gradient in place (GradSink::buffer), and a second use of w adds to w's: each must first
  // get storage of its own, or the other's gradient changes too. Both orders of the branches,
  // since either may run its backward first.
  const auto both = [](const Tensor& a, const Tensor& b) {
    return record("both", a.detach() + b.detach(), {a, b}, [](const Tensor& g, GradSink& sink) {
      sink.add(0, g);
      sink.add(1, g);
    });
  };
  for (const bool shared_first : {true, false}) {
    const Tensor x = leaf(seq({3, 5})), y = leaf(seq({3, 5}, 0.3));
    const Tensor m = x * 1.0, w = y * 1.0;
    const Tensor shared = sum(both(m, w)), narrowed = sum(narrow(m, 1, 0, 2) * 2.0), again = sum(w * 3.0);
    (shared_first ? shared + narrowed + again : again + narrowed + shared).backward();
    std::vector<double> want_x(15, 1.0), want_y(15, 4.0);
    for (int r = 0; r < 3; ++r) want_x[r * 5] = want_x[r * 5 + 1] = 3.0;
    INFO("shared branch first: " << shared_first);
    require_close(x.grad(), want_x, 0);
    require_close(y.grad(), want_y, 0);
  }
  // w's gradient shared with m's, then a second contribution to w: a sum in a new tensor, m's
  // unchanged. The order is forced: "both, after u" takes u = w · 3 as a third input (it passes
  // it no gradient), so its backward runs before u's.
  {
    const Tensor x = leaf(seq({3, 5})), y = leaf(seq({3, 5}, 0.3));
    const Tensor m = x * 1.0, w = y * 1.0;
    const Tensor u = w * 3.0;
    const Tensor both_after_u = record("both, after u", m.detach() + w.detach(), {m, w, u},
                                       [](const Tensor& g, GradSink& sink) {
                                         sink.add(0, g);
                                         sink.add(1, g);
                                       });
    (sum(both_after_u) + sum(u)).backward();
    require_close(x.grad(), std::vector<double>(15, 1.0), 0);
    require_close(y.grad(), std::vector<double>(15, 4.0), 0);
  }
  // The same input twice: the second contribution to a shared slot is a sum in a new tensor.
  const Tensor z = leaf(seq({4}));
  const Tensor h = z * 1.0;
  sum(both(h, h) * seq({4}, 0.9)).backward();
  const auto c = seq({4}, 0.9).to_vector();
  require_close(z.grad(), {2 * c[0], 2 * c[1], 2 * c[2], 2 * c[3]}, 0);
}

TEST_CASE("GradSink::partial: contributions added in place onto an input's gradient so far", "[autograd]") {
  // u feeds a residual addition (which hands its gradient to both branches, sharing storage), two
  // linear layers and a layer_norm: the linears' products and layer_norm's rows then add onto u's
  // gradient in place. The first in-place write meets storage still shared with the residual
  // branch's gradient and must copy it first. Each order of the consumers, float64 and float32
  // (float32 linears take the packed kernel, which accumulates by starting from C).
  for (const DType dtype : {DType::Float64, DType::Float32}) {
    for (const int order : {0, 1, 2}) {
      INFO("dtype " << dtype_name(dtype) << " order " << order);
      const Tensor x = leaf(seq({6, 4}, 0.7, 1.0, 0.2, dtype));
      const Tensor w1 = seq({5, 4}, 0.3, 1.0, 0.0, dtype), w2 = seq({5, 4}, 0.9, 1.0, 0.4, dtype);
      const Tensor b = seq({5}, 0.2, 1.0, 0.0, dtype), r = seq({6, 4}, 1.3, 1.0, 0.0, dtype);
      const Tensor r5 = seq({6, 5}, 0.5, 1.0, 0.1, dtype);
      const Tensor u = x * 1.0;
      const Tensor a = sum(linear(u, w1, b) * r5), c = sum(linear(u, w2) * r5);
      const Tensor n = sum(layer_norm(u, Tensor(), Tensor(), 1e-5) * r), res = sum((u + u * 2.0) * r);
      const Tensor loss = order == 0 ? a + c + n + res : order == 1 ? res + n + c + a : n + res + a + c;
      loss.backward();
      // The same gradient from separate backward passes, each into a fresh gradient.
      std::vector<double> want(24, 0.0);
      for (const auto& part : std::vector<std::function<Tensor(const Tensor&)>>{
               [&](const Tensor& v) { return sum(linear(v, w1, b) * r5); },
               [&](const Tensor& v) { return sum(linear(v, w2) * r5); },
               [&](const Tensor& v) { return sum(layer_norm(v, Tensor(), Tensor(), 1e-5) * r); },
               [&](const Tensor& v) { return sum((v + v * 2.0) * r); }}) {
        const Tensor xs = leaf(seq({6, 4}, 0.7, 1.0, 0.2, dtype));
        part(xs * 1.0).backward();
        const auto g = xs.grad().to_vector();
        for (std::size_t i = 0; i < want.size(); ++i) want[i] += g[i];
      }
      require_close(x.grad(), want, dtype == DType::Float64 ? 1e-12 : 2e-5);
    }
  }
  require_gradcheck(
      [](const std::vector<Tensor>& v) {
        const Tensor u = v[0] * 1.0;
        return linear(u, v[1]) + linear(u, v[2], v[3]) + layer_norm(u, Tensor(), Tensor(), 1e-5) + u;
      },
      {leaf(seq({3, 4}, 0.7)), leaf(seq({4, 4}, 0.3)), leaf(seq({4, 4}, 0.9, 1.0, 0.4)), leaf(seq({4}, 0.2))});
}

TEST_CASE("random tensors are reproducible from a seed", "[random]") {
  Generator g1(42), g2(42);
  CHECK(randn({10}, DType::Float32, g1).to_vector() == randn({10}, DType::Float32, g2).to_vector());
  manual_seed(5);
  const auto a = uniform({4}, -1, 1).to_vector();
  manual_seed(5);
  CHECK(uniform({4}, -1, 1).to_vector() == a);
  Generator g(1);
  const Tensor big = randn({20000}, DType::Float64, g);
  CHECK(mean(big).item() == Approx(0).margin(0.03));
  CHECK(mean(big * big).item() == Approx(1).margin(0.03));
}

TEST_CASE("grad-ready hook: each leaf once, when its gradient is final, before backward returns", "[autograd]") {
  Tensor a = Tensor::from_vector({1, 2}, {2}, DType::Float64), b = Tensor::from_vector({3, 4}, {2}, DType::Float64);
  Tensor c = Tensor::from_vector({5, 6}, {2}, DType::Float64);
  a.requires_grad_(true), b.requires_grad_(true), c.requires_grad_(true);
  std::vector<std::pair<std::string, std::vector<double>>> seen;
  {
    GradReadyHookGuard hook([&](const Tensor& leaf) {
      const std::string name = leaf.same(a) ? "a" : leaf.same(b) ? "b" : "c";
      seen.emplace_back(name, leaf.grad().to_vector());
    });
    // a is used twice, early and late: its gradient is final only after both uses have run.
    const Tensor h = a * b;            // d/da: b, d/db: a
    const Tensor out = sum(h * c + a);  // d/da = b*c + 1
    out.backward();
  }
  REQUIRE(seen.size() == 3);
  std::map<std::string, std::vector<double>> got(seen.begin(), seen.end());
  CHECK(got["a"] == std::vector<double>{16, 25});
  CHECK(got["b"] == std::vector<double>{5, 12});
  CHECK(got["c"] == std::vector<double>{3, 8});
  // c (used last in forward) is complete before a and b.
  CHECK(seen.front().first == "c");
  // Without a guard no hook runs.
  seen.clear();
  sum(a * b).backward();
  CHECK(seen.empty());
}
