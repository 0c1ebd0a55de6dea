// The xgrad side of `make bench` (bench/run_bench.py drives it over stdin/stdout, alternating
// with bench/torch_worker.py). One command per line, one answer per line:
//   build MODEL THREADS [SIZE]  builds the model and a synthetic batch -> "ok RSS_MB"
//   train                 one training step (zero grad, forward, cross-entropy, backward,
//                         clip to norm 1, Adam step)                     -> "MS"
//   decode                greedy decoding of the batch, 30 steps       -> "MS"
//   flops train|decode    one training step or decoding, GFLOP of its matrix products -> "GFLOP"
//   sgemm THREADS         float32 512x512x512 product through xg::matmul -> "GFLOPS"
//   peak                  peak resident memory                          -> "RSS_MB"
// SIZE "toy" (default): batch 64, source and target length 30, vocabularies of 64, the models'
// default sizes. "real": batch 64 of length 32 (2,048 target tokens), a vocabulary of 8,000, a
// transformer of d_model 512, 8 heads, feed-forward 2048, 6+6 layers; GRUs of 512 over embeddings
// of 256 (bench/torch_models.py SIZES). Dropout 0, float32.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <sys/resource.h>

#include <xgrad/core/ops.hpp>
#include "models.hpp"
#include <xgrad/optim/optim.hpp>
#include "search.hpp"
#include "trainer.hpp"

using namespace xg;
using namespace xg::translation;

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double current_rss_mb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

// Token ids drawn like bench/torch_worker.py draws them (any ids work: speed does not depend on them).
data::Batch synthetic_batch(int64_t b, int64_t len, int64_t vocab) {
  Generator g(1);
  std::vector<data::Example> ex(static_cast<std::size_t>(b));
  for (auto& e : ex) {
    for (int64_t j = 0; j < len; ++j) e.src.push_back(4 + static_cast<int64_t>(g.below(vocab - 4)));
    for (int64_t j = 0; j < len - 1; ++j) e.tgt.push_back(4 + static_cast<int64_t>(g.below(vocab - 4)));
  }
  std::vector<std::size_t> idx(ex.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  return data::collate(ex, idx);
}
}  // namespace

int main(int, char** argv) {
  // Restarts once (saying why on stderr) unless OpenBLAS and OpenMP were tuned by the environment.
  reexecute_with_tuned_environment(argv, tune_runtime());
  data::Batch batch;
  std::shared_ptr<Seq2Seq> model;
  std::unique_ptr<optim::Adam> adam;
  const auto run = [&](const std::string& what) {
    if (what == "train") {
      adam->zero_grad();
      forward_backward(*model, batch);  // as the trainer does: one part of the batch per thread
      optim::clip_grad_norm(model->parameters(), 1.0);
      adam->step();
    } else {
      SearchOptions greedy;
      greedy.max_len_a = 0, greedy.max_len_b = 30;
      translate_batch(*model, batch, greedy);
    }
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "build") {
      std::string name, size = "toy";
      int threads = 1;
      in >> name >> threads >> size;
      set_threads(threads);
      adam.reset();
      model.reset();
      // "NAME:L": L decoder layers (a decoder-only stack as deep as another model's parameter count)
      const auto colon = name.find(':');
      ModelConfig c = ModelConfig::defaults(name.substr(0, colon));
      if (colon != std::string::npos) c.decoder_layers = std::stoll(name.substr(colon + 1));
      const bool real = size == "real";
      c.src_vocab = c.tgt_vocab = real ? 8000 : 64;
      if (real) {
        c.embedding = 256, c.hidden = 512, c.attention = 512;
        c.d_model = 512, c.heads = 8, c.ff = 2048, c.encoder_layers = c.decoder_layers = 6;
      }
      c.dropout = 0;
      batch = real ? synthetic_batch(64, 32, 8000) : synthetic_batch(64, 30, 64);
      manual_seed(1);
      model = make_model(c);
      adam = std::make_unique<optim::Adam>(optim::single_group(model->parameters(), 1e-3));
      std::printf("ok %.1f\n", current_rss_mb());
    } else if (cmd == "train" || cmd == "decode") {
      const double t0 = now_ms();
      run(cmd);
      std::printf("%.3f\n", now_ms() - t0);
    } else if (cmd == "flops") {
      std::string what;
      in >> what;
      if (what != "train" && what != "decode") {
        std::printf("error flops needs train or decode, got '%s'\n", what.c_str());
        std::fflush(stdout);
        continue;
      }
      const uint64_t before = matrix_product_flops();
      run(what);
      std::printf("%.4f\n", static_cast<double>(matrix_product_flops() - before) / 1e9);
    } else if (cmd == "sgemm") {
      int threads = 1;
      in >> threads;
      set_threads(threads);
      const Tensor a = randn({512, 512}), b = randn({512, 512});
      for (int i = 0; i < 3; ++i) matmul(a, b);
      const int reps = 30;
      const double t0 = now_ms();
      for (int i = 0; i < reps; ++i) matmul(a, b);
      const double ms = (now_ms() - t0) / reps;
      std::printf("%.1f\n", 2.0 * 512 * 512 * 512 / (ms * 1e6));
    } else if (cmd == "params") {
      int64_t count = 0;
      for (const auto& p : model->parameters()) count += p.numel();
      std::printf("%lld\n", static_cast<long long>(count));
    } else if (cmd == "peak") {
      std::printf("%.1f\n", peak_rss_mb());
    } else if (cmd == "quit") {
      break;
    } else {
      std::printf("error unknown command '%s'\n", cmd.c_str());
    }
    std::fflush(stdout);
  }
}
