#include <xgrad/core/matmul.hpp>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/blas.hpp>
#include <xgrad/core/detail/checks.hpp>

namespace xg {

namespace {
struct MatmulPlan {
  int64_t m, k, n;
  int64_t batch_a, batch_b;  // 1 when that operand is broadcast over the batch
  Shape out_shape;
};

MatmulPlan plan_matmul(const Tensor& a, const Tensor& b) {
  auto fail = [&](const std::string& why) {
    return ShapeError(fmt::format("matmul: {} x {}: {}", shape_str(a.shape()), shape_str(b.shape()), why));
  };
  if (a.dim() < 2 || b.dim() < 2) throw fail("both operands need at least 2 dimensions");
  check_same_dtype("matmul", a, b);
  MatmulPlan p;
  p.m = a.shape()[a.dim() - 2];
  p.k = a.shape()[a.dim() - 1];
  p.n = b.shape()[b.dim() - 1];
  if (b.shape()[b.dim() - 2] != p.k)
    throw fail(fmt::format("inner dimensions differ ({} vs {})", p.k, b.shape()[b.dim() - 2]));
  const Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  p.batch_a = numel_of(ba);
  p.batch_b = numel_of(bb);
  Shape batch;
  if (ba == bb) batch = ba;
  else if (p.batch_b == 1) batch = ba, p.batch_b = 1;
  else if (p.batch_a == 1) batch = bb, p.batch_a = 1;
  else throw fail("batch dimensions neither match nor broadcast");
  if (ba != bb && p.batch_a == 1 && p.batch_b == 1) batch = ba.size() >= bb.size() ? ba : bb;
  p.out_shape = batch;
  p.out_shape.push_back(p.m);
  p.out_shape.push_back(p.n);
  return p;
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_floating("matmul", a);
  check_floating("matmul", b);
  const MatmulPlan p = plan_matmul(a, b);
  Tensor out = Tensor::uninitialized(p.out_shape, a.dtype());
  const int64_t m = p.m, k = p.k, n = p.n, ba = p.batch_a, bb = p.batch_b;
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = out.data<T>();
    if (bb == 1) {  // every batch of a against one b: a single tall GEMM
      blas::gemm<T>(false, false, ba * m, n, k, T(1), pa, k, pb, n, T(0), pc, n);
    } else {
      for (int64_t i = 0; i < bb; ++i)
        blas::gemm<T>(false, false, m, n, k, T(1), pa + (ba == 1 ? 0 : i * m * k), k, pb + i * k * n,
                      n, T(0), pc + i * m * n, n);
    }
  });
  const Tensor ad = a.detach(), bd = b.detach();
  return record("matmul", out, {a, b}, [=](const Tensor& g, GradSink& sink) {
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pa = ad.data<T>();
      const T* pb = bd.data<T>();
      const T* pg = g.data<T>();
      if (sink.needs(0)) {  // dA = dC · Bᵀ, summed over the batch where A was broadcast
        T* pga = sink.buffer(0).data<T>();
        if (bb == 1) {
          blas::gemm<T>(false, true, ba * m, k, n, T(1), pg, n, pb, n, T(1), pga, k);
        } else {
          for (int64_t i = 0; i < bb; ++i)
            blas::gemm<T>(false, true, m, k, n, T(1), pg + i * m * n, n, pb + i * k * n, n, T(1),
                          pga + (ba == 1 ? 0 : i * m * k), k);
        }
      }
      if (sink.needs(1)) {  // dB = Aᵀ · dC, summed over the batch where B was broadcast
        T* pgb = sink.buffer(1).data<T>();
        if (bb == 1) {
          blas::gemm<T>(true, false, k, n, ba * m, T(1), pa, k, pg, n, T(1), pgb, n);
        } else {
          for (int64_t i = 0; i < bb; ++i)
            blas::gemm<T>(true, false, k, n, m, T(1), pa + (ba == 1 ? 0 : i * m * k), k,
                          pg + i * m * n, n, T(1), pgb + i * k * n, n);
        }
      }
    });
  });
}

}  // namespace xg
