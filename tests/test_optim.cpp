// Optimisers against PyTorch 1.13 (tests/reference/optim_reference.py), convergence on least
// squares, clipping, schedules, and exact resume from saved state.
#include "helpers.hpp"

using namespace xg;
using namespace xg::optim;
using xgtest::require_close;

namespace {
std::vector<double> three_steps(const std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroup>)>& make,
                                double lr, double wd) {
  Tensor p = tensor({1.0, -2.0, 0.5}, {3}, DType::Float64);
  p.requires_grad_();
  auto opt = make(single_group({p}, lr, wd));
  for (auto g : std::vector<std::vector<double>>{{0.5, -1.0, 2.0}, {0.1, 0.3, -0.2}, {-1.5, 0.0, 0.7}}) {
    p.set_grad(tensor(g, {3}, DType::Float64));
    opt->step();
  }
  return p.to_vector();
}

// Mean squared error of a linear model on a fixed random problem; returns the final loss.
double least_squares(Optimizer& opt, Tensor& w, int steps) {
  Generator gen(3);
  const Tensor x = randn({64, 5}, DType::Float32, gen);
  const Tensor y = matmul(x, tensor({1, -2, 0.5, 3, -1}, {5, 1})) + 0.3;
  double last = 0;
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    Tensor loss = mean(pow(matmul(x, w) - y, 2.0));
    loss.backward();
    opt.step();
    last = loss.item();
  }
  return last;
}
}  // namespace

TEST_CASE("three Adam, AdamW and SGD steps equal PyTorch to 1e-6", "[optim]") {
  require_close(three_steps([](auto g) { return std::make_unique<Adam>(g); }, 0.1, 0.1),
                {0.8450031875633436, -1.7846241917957342, 0.2730871823635984}, 1e-9);
  require_close(three_steps([](auto g) { return std::make_unique<AdamW>(g); }, 0.1, 0.1),
                {0.8333152270026982, -1.7671581714168092, 0.2641801184310055}, 1e-9);
  require_close(three_steps([](auto g) { return std::make_unique<SGD>(g, 0.9); }, 0.1, 0.01),
                {0.9900947489999999, -1.775139498, -0.07606280050000001}, 1e-9);
  require_close(three_steps([](auto g) { return std::make_unique<SGD>(g, 0.9, true); }, 0.1, 0.0),
                {1.08595, -1.7374, -0.26660000000000006}, 1e-9);
}

TEST_CASE("each optimiser reduces a least-squares problem", "[optim]") {
  auto fresh = [] {
    Tensor w = zeros({5, 1});
    w.requires_grad_();
    return w;
  };
  Tensor w1 = fresh(), w2 = fresh(), w3 = fresh(), w4 = fresh();
  SGD sgd(single_group({w1}, 0.05), 0.9);
  Adam adam(single_group({w2}, 0.05));
  AdamW adamw(single_group({w3}, 0.05, 0.001));
  SGD plain(single_group({w4}, 0.05));
  const double start = 0.3 * 0.3 + 15.25;  // E[y^2] for w = 0 (loose reference)
  for (Optimizer* o : std::initializer_list<Optimizer*>{&sgd, &adam, &adamw, &plain}) {
    Tensor& w = o == &sgd ? w1 : o == &adam ? w2 : o == &adamw ? w3 : w4;
    const double final_loss = least_squares(*o, w, 300);
    INFO("final loss " << final_loss);
    CHECK(final_loss < 0.05 * start);
  }
}

TEST_CASE("clip_grad_norm over many chunks: the exact norm, the same bits on 1 and 2 threads", "[optim]") {
  // 100,003 float32 gradient entries: 13 chunks of the parallel sum, the last one partial.
  const int64_t n = 100003;
  std::vector<double> values(n);
  double expected = 0;
  for (int64_t i = 0; i < n; ++i) {
    values[i] = static_cast<double>(static_cast<float>(std::sin(0.01 * double(i))));
    expected += values[i] * values[i];
  }
  auto norm_on = [&](int threads) {
    Tensor p = zeros({n}).requires_grad_(true);
    sum(p * tensor(values, {n})).backward();
    const int saved = num_threads();
    set_num_threads(threads);
    const double norm = clip_grad_norm({p}, 1.0);
    set_num_threads(saved);
    return std::make_pair(norm, p.grad().to_vector());
  };
  const auto one = norm_on(1), two = norm_on(2);
  CHECK(one.first == Approx(std::sqrt(expected)).epsilon(1e-12));
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
  double clipped = 0;
  for (double g : two.second) clipped += g * g;
  CHECK(std::sqrt(clipped) == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("clip_grad_norm returns the norm before clipping and yields the requested norm", "[optim]") {
  Tensor a = zeros({2}), b = zeros({2});
  a.requires_grad_(), b.requires_grad_();
  a.set_grad(tensor({3, 0}, {2}));
  b.set_grad(tensor({0, 4}, {2}));
  CHECK(clip_grad_norm({a, b}, 1.0) == Approx(5.0));
  const auto ga = a.grad().to_vector(), gb = b.grad().to_vector();
  CHECK(std::sqrt(ga[0] * ga[0] + gb[1] * gb[1]) == Approx(1.0).epsilon(1e-5));
  CHECK(clip_grad_norm({a, b}, 10.0) == Approx(1.0).epsilon(1e-5));  // below the limit: unchanged
  CHECK(a.grad().to_vector()[0] == Approx(0.6).epsilon(1e-5));
}

TEST_CASE("learning-rate schedules", "[optim][schedule]") {
  InverseSqrtSchedule noam(512, 4000);
  CHECK(noam.lr(4000) == Approx(std::pow(512.0, -0.5) * std::pow(4000.0, -0.5)));
  CHECK(noam.lr(1) == Approx(std::pow(512.0, -0.5) * std::pow(4000.0, -1.5)));
  CHECK(noam.lr(16000) == Approx(noam.peak() / 2));
  StepSchedule st(1.0, 10, 0.5);
  CHECK(st.lr(10) == 1.0);
  CHECK(st.lr(11) == 0.5);
  CosineSchedule cos(1.0, 10, 110, 0.1);
  CHECK(cos.lr(5) == Approx(0.5));
  CHECK(cos.lr(60) == Approx(0.55));
  CHECK(cos.lr(110) == Approx(0.1));
  CHECK(ConstantSchedule(0.3).lr(99) == 0.3);
  CHECK_THROWS_AS(CosineSchedule(1.0, 10, 5), Error);
}

TEST_CASE("optimiser state round-trips so training resumes exactly", "[optim][checkpoint]") {
  auto make_w = [] {
    Tensor w = zeros({5, 1});
    w.requires_grad_();
    return w;
  };
  Tensor w_full = make_w();
  Adam full(single_group({w_full}, 0.05));
  least_squares(full, w_full, 20);

  Tensor w_half = make_w();
  Adam half(single_group({w_half}, 0.05));
  least_squares(half, w_half, 10);
  const auto path = std::string(XGRAD_BINARY_DIR) + "/optim_state.safetensors";
  NamedTensors st = half.state();
  st.emplace_back("w", w_half);
  save_safetensors(path, st);

  const SafetensorsFile file = load_safetensors(path);
  Tensor w_resumed = make_w();
  Adam resumed(single_group({w_resumed}, 0.05));
  for (auto& [n, t] : file.tensors)
    if (n == "w") w_resumed.copy_(t);
  resumed.load_state(file.tensors);
  CHECK(resumed.step_count() == 10);
  least_squares(resumed, w_resumed, 10);
  CHECK(w_resumed.to_vector() == w_full.to_vector());  // bit-exact
  NamedTensors missing = {file.tensors[0]};
  CHECK_THROWS_AS(resumed.load_state(missing), FormatError);
}

TEST_CASE("a schedule attached to the optimiser resumes mid warm-up as an uninterrupted run", "[optim][schedule][checkpoint]") {
  auto make_w = [] {
    Tensor w = zeros({5, 1});
    w.requires_grad_();
    return w;
  };
  const auto warmup = std::make_shared<InverseSqrtSchedule>(16, 8, 0.5);  // warm-up over 8 steps
  Tensor w_full = make_w();
  Adam full(single_group({w_full}, 123.0));  // the constructor's rate: replaced by the schedule
  full.set_schedule(warmup);
  least_squares(full, w_full, 12);
  CHECK(full.lr() == warmup->lr(12));

  Tensor w_half = make_w();
  Adam half(single_group({w_half}, 123.0));
  half.set_schedule(warmup);
  least_squares(half, w_half, 5);  // stopped in the middle of warm-up
  NamedTensors st = half.state();
  Tensor w_resumed = make_w();
  w_resumed.copy_(w_half);
  Adam resumed(single_group({w_resumed}, 123.0));
  resumed.load_state(st);
  CHECK(resumed.lr() == warmup->lr(5));  // the saved rate, not the constructor's
  resumed.set_schedule(warmup);
  least_squares(resumed, w_resumed, 7);
  CHECK(w_resumed.to_vector() == w_full.to_vector());  // bit-exact

  // Without a schedule, a rate set by hand is part of the state too.
  Adam manual(single_group({w_half}, 0.05));
  manual.set_lr(0.0125);
  Adam restored(single_group({w_half}, 0.05));
  restored.load_state(manual.state());
  CHECK(restored.lr() == 0.0125);
  // A bad saved rate is refused, naming it.
  NamedTensors bad = manual.state();
  for (auto& [name, t] : bad)
    if (name == "optim.lr.0") t = tensor({-1.0}, {}, DType::Float64);
  CHECK_THROWS_WITH(restored.load_state(bad), Catch::Matchers::Contains("'optim.lr.0' is -1"));
}

TEST_CASE("optimiser state with a NaN, negative or fractional step is refused, naming the step",
          "[optim][checkpoint][reliability]") {
  Tensor w = zeros({5, 1});
  w.requires_grad_();
  Adam adam(single_group({w}, 0.05));
  least_squares(adam, w, 3);
  for (double bad : {std::nan(""), -5.0, 3.7, 1e300}) {
    NamedTensors st = adam.state();
    for (auto& [name, t] : st)
      if (name == "optim.step") t = tensor({bad}, {}, DType::Float64);
    Adam fresh(single_group({w}, 0.05));
    INFO("step " << bad);
    CHECK_THROWS_WITH(fresh.load_state(st), Catch::Matchers::Contains("'optim.step' is"));
  }
}
