#pragma once
/// \file
/// Process-wide settings for training programs. Call tune_runtime() first thing in main().
///
/// In-process (always applied by tune_runtime):
/// - Denormal floats are flushed to zero (FTZ and DAZ): PyTorch's post-LN transformer lost ~30% of
///   its speed to denormals without torch.set_flush_denormal(True). Threads started after the
///   call inherit it; OpenBLAS's pool, started when the library loaded, keeps the default.
/// - glibc's allocator keeps freed memory instead of returning large blocks to the kernel: every
///   training step allocates and frees the same tensors, and fresh pages cost page faults (7% of
///   a transformer step; the RNN step went from 84 to 72 ms).
/// - OpenBLAS runs single-threaded: xgrad's OpenMP threads own the cores and cut each large
///   product into one block per thread (core/detail/blas.cpp); set the count with
///   xg::set_num_threads or OMP_NUM_THREADS.
///
/// Read only when the libraries load, so they cannot be changed from inside the program; the
/// report lists the ones that are unset, with the value xgrad wants and why:
/// - OPENBLAS_CORETYPE. On virtual machines that report a generic CPU ("Intel(R) Xeon(R)
///   Processor"), OpenBLAS 0.3.21 falls back to its Prescott (SSE3) kernels: 33 GFLOP/s
///   single-threaded sgemm instead of 154 with SkylakeX (AVX-512), measured on this project's
///   2-core machine. Wanted only when OpenBLAS chose Prescott on a CPU with AVX-512 (or AVX2).
/// - OMP_WAIT_POLICY=passive and GOMP_SPINCOUNT=20000: an idle OpenMP thread spins briefly, then
///   sleeps instead of burning a core (an RNN step took 320 ms on 2 threads against 111 ms).
/// - OPENBLAS_NUM_THREADS=1: OpenBLAS starts no pool of its own (its idle workers spun in
///   sched_yield, 26% of a 2-thread transformer step).
/// Either export them before the program starts (the report's advice() prints the line), or opt
/// in to reexecute_with_tuned_environment(argv, report), which restarts the program once with
/// them set, saying so on stderr. xgrad never restarts a program on its own: code before the
/// call would run twice.
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

/// An environment variable that is read when a library loads, with the value xgrad wants.
struct LoadTimeSetting {
  std::string name;    ///< the environment variable
  std::string value;   ///< the value xgrad wants
  std::string reason;  ///< why, in a few words
};

/// What tune_runtime found: the load-time settings that are missing.
struct RuntimeReport {
  /// Unset variables whose values xgrad wants; empty when the environment is already tuned.
  std::vector<LoadTimeSetting> missing;
  bool tuned() const { return missing.empty(); }  ///< nothing missing
  /// "export NAME=value ..." for a shell, or "" when nothing is missing.
  std::string advice() const;
};

/// Applies the in-process settings and reports the load-time ones that are missing. Never
/// re-executes the program.
RuntimeReport tune_runtime();

/// Opt-in: when `report` lists missing settings, prints them and the reason to stderr, sets them
/// and re-executes this program (/proc/self/exe with the same argv) once; returns when nothing
/// is missing, in the re-executed process, or when exec fails (the program carries on untuned).
/// Call it first thing in main(): everything before it runs twice.
void reexecute_with_tuned_environment(char** argv, const RuntimeReport& report);
/// OpenBLAS's name for the kernels in use ("SkylakeX", "Prescott", ...).
const char* blas_core_name();

/// The number of threads xgrad's kernels use (OpenMP's; OpenBLAS itself stays single-threaded),
/// like torch.set_num_threads. n <= 0 leaves it unchanged. Starts from OMP_NUM_THREADS, or the
/// number of cores.
void set_num_threads(int n);
int num_threads();  ///< the number of threads xgrad's kernels use

/// Called by a thread that runs one part of a batch inside a parallel region (parallel_backward,
/// the decoding parts): the parallel regions of the operations it runs get one thread each, also
/// when the user allows nested parallelism (OMP_MAX_ACTIVE_LEVELS > 1), which would otherwise give
/// every part's every operation a full team of its own. Lasts until the enclosing region ends.
void one_thread_per_nested_region();

/// Floating-point operations (2·m·n·k each) of all matrix products run so far, in every thread.
/// The difference across a training step, over the step's time, is the rate its products
/// reached; over the machine's sgemm rate, the time the products alone need at that rate.
uint64_t matrix_product_flops();

}  // namespace xg
