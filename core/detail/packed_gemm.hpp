#pragma once
// Internal: float32 products C = init + A · B where B is fixed over many calls (a recurrent
// weight over the time steps, a decoder's weights over the decoding steps). B is laid out once in
// panels of 32 columns (panel p holds B[k][32p + j] at [(p·K + k)·32 + j], zeros past the last
// column), and an AVX-512 kernel computes 8×32 blocks of C from it. OpenBLAS packs its operands
// again on every call: for a 64-row decoding product against a 768×256 weight that packing cost as
// much as a third of the kernel time (sgemm_incopy, 18% of a GRU decode).
#include <cstdint>
#include <memory>

namespace xg::packed_gemm {

// Whether the kernel runs on this CPU (AVX-512F) and is not switched off with set_enabled(false).
bool available();
// Switch for tests and A/B measurements: with false, callers take their BLAS path instead.
void set_enabled(bool enabled);

// What multiply() does to each element of C once its sum is complete, before storing it.
struct Finish {
  enum class Kind { none, relu, gate };
  Kind kind = Kind::none;  // relu: max(c, 0); gate: c where gate > 0 (times scale if given), else 0
  const float* gate = nullptr;   // (m, n), row stride ld: a ReLU's output, for its backward
  const float* scale = nullptr;  // (m, n), row stride ld, optional: dropout's multipliers
  int64_t ld = 0;
};

class Panels {
 public:
  Panels() = default;
  // B = Wᵀ for W (n, k) row-major (a Linear weight (out, in): y = x Wᵀ).
  static Panels of_transposed(const float* w, int64_t n, int64_t k);
  // B (k, n) row-major, as stored (a Linear weight in the input gradient g W).
  static Panels of_plain(const float* b, int64_t k, int64_t n);
  int64_t k() const { return k_; }
  int64_t n() const { return n_; }

  // C (m, n), row stride ldc, = init + A (m, k; row stride lda) · B. init: nothing (zeros) when
  // init_rows is null, else row i starts from init_rows + i · init_stride (stride 0: one bias row
  // for every row; ldc with init_rows == c: accumulate into C). Counts 2mnk product flops. Each
  // element's sum runs over k in order on one thread, so results do not depend on the thread count.
  void multiply(const float* a, int64_t lda, int64_t m, float* c, int64_t ldc, const float* init_rows,
                int64_t init_stride, const Finish& finish = Finish()) const;

 private:
  template <class CopyRow>
  static Panels build(int64_t k, int64_t n, CopyRow copy_row);
  int64_t k_ = 0, n_ = 0;
  std::unique_ptr<float[]> data_;  // every element written by of_transposed / of_plain
};

}  // namespace xg::packed_gemm
