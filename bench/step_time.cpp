// Times xgrad's training step (zero grad, forward, cross-entropy, backward, clip to norm 1,
// Adam step) and greedy decoding of one batch for each translation model, on a synthetic batch
// (batch 64, source and target length 30, vocabularies of 64, dropout 0, float32).
// Usage: step_time [--model rnn|bahdanau|transformer|all] [--steps N] [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <sys/resource.h>

#include "models.hpp"
#include "search.hpp"
#include "trainer.hpp"
#include "core/ops.hpp"
#include "optim/optim.hpp"

using namespace xg;
using namespace xg::translation;

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

data::Batch synthetic_batch(int64_t b, int64_t s, int64_t t, int64_t vocab, uint64_t seed) {
  Generator g(seed);
  std::vector<data::Example> ex;
  for (int64_t i = 0; i < b; ++i) {
    data::Example e;
    for (int64_t j = 0; j < s; ++j) e.src.push_back(4 + static_cast<int64_t>(g.below(static_cast<uint64_t>(vocab - 4))));
    for (int64_t j = 0; j < t - 1; ++j) e.tgt.push_back(4 + static_cast<int64_t>(g.below(static_cast<uint64_t>(vocab - 4))));
    ex.push_back(e);
  }
  std::vector<std::size_t> idx(static_cast<std::size_t>(b));
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  return data::collate(ex, idx);
}
}  // namespace

int main(int argc, char** argv) {
  tune_runtime(argv);
  std::string which = "all";
  int steps = 20, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) which = argv[i + 1];
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  }
  set_threads(threads);
  const data::Batch batch = synthetic_batch(64, 30, 30, 64, 1);
  std::printf("blas kernels: %s\n", blas_core_name());
  for (const std::string model : {"rnn", "bahdanau", "transformer"}) {
    if (which != "all" && which != model) continue;
    ModelConfig c = ModelConfig::defaults(model);
    c.src_vocab = c.tgt_vocab = 64;
    c.dropout = 0;
    manual_seed(1);
    auto m = make_model(c);
    const double rss_built = rss_mb();
    optim::Adam adam(optim::single_group(m->parameters(), 1e-3));
    std::vector<double> train_ms, decode_ms;
    for (int i = 0; i < steps + 3; ++i) {
      const double t0 = now_ms();
      adam.zero_grad();
      Tensor loss = cross_entropy(m->forward(batch), batch.tgt_out, data::Vocabulary::kPad);
      loss.backward();
      optim::clip_grad_norm(m->parameters(), 1.0);
      adam.step();
      if (i >= 3) train_ms.push_back(now_ms() - t0);
    }
    SearchOptions greedy;
    greedy.max_len_a = 0, greedy.max_len_b = 30;  // exactly 30 steps unless every row ends early
    for (int i = 0; i < std::max(3, steps / 4) + 1; ++i) {
      const double t0 = now_ms();
      translate_batch(*m, batch, greedy);
      if (i >= 1) decode_ms.push_back(now_ms() - t0);
    }
    std::printf("%-12s params %8lld  train step %8.1f ms  greedy decode %8.1f ms  peak RSS growth %6.1f MB\n", model.c_str(),
                static_cast<long long>(m->num_parameters()), median(train_ms), median(decode_ms), rss_mb() - rss_built);
  }
}
