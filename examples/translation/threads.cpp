#include <algorithm>
#include <omp.h>

#include <xgrad/core/runtime.hpp>
#include "trainer.hpp"

namespace xg::translation {

// OpenMP's threads are the only pool: OpenBLAS runs single-threaded (core/detail/blas.cpp).
void set_threads(int threads) { xg::set_num_threads(threads); }

// Decoding and training run one part of the batch per thread, each part from start to end by its
// thread alone, where splitting each operation over the threads made them meet twice per
// operation: on 2 threads (A/B on the bench batch of 64) decoding took 0.81-0.87x the time.
std::vector<std::pair<int64_t, int64_t>> parts_for_threads(int64_t rows) {
  const int64_t threads = omp_in_parallel() ? 1 : xg::num_threads();
  const int64_t parts = std::max<int64_t>(1, std::min(threads, rows / 16));
  const int64_t per_part = ((rows + parts - 1) / parts + 7) / 8 * 8;
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t from = 0; from < rows; from += per_part) out.emplace_back(from, std::min(rows, from + per_part));
  return out;
}

}  // namespace xg::translation
