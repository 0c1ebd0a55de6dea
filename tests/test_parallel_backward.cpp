// parallel_backward: parts of a batch on several threads, their gradients added in part order.
#include <omp.h>
#include <stdexcept>

#include "helpers.hpp"

using namespace xg;
using xgtest::leaf;
using xgtest::require_close;
using xgtest::seq;

namespace {
struct TinyModel {  // embedding -> linear -> tanh -> linear, float64, with one shared bias
  Tensor table = leaf(seq({10, 6}, 0.31, 0.5));
  Tensor w1 = leaf(seq({8, 6}, 0.17, 0.4));
  Tensor b1 = leaf(seq({8}, 0.53, 0.1));
  Tensor w2 = leaf(seq({3, 8}, 0.29, 0.6));
  std::vector<Tensor> params() const { return {table, w1, b1, w2}; }
  // Sum over rows [from, to) of each row's squared output: a loss that adds up over parts.
  Tensor loss(const std::vector<int64_t>& ids, int64_t from, int64_t to, double dropout_p = 0.0) const {
    const std::vector<int64_t> rows(ids.begin() + from, ids.begin() + to);
    Tensor h = tanh(linear(embedding(table, rows, {to - from}), w1, b1));
    if (dropout_p > 0) h = dropout(h, dropout_p, true);
    const Tensor y = linear(h, w2);
    return sum(y * y);
  }
};

std::vector<std::vector<double>> grads_of(const TinyModel& m) {
  std::vector<std::vector<double>> out;
  for (const auto& p : m.params()) out.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<double>{});
  return out;
}

void zero(const TinyModel& m) {
  for (auto p : m.params()) p.zero_grad();
}
}  // namespace

TEST_CASE("parallel_backward: the parts' gradients add up to the whole batch's", "[autograd][threads]") {
  const TinyModel m;
  const std::vector<int64_t> ids = {1, 4, 4, 9, 0, 2, 7, 7, 3, 5, 8, 6, 1};  // 13 rows, ids repeat
  const double whole_loss = m.loss(ids, 0, 13).item();
  m.loss(ids, 0, 13).backward();
  const auto whole = grads_of(m);
  const int saved_threads = num_threads();
  for (const int threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (const int64_t parts : {1, 2, 3, 5}) {
      INFO(threads << " threads, " << parts << " parts");
      zero(m);
      const int64_t per = (13 + parts - 1) / parts;
      const std::vector<double> losses = parallel_backward(parts, [&](int64_t p) {
        return m.loss(ids, std::min<int64_t>(13, p * per), std::min<int64_t>(13, (p + 1) * per));
      });
      REQUIRE(static_cast<int64_t>(losses.size()) == parts);
      double total = 0;
      for (double l : losses) total += l;
      CHECK(total == Approx(whole_loss).epsilon(1e-13));
      const auto got = grads_of(m);
      for (std::size_t i = 0; i < got.size(); ++i) require_close(got[i], whole[i], 1e-13);
    }
  }
  // Added onto gradients already there, like any backward.
  zero(m);
  m.loss(ids, 0, 13).backward();
  set_num_threads(2);
  parallel_backward(2, [&](int64_t p) { return m.loss(ids, p * 7, std::min<int64_t>(13, p * 7 + 7)); });
  for (std::size_t i = 0; i < whole.size(); ++i) {
    std::vector<double> twice = whole[i];
    for (double& v : twice) v *= 2;
    require_close(grads_of(m)[i], twice, 1e-13);
  }
  set_num_threads(saved_threads);
}

TEST_CASE("parallel_backward: dropout draws from one generator per part, reproducibly", "[autograd][threads][random]") {
  const TinyModel m;
  const std::vector<int64_t> ids = {1, 4, 4, 9, 0, 2, 7, 7, 3, 5, 8, 6};
  const int saved_threads = num_threads();
  auto run = [&](int threads) {
    set_num_threads(threads);
    zero(m);
    manual_seed(42);
    const auto losses = parallel_backward(2, [&](int64_t p) { return m.loss(ids, p * 6, p * 6 + 6, 0.5); });
    return std::make_pair(losses, grads_of(m));
  };
  const auto a = run(2), b = run(2), one_thread = run(1);
  CHECK(a.first == b.first);  // bit for bit, same seed and parts
  CHECK(a.second == b.second);
  CHECK(a.first == one_thread.first);  // the parts, not the threads, decide the numbers
  CHECK(a.second == one_thread.second);
  // The two parts drew different masks: the same rows in both parts give different losses.
  const std::vector<int64_t> same = {1, 4, 4, 9, 0, 2, 1, 4, 4, 9, 0, 2};
  manual_seed(42);
  const auto twin = parallel_backward(2, [&](int64_t p) { return m.loss(same, p * 6, p * 6 + 6, 0.5); });
  CHECK(twin[0] != twin[1]);
  // The process's generator gave one seed per part and nothing else (the masks came from the parts').
  Generator expected(42);
  expected.next_u64(), expected.next_u64();
  CHECK(default_generator().next_u64() == expected.next_u64());
  set_num_threads(saved_threads);
}

TEST_CASE("parallel_backward: a part that throws adds no gradient and the error reaches the caller",
          "[autograd][threads][errors]") {
  const TinyModel m;
  const std::vector<int64_t> ids = {1, 4, 4, 9, 0, 2};
  const int saved_threads = num_threads();
  set_num_threads(2);
  zero(m);
  CHECK_THROWS_WITH(parallel_backward(2,
                                      [&](int64_t p) {
                                        if (p == 1) throw std::runtime_error("part 1 failed");
                                        return m.loss(ids, 0, 3);
                                      }),
                    "part 1 failed");
  for (const auto& g : grads_of(m)) CHECK(g.empty());
  CHECK_THROWS_AS(parallel_backward(2, [&](int64_t) { return m.table * 2.0; }), ShapeError);  // not a scalar
  CHECK_THROWS_AS(parallel_backward(0, [&](int64_t) { return m.loss(ids, 0, 3); }), Error);
  set_num_threads(saved_threads);
}

TEST_CASE("parallel_backward: with nested parallelism allowed, a part's operations get one thread", "[autograd][threads]") {
  // OMP_MAX_ACTIVE_LEVELS=2 would give each part's parallel regions a team of their own (2 parts
  // x 2 threads on 2 cores); one_thread_per_nested_region keeps them at one.
  const int saved_threads = num_threads(), saved_levels = omp_get_max_active_levels();
  set_num_threads(2);
  omp_set_max_active_levels(2);
  std::vector<int> team_sizes(2, -1), max_threads(2, -1);
  const TinyModel m;
  const std::vector<int64_t> ids{1, 2, 3, 4};
  parallel_backward(2, [&](int64_t p) {
    max_threads[static_cast<std::size_t>(p)] = omp_get_max_threads();
#pragma omp parallel
    {
#pragma omp single
      team_sizes[static_cast<std::size_t>(p)] = omp_get_num_threads();
    }
    return m.loss(ids, 2 * p, 2 * p + 2);
  });
  omp_set_max_active_levels(saved_levels);
  CHECK(max_threads == std::vector<int>{1, 1});
  CHECK(team_sizes == std::vector<int>{1, 1});
  CHECK(num_threads() == 2);  // the caller's own setting is untouched
  set_num_threads(saved_threads);
}
