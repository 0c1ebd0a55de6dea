#pragma once
// OpenBLAS picks its kernels from the CPU model at load time. On virtual machines that report a
// generic CPU ("Intel(R) Xeon(R) Processor"), OpenBLAS 0.3.21 falls back to its Prescott (SSE3)
// kernels: 33 GFLOP/s single-threaded sgemm instead of 154 with its SkylakeX (AVX-512) kernels,
// measured on this project's 2-core machine. The choice cannot be changed after loading, so a
// program calls this first thing in main(): when OPENBLAS_CORETYPE is unset and OpenBLAS chose
// Prescott on a CPU with AVX-512 (or AVX2), it sets OPENBLAS_CORETYPE to SkylakeX (or Haswell)
// and re-executes the program with the same arguments. It also sets OMP_WAIT_POLICY=passive
// (when unset) in that environment: with OpenMP's default spin-waiting, our OpenMP threads and
// OpenBLAS's own threads fought for the 2 cores (an RNN training step took 320 ms on 2 threads
// against 111 ms with passive waiting). Otherwise it returns and does nothing.
namespace xg {

void use_fast_blas_kernels(char** argv);
// OpenBLAS's name for the kernels in use ("SkylakeX", "Prescott", ...).
const char* blas_core_name();

}  // namespace xg
