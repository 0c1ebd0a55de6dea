// An outside project against the installed xgrad, written from the API reference: a user-defined op
// with its own backward (checked by gradcheck), a layer built on it, a model trained on tensors
// through the general loader with int64 labels and an Adam optimiser under a warm-up schedule,
// stopped mid warm-up and resumed from a checkpoint: the resumed run must end bit-identical to
// an uninterrupted one. Also links xgrad::distributed (not under mpirun: a world of one).
// Exits 0 when every check holds.
#include <cmath>
#include <cstdio>
#include <string>

#include "data/loader.hpp"  // the project's own header of that name (include/data/loader.hpp)
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/xgrad.hpp>

using namespace xg;

// softsign(x) = x / (1 + |x|), with a hand-written backward: 1 / (1 + |x|)^2.
struct Softsign : CustomOp<Softsign> {
  static const char* name() { return "softsign"; }
  static Tensor forward(OpContext& ctx, const Tensor& x) {
    const Tensor denom = abs(x) + 1.0;
    ctx.save_for_backward({denom});
    return x / denom;
  }
  static std::vector<Tensor> backward(OpContext& ctx, const Tensor& grad) {
    const Tensor& denom = ctx.saved[0];
    return {grad / (denom * denom)};
  }
};

// A layer: Linear then softsign.
class SoftsignLinear : public nn::UnaryModule {
 public:
  SoftsignLinear(int64_t in, int64_t out) : UnaryModule("SoftsignLinear") {
    proj = register_module("proj", std::make_shared<nn::Linear>(in, out));
  }
  Tensor forward(const Tensor& x) override { return Softsign::apply(proj->forward(x)); }
  std::shared_ptr<nn::Linear> proj;
};

namespace {
int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

// Three classes of points around three centres; labels int64.
data::TensorDataset make_dataset() {
  Generator gen(7);
  std::vector<double> x;
  std::vector<int64_t> y;
  const double centres[3][2] = {{1.5, 0}, {-1, 1.2}, {-1, -1.2}};
  for (int i = 0; i < 240; ++i) {
    const int c = i % 3;
    x.push_back(centres[c][0] + 0.5 * gen.normal());
    x.push_back(centres[c][1] + 0.5 * gen.normal());
    y.push_back(c);
  }
  return data::TensorDataset({Tensor::from_vector(x, {240, 2}), Tensor::from_ints(y, {240})});
}

struct Run {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Adam> opt;
};
Run make_run() {
  manual_seed(3);
  Run r;
  r.model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::UnaryModule>>{
      std::make_shared<SoftsignLinear>(2, 16), std::make_shared<nn::Linear>(16, 3)});
  r.opt = std::make_unique<optim::Adam>(optim::single_group(r.model->parameters(), 0.0));
  r.opt->set_schedule(std::make_shared<optim::CosineSchedule>(0.05, 40, 120));  // warm-up: 40 steps
  return r;
}

// Trains from the loader's position until `last_step` steps are done; returns the last loss.
double train(Run& r, data::TensorLoader& loader, int64_t last_step) {
  double loss_value = 0;
  while (r.opt->step_count() < last_step) {
    const auto batch = loader.next();  // {x (B, 2), y (B) int64}
    const Tensor loss = cross_entropy(r.model->forward(batch[0]), batch[1]);
    r.opt->zero_grad();
    loss.backward();
    r.opt->step();
    loss_value = loss.item();
  }
  return loss_value;
}
}  // namespace

int main(int argc, char** argv) {
  xg::distributed::init(&argc, &argv);
  check(xg::distributed::world_size() == 1 && xg::distributed::is_primary(), "distributed: a world of one");
  consumer::CsvLoader own;  // our header, not xgrad's
  check(own.rows == 0, "the project's own data/loader.hpp coexists with xgrad's");

  // 1. The custom op's gradient by finite differences, in float64.
  Tensor x = randn({4, 3}, DType::Float64);
  x.requires_grad_();
  const GradcheckResult g = gradcheck([](const std::vector<Tensor>& v) { return Softsign::apply(v[0]); }, {x});
  check(g.ok, "gradcheck of softsign: " + g.message);

  // 2. Uninterrupted: 120 steps.
  const data::TensorDataset dataset = make_dataset();
  const data::ShuffledSampler sampler(dataset.size(), 24, 11);
  Run full = make_run();
  data::TensorLoader full_loader(dataset, sampler);
  const double first_loss = train(full, full_loader, 1);
  const double full_loss = train(full, full_loader, 120);
  check(full_loss < 0.5 * first_loss, "training: loss " + std::to_string(first_loss) + " -> " + std::to_string(full_loss));
  const auto xy = data::stack_items({dataset.get(0), dataset.get(1), dataset.get(2), dataset.get(3), dataset.get(4), dataset.get(5)});
  const Tensor predicted = argmax(full.model->forward(xy[0]), 1);
  check(sum(eq(predicted, xy[1])).item() >= 5, "at least 5 of 6 training points classified right");

  // 3. Interrupted at step 25 (inside the 40-step warm-up), saved, resumed in a new run.
  const std::string path = "consumer_checkpoint.safetensors";
  {
    Run first = make_run();
    data::TensorLoader loader(dataset, sampler);
    train(first, loader, 25);
    NamedTensors extra = first.opt->state();
    extra.emplace_back("loader.epoch", scalar(static_cast<double>(loader.epoch()), DType::Int64));
    extra.emplace_back("loader.batch", scalar(static_cast<double>(loader.batch_in_epoch()), DType::Int64));
    nn::save_checkpoint(*first.model, path, extra);
  }
  Run resumed = make_run();
  const SafetensorsFile saved = nn::load_checkpoint(*resumed.model, path, {"optim.", "loader."});
  resumed.opt->load_state(saved.tensors);
  int64_t epoch = -1, batch = -1;
  for (const auto& [name, t] : saved.tensors) {
    if (name == "loader.epoch") epoch = t.to_ints()[0];
    if (name == "loader.batch") batch = t.to_ints()[0];
  }
  check(resumed.opt->lr() == full.opt->schedule()->lr(25), "the restored rate is the schedule's at step 25");
  data::TensorLoader resumed_loader(dataset, sampler, nullptr, epoch, batch);
  train(resumed, resumed_loader, 120);
  const auto a = full.model->named_parameters(), b = resumed.model->named_parameters();
  bool same = a.size() == b.size();
  for (std::size_t i = 0; same && i < a.size(); ++i) same = a[i].second.to_vector() == b[i].second.to_vector();
  check(same, "resumed at step 25 of 120 == uninterrupted, bit for bit");
  std::remove(path.c_str());

  xg::distributed::finalize();
  std::printf("%s\n", failures ? "consumer: FAILED" : "consumer: all checks passed");
  return failures ? 1 : 0;
}
