#include "core/runtime.hpp"
#include "trainer.hpp"

namespace xg::translation {

// OpenMP's threads are the only pool: OpenBLAS runs single-threaded (core/detail/blas.cpp).
void set_threads(int threads) { xg::set_num_threads(threads); }

}  // namespace xg::translation
