#include <xgrad/core/runtime.hpp>

#include <malloc.h>
#include <omp.h>
#include <xmmintrin.h>

#include <cstdlib>
#include <cstring>
#include <unistd.h>

extern "C" char* openblas_get_corename(void);

namespace xg {

const char* blas_core_name() { return openblas_get_corename(); }

void set_num_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

// nthreads-var belongs to the calling thread's implicit task, which ends with the region.
void one_thread_per_nested_region() { omp_set_num_threads(1); }

void tune_runtime(char** argv) {
  // Flush denormals to zero and treat denormal inputs as zero (MXCSR FTZ | DAZ) in this thread;
  // threads it creates later (OpenMP's pool) inherit the setting.
  _mm_setcsr(_mm_getcsr() | 0x8040);
  ::mallopt(M_MMAP_THRESHOLD, 256 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  ::mallopt(M_TOP_PAD, 64 << 20);
  if (std::getenv("XGRAD_REEXECUTED") != nullptr) return;  // once only
  bool changed = false;
  const char* core = openblas_get_corename();
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && core != nullptr && std::strcmp(core, "Prescott") == 0) {
    const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : nullptr;
    if (better != nullptr) ::setenv("OPENBLAS_CORETYPE", better, 1), changed = true;
  }
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) ::setenv("OMP_WAIT_POLICY", "passive", 1), changed = true;
  if (std::getenv("GOMP_SPINCOUNT") == nullptr) ::setenv("GOMP_SPINCOUNT", "20000", 1), changed = true;
  // OpenBLAS starts its thread pool when it loads, and an idle pool thread spins in sched_yield
  // for a while; xgrad never hands it work (core/detail/blas.cpp), so it should not exist.
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) ::setenv("OPENBLAS_NUM_THREADS", "1", 1), changed = true;
  if (!changed) return;
  ::setenv("XGRAD_REEXECUTED", "1", 1);
  ::execv("/proc/self/exe", argv);
  // execv only returns on failure: carry on with the slow kernels rather than fail.
}

}  // namespace xg
