#include <xgrad/core/runtime.hpp>

#include <malloc.h>
#include <omp.h>
#include <xmmintrin.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

extern "C" char* openblas_get_corename(void);
extern "C" void openblas_set_num_threads(int);

namespace xg {

const char* blas_core_name() { return openblas_get_corename(); }

void set_num_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

// nthreads-var belongs to the calling thread's implicit task, which ends with the region.
void one_thread_per_nested_region() { omp_set_num_threads(1); }

std::string RuntimeReport::advice() const {
  if (missing.empty()) return "";
  std::string line = "export";
  for (const auto& m : missing) line += " " + m.name + "=" + m.value;
  return line;
}

RuntimeReport tune_runtime() {
  // Flush denormals to zero and treat denormal inputs as zero (MXCSR FTZ | DAZ) in this thread;
  // threads it creates later (OpenMP's pool) inherit the setting.
  _mm_setcsr(_mm_getcsr() | 0x8040);
  ::mallopt(M_MMAP_THRESHOLD, 256 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  ::mallopt(M_TOP_PAD, 64 << 20);
  openblas_set_num_threads(1);
  RuntimeReport report;
  auto want = [&](const char* name, const std::string& value, const char* reason) {
    if (std::getenv(name) == nullptr) report.missing.push_back({name, value, reason});
  };
  const char* core = openblas_get_corename();
  if (core != nullptr && std::strcmp(core, "Prescott") == 0) {
    const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : nullptr;
    if (better != nullptr)
      want("OPENBLAS_CORETYPE", better, "OpenBLAS chose its SSE3 (Prescott) kernels on a CPU with wider vectors: sgemm about 4.7x slower");
  }
  want("OMP_WAIT_POLICY", "passive", "idle OpenMP threads sleep instead of spinning against busy ones");
  want("GOMP_SPINCOUNT", "20000", "idle OpenMP threads spin briefly before sleeping");
  want("OPENBLAS_NUM_THREADS", "1", "OpenBLAS starts no idle thread pool beside xgrad's threads");
  return report;
}

void reexecute_with_tuned_environment(char** argv, const RuntimeReport& report) {
  if (report.tuned() || std::getenv("XGRAD_REEXECUTED") != nullptr) return;  // once only
  std::string why;
  for (const auto& m : report.missing) {
    why += (why.empty() ? "" : "; ") + m.name + ": " + m.reason;
    ::setenv(m.name.c_str(), m.value.c_str(), 1);
  }
  std::fprintf(stderr, "xgrad: restarting once with settings read when the libraries load (%s to skip this)\n  why: %s\n",
               report.advice().c_str(), why.c_str());
  std::fflush(stderr);
  ::setenv("XGRAD_REEXECUTED", "1", 1);
  ::execv("/proc/self/exe", argv);
  // execv only returns on failure: carry on with the slow settings rather than fail.
  std::fprintf(stderr, "xgrad: restart failed (%s); continuing without those settings\n", std::strerror(errno));
}

}  // namespace xg
