#pragma once
// Process-wide settings for training programs: call tune_runtime(argv) first thing in main().
//
// 1. OpenBLAS picks its kernels from the CPU model when it loads. On virtual machines that
//    report a generic CPU ("Intel(R) Xeon(R) Processor"), OpenBLAS 0.3.21 falls back to its
//    Prescott (SSE3) kernels: 33 GFLOP/s single-threaded sgemm instead of 154 with its SkylakeX
//    (AVX-512) kernels, measured on this project's 2-core machine. When OPENBLAS_CORETYPE is
//    unset and OpenBLAS chose Prescott on a CPU with AVX-512 (or AVX2), tune_runtime sets it to
//    SkylakeX (or Haswell).
// 2. It sets OMP_WAIT_POLICY=passive when unset: with OpenMP's default spin-waiting, our OpenMP
//    threads and OpenBLAS's own threads fought for the 2 cores (an RNN training step took 320 ms
//    on 2 threads against 111 ms with passive waiting).
//    Both variables are read when the libraries load, so when either changes, the program
//    re-executes itself once with the same arguments.
// 3. Denormal floats are flushed to zero (FTZ and DAZ): PyTorch's post-LN transformer lost ~30% of
//    its speed to denormals without torch.set_flush_denormal(True). Threads started after the
//    call inherit it; OpenBLAS's pool, started when the library loaded, keeps the default.
// 4. glibc's allocator keeps freed memory instead of returning large blocks to the kernel:
//    every training step allocates and frees the same tensors, and fresh pages cost page faults
//    (7% of a transformer step; the RNN step went from 84 to 72 ms).
namespace xg {

void tune_runtime(char** argv);
// OpenBLAS's name for the kernels in use ("SkylakeX", "Prescott", ...).
const char* blas_core_name();

}  // namespace xg
