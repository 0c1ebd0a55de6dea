// Kept apart from the rest: OpenBLAS's own header declares names that clash with xtensor-blas.
#include <omp.h>

extern "C" void openblas_set_num_threads(int);

namespace xg::translation {

void set_threads(int threads) {
  if (threads <= 0) return;
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

}  // namespace xg::translation
