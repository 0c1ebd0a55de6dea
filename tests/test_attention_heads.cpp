// The float32 AVX-512 head kernels behind fused attention (nn/detail/attention_heads.hpp): the
// same attention computed from the same float32 values in float64 (the BLAS path) is the reference.
#include <cmath>

#include "helpers.hpp"
#include <xgrad/core/detail/vecmath_isa.hpp>
#include <xgrad/nn/detail/attention_heads.hpp>
#include <xgrad/nn/detail/fused_attention.hpp>

using namespace xg;
using namespace xg::nn;
using namespace xgtest;

using xg::nn::detail::FusedAttentionResult;
using xg::nn::detail::cached_query_attention;
using xg::nn::detail::fused_attention;
using xg::nn::detail::fused_attention_heads_last;
namespace {
struct HeadCase {
  int64_t B, H, Tq, Tk, d, dv;
};

struct Outputs {
  std::vector<std::vector<double>> values;  // context, weights, dq, dk, dv
};

// Context, weights and the gradients of q, k, v of sum(context ⊙ gc) + sum(weights ⊙ gw) through
// fused_attention_heads_last ((B, T, H·d) tensors) or fused_attention ((B, H, T, d): heads_axis),
// from float32 inputs, computed in `dtype`.
Outputs run(const HeadCase& c, DType dtype, bool with_mask, bool with_keep, bool heads_axis) {
  const auto make = [&](const Shape& shape, double a, double offset) {
    return leaf(seq(shape, a, 1.5, offset, DType::Float32).to(dtype));
  };
  const auto shape = [&](int64_t T, int64_t width) {
    return heads_axis ? Shape{c.B, c.H, T, width} : Shape{c.B, T, c.H * width};
  };
  const Tensor q = make(shape(c.Tq, c.d), 0.37, 0.1), k = make(shape(c.Tk, c.d), 0.53, 0.7),
               v = make(shape(c.Tk, c.dv), 0.29, 0.4);
  Tensor attn_mask, padding, keep;
  if (with_mask) {
    std::vector<double> am(static_cast<std::size_t>(c.Tq * c.Tk), 0.0), pad(static_cast<std::size_t>(c.B * c.Tk), 0.0);
    for (int64_t i = 0; i < c.Tq; ++i)  // causal, aligned to the end when Tk >= Tq
      for (int64_t j = i + std::max<int64_t>(c.Tk - c.Tq, 0) + 1; j < c.Tk; ++j) am[i * c.Tk + j] = 1.0;
    for (int64_t j = c.Tk / 2; j < c.Tk; ++j) pad[j] = 1.0;                         // row 0: half padding
    if (c.B > 1) std::fill(pad.begin() + c.Tk, pad.begin() + 2 * c.Tk, 1.0);        // row 1: all padding
    attn_mask = tensor(am, {c.Tq, c.Tk}, dtype);
    padding = tensor(pad, {c.B, c.Tk}, dtype);
  }
  if (with_keep) {
    std::vector<double> kv(static_cast<std::size_t>(c.B * c.H * c.Tq * c.Tk));
    for (std::size_t i = 0; i < kv.size(); ++i) kv[i] = (i * 7) % 5 == 0 ? 0.0 : 1.25;
    keep = tensor(kv, {c.B, c.H, c.Tq, c.Tk}, dtype);
  }
  const FusedAttentionResult f = heads_axis ? fused_attention(q, k, v, attn_mask, padding, keep)
                                            : fused_attention_heads_last(q, k, v, c.H, attn_mask, padding, keep);
  const Tensor gc = seq(f.context.shape(), 0.71, 1.0, 0.3, DType::Float32).to(dtype);
  const Tensor gw = seq(f.weights.shape(), 0.23, 1.0, 0.9, DType::Float32).to(dtype);
  (sum(f.context * gc) + sum(f.weights * gw)).backward();
  return {{f.context.to_vector(), f.weights.to_vector(), q.grad().to_vector(), k.grad().to_vector(),
           v.grad().to_vector()}};
}
}  // namespace

TEST_CASE("attention head kernels: float32 equals float64 in values and gradients, masks and dropout",
          "[nn][attention][kernels]") {
  // Key counts across the 16-lane vectors (1, 15, 16, 17, 30, 64, 100, 128) and widths across
  // the 16-lane steps (1 to 64), with a 129-key case that takes the BLAS path.
  const std::vector<HeadCase> cases = {{2, 4, 30, 30, 32, 32}, {3, 2, 13, 15, 5, 6},  {2, 3, 7, 17, 16, 48},
                                       {2, 1, 1, 1, 1, 1},     {2, 2, 16, 16, 64, 64}, {2, 2, 9, 64, 17, 33},
                                       {2, 2, 5, 100, 8, 8},   {2, 1, 4, 128, 3, 2},   {2, 1, 3, 129, 4, 4}};
  for (const HeadCase& c : cases)
    for (const bool with_mask : {false, true})
      for (const bool with_keep : {false, true})
        for (const bool heads_axis : {false, true}) {
          INFO((heads_axis ? "(B, H, T, d) " : "(B, T, H·d) ") << "B " << c.B << " H " << c.H << " Tq " << c.Tq
                                                                << " Tk " << c.Tk << " d " << c.d << " dv " << c.dv
                                                                << (with_mask ? " masks" : "")
                                                                << (with_keep ? " dropout" : ""));
          const detail::attention_heads::HeadSizes sizes{c.Tq, c.Tk, c.d, c.dv, 1.0f};
          if (c.Tk <= 128 && xg::vecmath::active_isa() == xg::vecmath::Isa::Avx512) CHECK(detail::attention_heads::fits(sizes));
          if (c.Tk > 128) CHECK_FALSE(detail::attention_heads::fits(sizes));
          const Outputs got = run(c, DType::Float32, with_mask, with_keep, heads_axis);
          const Outputs want = run(c, DType::Float64, with_mask, with_keep, heads_axis);
          for (std::size_t i = 0; i < want.values.size(); ++i) {
            INFO("output " << i << " (context, weights, dq, dk, dv)");
            require_close(got.values[i], want.values[i], 2e-5);
          }
          if (with_mask && c.B > 1) {  // batch row 1 hides every key: zero context (either layout)
            const std::vector<double>& context = got.values[0];
            const int64_t row = c.Tq * c.H * c.dv;
            for (int64_t i = row; i < 2 * row; ++i) REQUIRE(context[static_cast<std::size_t>(i)] == 0.0);
          }
        }
}
