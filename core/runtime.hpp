#pragma once
// Process-wide settings for training programs: call tune_runtime(argv) first thing in main().
//
// 1. OpenBLAS picks its kernels from the CPU model when it loads. On virtual machines that
//    report a generic CPU ("Intel(R) Xeon(R) Processor"), OpenBLAS 0.3.21 falls back to its
//    Prescott (SSE3) kernels: 33 GFLOP/s single-threaded sgemm instead of 154 with its SkylakeX
//    (AVX-512) kernels, measured on this project's 2-core machine. When OPENBLAS_CORETYPE is
//    unset and OpenBLAS chose Prescott on a CPU with AVX-512 (or AVX2), tune_runtime sets it to
//    SkylakeX (or Haswell).
// 2. Threads: xgrad's OpenMP threads own the cores. OpenBLAS runs single-threaded (set before
//    the first product) and xgrad cuts each large product into one block per OpenMP thread
//    (core/detail/blas.cpp); set the thread count with xg::set_num_threads or OMP_NUM_THREADS.
//    With OpenBLAS's own pool beside ours, its idle workers spun in sched_yield (26% of a
//    2-thread transformer step) and OpenMP's default spin-waiting fought them for the cores (an
//    RNN step took 320 ms on 2 threads against 111 ms with passive waiting). tune_runtime sets
//    OMP_WAIT_POLICY=passive and GOMP_SPINCOUNT=20000 when unset: an idle thread spins briefly
//    (the next region usually starts within microseconds), then sleeps instead of burning a core;
//    and OPENBLAS_NUM_THREADS=1, so that OpenBLAS starts no pool of its own.
//    These variables are read when the libraries load, so when one changes, the program
//    re-executes itself once with the same arguments.
// 3. Denormal floats are flushed to zero (FTZ and DAZ): PyTorch's post-LN transformer lost ~30% of
//    its speed to denormals without torch.set_flush_denormal(True). Threads started after the
//    call inherit it; OpenBLAS's pool, started when the library loaded, keeps the default.
// 4. glibc's allocator keeps freed memory instead of returning large blocks to the kernel:
//    every training step allocates and frees the same tensors, and fresh pages cost page faults
//    (7% of a transformer step; the RNN step went from 84 to 72 ms).
#include <cstdint>

namespace xg {

void tune_runtime(char** argv);
// OpenBLAS's name for the kernels in use ("SkylakeX", "Prescott", ...).
const char* blas_core_name();

// The number of threads xgrad's kernels use (OpenMP's; OpenBLAS itself stays single-threaded),
// like torch.set_num_threads. n <= 0 leaves it unchanged. Starts from OMP_NUM_THREADS, or the
// number of cores.
void set_num_threads(int n);
int num_threads();

// Called by a thread that runs one part of a batch inside a parallel region (parallel_backward,
// the decoding parts): the parallel regions of the operations it runs get one thread each, also
// when the user allows nested parallelism (OMP_MAX_ACTIVE_LEVELS > 1), which would otherwise give
// every part's every operation a full team of its own. Lasts until the enclosing region ends.
void one_thread_per_nested_region();

// Floating-point operations (2·m·n·k each) of all matrix products run so far, in every thread.
// The difference across a training step, over the step's time, is the rate its products
// reached; over the machine's sgemm rate, the time the products alone need at that rate.
uint64_t matrix_product_flops();

}  // namespace xg
