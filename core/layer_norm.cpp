#include <xgrad/core/layer_norm.hpp>

#include <omp.h>

#include <algorithm>
#include <vector>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/parallel.hpp>
#include <xgrad/core/detail/vecmath.hpp>

namespace xg {

namespace {
// Rows in blocks of 64 for the threads: one vecmath call per block, blocks split statically.
constexpr int64_t kRowBlock = 64;

template <class Fn>
void for_row_blocks(int64_t rows, bool parallel, Fn&& fn) {
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  XG_PRAGMA(omp parallel for if (parallel) schedule(static))
  for (int64_t blk = 0; blk < blocks; ++blk) fn(blk * kRowBlock, std::min(kRowBlock, rows - blk * kRowBlock));
}
}  // namespace

// The row kernels are vecmath's (AVX-512, AVX2 or SSE2, whichever the CPU has): compiled for SSE2
// with the rest of the library they were 5.6% of a transformer training step.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  check_floating("layer_norm", x);
  if (x.dim() < 1) throw ShapeError("layer_norm: input must have at least one axis");
  const int64_t c = x.shape().back();
  const int64_t rows = x.numel() / std::max<int64_t>(c, 1);
  for (const Tensor* p : {&weight, &bias})
    if (p->defined()) {
      if (p->shape() != Shape{c})
        throw ShapeError(fmt::format("layer_norm: parameter of shape {} for input {} (needs [{}])",
                                     shape_str(p->shape()), shape_str(x.shape()), c));
      check_same_dtype("layer_norm", x, *p);
    }
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  // (rows) each: saved for the backward
  auto mean = std::make_shared<std::vector<double>>(static_cast<std::size_t>(rows));
  auto rstd = std::make_shared<std::vector<double>>(static_cast<std::size_t>(rows));
  const bool parallel = x.numel() > kParallelGrain;
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const vecmath::Kernels<T>& kernels = vecmath::best<T>();  // looked up once, not per row
    const T* px = x.data<T>();
    T* py = out.data<T>();
    const std::vector<T> ones(weight.defined() ? 0 : static_cast<std::size_t>(c), T(1));
    const std::vector<T> zeros(bias.defined() ? 0 : static_cast<std::size_t>(c), T(0));
    const T* w = weight.defined() ? weight.data<T>() : ones.data();
    const T* b = bias.defined() ? bias.data<T>() : zeros.data();
    for_row_blocks(rows, parallel, [&](int64_t r0, int64_t n) {
      kernels.layer_norm_rows(px + r0 * c, w, b, py + r0 * c, n, c, eps, mean->data() + r0, rstd->data() + r0);
    });
  });
  const Tensor xd = x.detach(), wd = weight.defined() ? weight.detach() : Tensor();
  return record("layer_norm", out, {x, weight, bias}, [=](const Tensor& g, GradSink& sink) {
    const bool parallel = g.numel() > kParallelGrain;
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const vecmath::Kernels<T>& kernels = vecmath::best<T>();  // looked up once, not per row
      const T* px = xd.data<T>();
      const T* pg = g.data<T>();
      T* pgw = sink.needs(1) ? sink.buffer(1).data<T>() : nullptr;
      T* pgb = sink.needs(2) ? sink.buffer(2).data<T>() : nullptr;
      // Parameter gradients sum over rows, each column in row order whatever the thread count:
      // the threads split the columns into contiguous ranges (multiples of 16) and walk the rows
      // inside, so each reads whole stretches of a row. (Ranges of 16 columns for every thread
      // made each row a separate 64-byte read: 2.5% of a transformer training step.)
      if (pgw || pgb) {
        const int64_t ranges = parallel ? std::max<int64_t>(1, omp_get_max_threads()) : 1;
        const int64_t width = (((c + ranges - 1) / ranges) + 15) / 16 * 16;
        XG_PRAGMA(omp parallel for if (ranges > 1) schedule(static))
        for (int64_t j0 = 0; j0 < c; j0 += width)
          kernels.layer_norm_param_grads(px, pg, mean->data(), rstd->data(), rows, c, j0, std::min(c, j0 + width),
                                          pgw, pgb);
      }
      if (!sink.needs(0)) return;
      const std::vector<T> ones(wd.defined() ? 0 : static_cast<std::size_t>(c), T(1));
      const T* w = wd.defined() ? wd.data<T>() : ones.data();
      // dx is added onto the gradient x already has when there is one (x is a residual stream's
      // value in a pre-LN transformer: the residual branch's gradient arrives first).
      Tensor* sum = sink.partial(0);
      Tensor gx = sum ? Tensor() : Tensor::uninitialized(xd.shape(), g.dtype());
      T* pgx = sum ? sum->data<T>() : gx.data<T>();
      for_row_blocks(rows, parallel, [&](int64_t r0, int64_t n) {
        kernels.layer_norm_backward_rows(px + r0 * c, pg + r0 * c, w, mean->data() + r0, rstd->data() + r0,
                                          pgx + r0 * c, n, c, sum != nullptr);
      });
      if (!sum) sink.add(0, std::move(gx));
    });
  });
}

}  // namespace xg
