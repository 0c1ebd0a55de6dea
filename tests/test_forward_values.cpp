// Forward values against numbers computed independently by PyTorch 1.13 in float64
// (tests/reference/core_forward.py prints them) or by hand.
#include <algorithm>
#include <thread>

#include <xgrad/core/detail/blas.hpp>
#include "helpers.hpp"

using namespace xg;
using xgtest::require_close;
using xgtest::seq;

TEST_CASE("matmul 2-D matches PyTorch", "[forward][matmul]") {
  const Tensor a = seq({2, 3}), b = seq({3, 4}, 0.3, 1.5, 1.0);
  require_close(matmul(a, b), {0.8070743202460567, -0.40974162433670736, -1.5899565699309632,
                               -2.6281454304233685, 3.2605256494469668, 3.654273477273088,
                               3.721595938718818, 3.4564793188064096});
}

TEST_CASE("matmul batched 3-D matches PyTorch", "[forward][matmul]") {
  const Tensor a = seq({2, 2, 3}, 0.5), b = seq({2, 3, 2}, 0.9, 1.0, 0.5);
  require_close(matmul(a, b), {-0.6620926470106885, -1.669786017820631, 1.3331526893610453,
                               0.7120244802219526, -0.685039530086561, 0.877232466365943,
                               -1.0581613215086356, -1.206353860315174});
}

TEST_CASE("matmul float32 agrees with float64", "[forward][matmul]") {
  const Tensor a = seq({5, 7}), b = seq({7, 3}, 0.2);
  const auto expect = matmul(a, b).to_vector();
  require_close(matmul(a.to(DType::Float32), b.to(DType::Float32)), expect, 1e-5);
}

TEST_CASE("matmul broadcasts a 2-D operand over the batch", "[forward][matmul]") {
  const Tensor a = seq({3, 2, 4}), b = seq({4, 5}, 0.3);
  const Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{3, 2, 5});
  for (int64_t i = 0; i < 3; ++i) require_close(select(c, 0, i), matmul(select(a, 0, i), b).to_vector());
  const Tensor d = matmul(b.detach().to(DType::Float64), seq({2, 5, 3}, 0.4));
  REQUIRE(d.shape() == Shape{2, 4, 3});
  require_close(select(d, 0, 1), matmul(b, select(seq({2, 5, 3}, 0.4), 0, 1)).to_vector());
}

TEST_CASE("the GEMM wrapper: vector shapes, products split across threads, every transposition", "[forward][matmul]") {
  // C = alpha op(A) op(B) + beta C against a plain triple loop, with padded leading dimensions:
  // m = 1 and n = 1 go through gemv, m·n·k above blas::kThreadedFrom is cut into blocks per thread
  // (by rows when m >= n, by columns otherwise).
  // The suite runs with OMP_NUM_THREADS=1, so the thread counts are set here (3: uneven pieces).
  const int saved_threads = num_threads();
  struct Case { int64_t m, n, k; };
  for (const int threads : {1, 2, 3})
  for (const Case cs : {Case{1, 7, 5}, Case{6, 1, 9}, Case{1, 1, 4}, Case{300, 70, 50}, Case{40, 333, 41}, Case{3, 4, 5}}) {
    set_num_threads(threads);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int64_t m = cs.m, n = cs.n, k = cs.k;
        const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
        std::vector<double> a((ta ? k : m) * lda), b((tb ? n : k) * ldb), c(m * ldc), expected;
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.3 * double(i));
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = std::cos(0.7 * double(i));
        for (std::size_t i = 0; i < c.size(); ++i) c[i] = 0.01 * double(i % 13);
        expected = c;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double dot = 0;
            for (int64_t p = 0; p < k; ++p) dot += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            expected[i * ldc + j] = 1.5 * dot - 0.5 * c[i * ldc + j];
          }
        blas::gemm<double>(ta, tb, m, n, k, 1.5, a.data(), lda, b.data(), ldb, -0.5, c.data(), ldc);
        INFO("threads " << threads << " m " << m << " n " << n << " k " << k << " trans_a " << ta << " trans_b " << tb);
        require_close(c, expected, 1e-11);
      }
  }
  set_num_threads(3);
  set_num_threads(0);  // leaves it unchanged
  CHECK(num_threads() == 3);
  set_num_threads(saved_threads);
}

TEST_CASE("softmax and log_softmax match PyTorch", "[forward][softmax]") {
  const Tensor x = seq({2, 4}, 1.3, 3.0);
  require_close(softmax(x, -1), {0.041968289903029116, 0.7556579956143995, 0.19704230389753438,
                                 0.005331410585036949, 0.0028733036080232305, 0.07757043653722984,
                                 0.8135899189632009, 0.10596634089154608});
  require_close(softmax(x, 0), {0.9340334198848959, 0.9042456144672488, 0.19013612412622802,
                                0.04650414787702783, 0.0659665801151041, 0.09575438553275109,
                                0.809863875873772, 0.9534958521229723});
  require_close(log_softmax(x, 1), {-3.1708409481653814, -0.28016639191380255, -1.624336832700989,
                                    -5.234139425717303, -5.852292828263692, -2.5565688968397864,
                                    -0.20629882497941782, -2.2446337740551763});
}

TEST_CASE("softmax is stable for huge and -inf logits and fully masked rows", "[forward][softmax]") {
  const double inf = INFINITY;
  const Tensor x = tensor({1000, 1001, -inf, 5, -inf, -inf, -inf, -inf}, {2, 4}, DType::Float32);
  const double e = std::exp(-1.0);
  require_close(softmax(x), {e / (1 + e), 1 / (1 + e), 0, 0, 0, 0, 0, 0}, 1e-6);
  const auto ls = log_softmax(x).to_vector();
  CHECK(ls[1] == Approx(-std::log1p(e)).epsilon(1e-6));
  CHECK(ls[2] == -inf);
  CHECK(ls[4] == -inf);  // fully masked row: -inf, documented
}

TEST_CASE("layer_norm matches PyTorch", "[forward][layer_norm]") {
  const Tensor x = seq({3, 4}, 0.4, 2.0, 0.2);
  const Tensor w = seq({4}, 1.1, 0.5, 0.3) + 1.0, b = seq({4}, 0.8, 0.2);
  require_close(layer_norm(x, w, b, 1e-5),
                {-1.7170095048546397, -0.2690051922721862, 1.0395244775350978, 1.011997665807682,
                 1.3205895567225496, 1.0810040976043216, -0.18699695143118897, -1.0181030092873093,
                 1.7356002569106352, 0.5198772109680112, -0.6657019743930893, -0.7200202770836426});
}

TEST_CASE("layer_norm over rows wider than its 16 partial sums equals the formula in float64", "[forward][layer_norm]") {
  // Rows of 16, 37 and 128 (the transformer's width) with a mean of 3 and a spread of about 1,
  // in float32 and float64, against mean, variance and normalisation written out in double.
  for (const int64_t c : {16, 37, 128}) {
    const int64_t rows = 5;
    const Tensor x64 = seq({rows, c}, 0.37, 2.0, 3.0), w64 = seq({c}, 1.1, 0.5, 1.0), b64 = seq({c}, 0.8, 0.2);
    const auto xv = x64.to_vector(), wv = w64.to_vector(), bv = b64.to_vector();
    std::vector<double> want(xv.size());
    for (int64_t r = 0; r < rows; ++r) {
      double m = 0, v = 0;
      for (int64_t j = 0; j < c; ++j) m += xv[r * c + j] / static_cast<double>(c);
      for (int64_t j = 0; j < c; ++j) v += (xv[r * c + j] - m) * (xv[r * c + j] - m) / static_cast<double>(c);
      for (int64_t j = 0; j < c; ++j) want[r * c + j] = (xv[r * c + j] - m) / std::sqrt(v + 1e-5) * wv[j] + bv[j];
    }
    INFO("row width " << c);
    require_close(layer_norm(x64, w64, b64, 1e-5), want, 1e-12);
    // float32 inputs are the float64 values rounded; the reference is computed from the rounded ones.
    const Tensor x32 = x64.to(DType::Float32), w32 = w64.to(DType::Float32), b32 = b64.to(DType::Float32);
    const auto xr = x32.to_vector(), wr = w32.to_vector(), br = b32.to_vector();
    for (int64_t r = 0; r < rows; ++r) {
      double m = 0, v = 0;
      for (int64_t j = 0; j < c; ++j) m += xr[r * c + j] / static_cast<double>(c);
      for (int64_t j = 0; j < c; ++j) v += (xr[r * c + j] - m) * (xr[r * c + j] - m) / static_cast<double>(c);
      for (int64_t j = 0; j < c; ++j) want[r * c + j] = (xr[r * c + j] - m) / std::sqrt(v + 1e-5) * wr[j] + br[j];
    }
    require_close(layer_norm(x32, w32, b32, 1e-5), want, 2e-6);
  }
}

TEST_CASE("cross_entropy matches PyTorch with ignore_index and label smoothing", "[forward][loss]") {
  const Tensor logits = seq({5, 3}, 0.45, 2.5, 0.1);
  const std::vector<int64_t> t = {0, 2, 1, -100, 2};
  CHECK(cross_entropy(logits, t).item() == Approx(1.438617679460396).epsilon(1e-12));
  CHECK(cross_entropy(logits, t, -100, 0.1).item() == Approx(1.4295258777571724).epsilon(1e-12));
}

TEST_CASE("cross_entropy by hand and all-ignored gives 0", "[forward][loss]") {
  // Two classes with logits 0 and log 3: p = (1/4, 3/4).
  const Tensor logits = tensor({0, std::log(3.0), 0, std::log(3.0)}, {2, 2});
  CHECK(cross_entropy(logits, {1, 0}).item() == Approx((-std::log(0.75) - std::log(0.25)) / 2));
  Tensor l = xgtest::leaf(seq({2, 3}));
  Tensor loss = cross_entropy(l, {-1, -1}, -1);
  CHECK(loss.item() == 0.0);
  loss.backward();
  require_close(l.grad(), std::vector<double>(6, 0.0));
}

TEST_CASE("gelu and simple element-wise ops by value", "[forward][elementwise]") {
  require_close(gelu(seq({5}, 0.9, 2.0)),
                {0.0, 1.4748513280649582, 1.8975894013331547, 0.686934451533508, -0.16644724102307798});
  const Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
  const Tensor b = tensor({10, 20, 30}, {3}, DType::Float64);
  require_close(a + b, {11, 22, 33, 14, 25, 36});
  require_close(a * tensor({2, 3}, {2, 1}, DType::Float64), {2, 4, 6, 12, 15, 18});
  require_close(sum(a, {0}), {5, 7, 9});
  require_close(mean(a, {1}, true), {2, 5});
  require_close(max(a, 1), {3, 6});
  require_close(clamp(a, 2, 4), {2, 2, 3, 4, 4, 4});
  require_close(pow(a, 2.0), {1, 4, 9, 16, 25, 36});
  require_close(transpose(a, 0, 1), {1, 4, 2, 5, 3, 6});
  require_close(narrow(a, 1, 1, 2), {2, 3, 5, 6});
  require_close(concat({a, a}, 1), {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6});
  require_close(index_select(a, 1, {2, 0, 2}), {3, 1, 3, 6, 4, 6});
  require_close(gather(a, 1, {2, 0, 1, 1}, {2, 2}), {3, 1, 5, 5});
  require_close(masked_fill(a, tensor({0, 1, 0}, {3}), -1), {1, -1, 3, 4, -1, 6});
  require_close(where(tensor({1, 0}, {2, 1}), a, b), {1, 2, 3, 10, 20, 30});
  require_close(embedding(a, {1, 0, 1}, {3}), {4, 5, 6, 1, 2, 3, 4, 5, 6});
  require_close(arange(0, 1, 0.25), {0, 0.25, 0.5, 0.75});
}

TEST_CASE("permute moves every element where index arithmetic says, in every axis order, on 1 and 2 threads", "[forward][shape]") {
  // Large enough to be split across threads, with rows that do and do not stay contiguous.
  const int saved_threads = num_threads();
  for (const Shape& shape : {Shape{3, 40, 7, 50}, Shape{2, 3, 4, 5}}) {
    const Tensor x = seq(shape, 0.37);
    const std::vector<double> xs = x.to_vector();
    std::vector<int64_t> order{0, 1, 2, 3};
    do {
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        const std::vector<double> out = permute(x, order).to_vector();
        std::vector<int64_t> idx(4, 0);
        bool same = true;
        for (std::size_t flat = 0; flat < out.size(); ++flat) {
          // idx is the output index; the input index puts idx[d] at axis order[d].
          int64_t in_flat = 0;
          std::vector<int64_t> in_idx(4);
          for (int d = 0; d < 4; ++d) in_idx[order[d]] = idx[d];
          for (int d = 0; d < 4; ++d) in_flat = in_flat * shape[d] + in_idx[d];
          same = same && out[flat] == xs[in_flat];
          for (int d = 3; d >= 0 && ++idx[d] == shape[order[d]]; --d) idx[d] = 0;
        }
        CHECK(same);
      }
    } while (std::next_permutation(order.begin(), order.end()));
  }
  set_num_threads(saved_threads);
}

TEST_CASE("matrix_product_flops counts 2mnk for every product, split across threads or not", "[forward][matmul]") {
  const int saved_threads = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    // (300, 70) x (70, 50): cut into blocks on 2 threads; (1, 7) x (7, 5): a gemv.
    const Tensor a = seq({300, 70}), b = seq({70, 50}, 0.3), r = seq({1, 7}), c = seq({7, 5}, 0.9);
    uint64_t before = matrix_product_flops();
    matmul(a, b);
    CHECK(matrix_product_flops() - before == 2u * 300 * 70 * 50);
    before = matrix_product_flops();
    matmul(r, c);
    CHECK(matrix_product_flops() - before == 2u * 1 * 7 * 5);
  }
  set_num_threads(saved_threads);
}

TEST_CASE("matrix_product_flops adds up the counts of more threads than it has slots", "[forward][matmul]") {
  // 70 threads, 64 counter slots: some threads share a slot; every product is still counted.
  const Tensor a = seq({2, 3}), b = seq({3, 4}, 0.3);
  const uint64_t before = matrix_product_flops();
  std::vector<std::thread> threads;
  for (int t = 0; t < 70; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) matmul(a, b);
    });
  for (auto& t : threads) t.join();
  CHECK(matrix_product_flops() - before == 70u * 5 * 2 * 2 * 3 * 4);
}
