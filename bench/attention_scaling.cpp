// How attention's cost grows with the sequence: forward + backward of one multi-head
// self-attention layer (batch 1, d_model 128, 4 heads, float32) with each kernel, for lengths
// 128 ... 8192. Each (kernel, length) runs in a forked child so that its peak memory is its own:
// the child resets its high-water mark (/proc/self/clear_refs), runs one step, and reports peak
// minus the resident memory before it; then it times the median of a few steps.
//
//   xgrad_attention_scaling [--max-length 8192] [--threads 1] [--out results/attention_scaling.json]
//
// Writes the JSON list and two log-scale SVG charts beside it (…_time.svg, …_memory.svg).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plot.hpp"
#include "trainer.hpp"
#include <xgrad/xgrad.hpp>

using namespace xg;

namespace {
struct Kernel {
  const char* name;
  nn::AttentionConfig config;
};

std::vector<Kernel> kernels() {
  std::vector<Kernel> k(4);
  k[0] = {"standard", {}};
  k[0].config.memory_efficient_from = 0;  // the plain kernel at every length
  k[1] = {"memory-efficient", {}};
  k[1].config.memory_efficient_from = 1;
  k[2] = {"window", {}};
  k[2].config.kind = nn::AttentionKind::Window, k[2].config.window = 64, k[2].config.global_tokens = 1;
  k[3] = {"linear", {}};
  k[3].config.kind = nn::AttentionKind::Linear;
  return k;
}

double status_mb(const char* field) {  // VmRSS or VmHWM of this process, in MiB
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::strlen(field) + 1)) / 1024.0;
  return -1;
}

void reset_peak() {
  std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM := VmRSS (Linux >= 4.0)
}

struct Measurement {
  double ms = 0, peak_mb = 0, max_diff = -1;
};

// Runs in the child: one layer, one input, a cold step for memory, then timed steps.
Measurement measure(const Kernel& kernel, int64_t length, int repeats) {
  manual_seed(1);
  nn::MultiHeadAttention layer(128, 4, 0.0, kernel.config);
  Tensor x = randn({1, length, 128});
  x.requires_grad_(true);
  auto step = [&] {
    layer.zero_grad();
    x.zero_grad();
    Tensor out = layer.forward(x, x, x).context;
    sum(out).backward();
    return out;
  };
  Measurement m;
  const double before = status_mb("VmRSS:");
  reset_peak();
  const Tensor out = step();
  m.peak_mb = status_mb("VmHWM:") - before;
  if (kernel.config.memory_efficient_from == 1) {  // exactness against the plain kernel
    NoGradGuard no_grad;
    nn::AttentionConfig plain;
    plain.memory_efficient_from = 0;
    std::swap(layer.config, plain);
    const auto a = out.to_vector(), b = layer.forward(x, x, x).context.to_vector();
    std::swap(layer.config, plain);
    m.max_diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m.max_diff = std::max(m.max_diff, std::abs(a[i] - b[i]));
  }
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  m.ms = times[times.size() / 2];
  return m;
}

Measurement in_child(const Kernel& kernel, int64_t length, int repeats) {
  int fds[2];
  if (pipe(fds) != 0) throw Error("pipe failed");
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Measurement m{-1, -1, -1};
    try {
      m = measure(kernel, length, repeats);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s at %lld: %s\n", kernel.name, static_cast<long long>(length), e.what());
    }
    if (write(fds[1], &m, sizeof m) != static_cast<ssize_t>(sizeof m)) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  Measurement m{-1, -1, -1};
  if (read(fds[0], &m, sizeof m) != static_cast<ssize_t>(sizeof m)) m = {-1, -1, -1};
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return m;
}
}  // namespace

int main(int argc, char** argv) {
  // Restarts once (saying why on stderr) unless OpenBLAS and OpenMP were tuned by the environment.
  reexecute_with_tuned_environment(argv, tune_runtime());
  int64_t max_length = 8192;
  int threads = 1;
  std::string out = "results/attention_scaling.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--max-length") max_length = std::stoll(argv[i + 1]);
    else if (a == "--threads") threads = std::stoi(argv[i + 1]);
    else if (a == "--out") out = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  translation::set_threads(threads);
  std::printf("attention scaling: one self-attention layer, batch 1, d_model 128, 4 heads, float32, forward + backward, %d thread(s)\n", threads);
  std::printf("window: 64 keys each side + 1 global token; memory: peak resident growth of a cold step (MiB)\n\n");
  std::printf("%-17s %7s %11s %11s %12s\n", "kernel", "length", "ms", "peak MiB", "max |diff|");
  nlohmann::json results = nlohmann::json::array();
  std::vector<translation::Series> time_series, memory_series;
  std::vector<std::string> labels;
  for (int64_t t = 128; t <= max_length; t *= 2) labels.push_back(std::to_string(t));
  for (const auto& k : kernels()) {
    translation::Series ts{k.name, {}, {}, {}, {}}, ms{k.name, {}, {}, {}, {}};
    std::vector<std::pair<int64_t, double>> seen;
    int index = 0;
    for (int64_t t = 128; t <= max_length; t *= 2, ++index) {
      const Measurement m = in_child(k, t, t >= 4096 ? 2 : 5);
      if (m.ms < 0) {
        std::printf("%-17s %7lld  failed\n", k.name, static_cast<long long>(t));
        continue;
      }
      std::printf("%-17s %7lld %11.2f %11.1f %12s\n", k.name, static_cast<long long>(t), m.ms, m.peak_mb,
                  m.max_diff < 0 ? "-" : fmt::format("{:.2e}", m.max_diff).c_str());
      std::fflush(stdout);
      nlohmann::json row = {{"kernel", k.name}, {"length", t}, {"ms", m.ms}, {"peak_mb", m.peak_mb}, {"threads", threads}};
      if (m.max_diff >= 0) row["max_abs_diff_vs_standard"] = m.max_diff;
      results.push_back(row);
      ts.x.push_back(index), ts.y.push_back(m.ms);
      ms.x.push_back(index), ms.y.push_back(std::max(m.peak_mb, 0.1));
      seen.emplace_back(t, m.ms);
    }
    if (seen.size() >= 2) {  // growth exponent over the last doubling: 1 is linear, 2 quadratic
      const auto& [t1, a] = seen[seen.size() - 2];
      const auto& [t2, b] = seen.back();
      std::printf("%-17s time grows as T^%.2f from %lld to %lld\n", k.name, std::log(b / a) / std::log(double(t2) / double(t1)),
                  static_cast<long long>(t1), static_cast<long long>(t2));
    }
    time_series.push_back(ts), memory_series.push_back(ms);
  }
  translation::write_text_file(out, results.dump(2) + "\n");
  const std::string stem = out.substr(0, out.rfind(".json"));
  translation::write_text_file(stem + "_time.svg",
                               translation::line_chart_svg("Self-attention forward + backward (batch 1, d 128, 4 heads)",
                                                           "sequence length", "milliseconds (log scale)", time_series, labels, 0, -1, true));
  translation::write_text_file(stem + "_memory.svg",
                               translation::line_chart_svg("Peak memory growth of one step", "sequence length",
                                                           "MiB (log scale)", memory_series, labels, 0, -1, true));
  std::printf("\nwrote %s, %s_time.svg, %s_memory.svg\n", out.c_str(), stem.c_str(), stem.c_str());
  return 0;
}
