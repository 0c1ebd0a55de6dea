#include <omp.h>

namespace xg::translation {

// OpenMP's threads are the only pool: OpenBLAS runs single-threaded (core/detail/blas.cpp).
void set_threads(int threads) {
  if (threads <= 0) return;
  omp_set_num_threads(threads);
}

}  // namespace xg::translation
