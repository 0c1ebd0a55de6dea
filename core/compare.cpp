#include <xgrad/core/compare.hpp>

#include <functional>

#include <xgrad/core/detail/broadcast.hpp>
#include <xgrad/core/detail/checks.hpp>

namespace xg {

namespace {

// out[i] = test(a[ia], b[ib]) over the broadcast shape.
template <class Test>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, Test test, bool same_dtype = true) {
  if (same_dtype) check_same_dtype(op, a, b);
  const Shape out_shape = broadcast_shapes(op, a.shape(), b.shape());
  Tensor out = Tensor::uninitialized(out_shape, DType::Bool);
  const auto sa = broadcast_strides(a.shape(), out_shape), sb = broadcast_strides(b.shape(), out_shape);
  uint8_t* po = out.data<uint8_t>();
  dispatch_all(a.dtype(), [&](auto atag) {
    using A = typename decltype(atag)::type;
    dispatch_all(b.dtype(), [&](auto btag) {
      using B = typename decltype(btag)::type;
      const A* pa = a.data<A>();
      const B* pb = b.data<B>();
      for_each_broadcast(out_shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
        po[i] = test(pa[ia], pb[ib]) ? 1 : 0;
      });
    });
  });
  return out;
}

template <class Test>
Tensor compare_value(const Tensor& a, double value, Test test) {
  Tensor out = Tensor::uninitialized(a.shape(), DType::Bool);
  uint8_t* po = out.data<uint8_t>();
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = a.data<T>();
    for (int64_t i = 0, n = a.numel(); i < n; ++i) po[i] = test(static_cast<double>(pa[i]), value) ? 1 : 0;
  });
  return out;
}

template <class T> bool truth(T v) { return v != T(0); }

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", a, b, std::equal_to<>()); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", a, b, std::not_equal_to<>()); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", a, b, std::less<>()); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", a, b, std::less_equal<>()); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", a, b, std::greater<>()); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", a, b, std::greater_equal<>()); }

Tensor eq(const Tensor& a, double value) { return compare_value(a, value, std::equal_to<>()); }
Tensor ne(const Tensor& a, double value) { return compare_value(a, value, std::not_equal_to<>()); }
Tensor lt(const Tensor& a, double value) { return compare_value(a, value, std::less<>()); }
Tensor le(const Tensor& a, double value) { return compare_value(a, value, std::less_equal<>()); }
Tensor gt(const Tensor& a, double value) { return compare_value(a, value, std::greater<>()); }
Tensor ge(const Tensor& a, double value) { return compare_value(a, value, std::greater_equal<>()); }

Tensor logical_not(const Tensor& x) { return eq(x, 0.0); }
Tensor logical_and(const Tensor& a, const Tensor& b) {
  return compare("logical_and", a, b, [](auto x, auto y) { return truth(x) && truth(y); }, false);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return compare("logical_or", a, b, [](auto x, auto y) { return truth(x) || truth(y); }, false);
}

}  // namespace xg
