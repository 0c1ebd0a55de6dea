#include <xgrad/nn/position_bias.hpp>

#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

#include <xgrad/core/ops.hpp>

namespace xg::nn {

PositionBiasKind parse_position_bias(const std::string& name) {
  if (name == "none") return PositionBiasKind::None;
  if (name == "alibi") return PositionBiasKind::ALiBi;
  if (name == "t5") return PositionBiasKind::T5;
  throw Error(fmt::format("unknown position bias '{}' (none, alibi or t5)", name));
}

std::string to_string(PositionBiasKind kind) {
  return kind == PositionBiasKind::None ? "none" : kind == PositionBiasKind::ALiBi ? "alibi" : "t5";
}

std::vector<double> alibi_slopes(int64_t heads) {
  if (heads < 1) throw Error(fmt::format("alibi_slopes: {} heads (need at least 1)", heads));
  const auto power_of_two = [](int64_t n) {
    std::vector<double> s;
    const double start = std::pow(2.0, -8.0 / static_cast<double>(n));
    for (int64_t i = 0; i < n; ++i) s.push_back(std::pow(start, static_cast<double>(i + 1)));
    return s;
  };
  int64_t below = 1;
  while (below * 2 <= heads) below *= 2;
  std::vector<double> slopes = power_of_two(below);
  const std::vector<double> twice = power_of_two(2 * below);
  for (int64_t i = 0; static_cast<int64_t>(slopes.size()) < heads; i += 2) slopes.push_back(twice[static_cast<std::size_t>(i)]);
  return slopes;
}

Tensor alibi_bias(const std::vector<double>& slopes, int64_t tq, int64_t tk, DType dtype) {
  if (tq < 0 || tk < tq) throw ShapeError(fmt::format("alibi_bias: {} queries for {} keys (queries are the last keys)", tq, tk));
  const auto H = static_cast<int64_t>(slopes.size());
  std::vector<double> b(static_cast<std::size_t>(H * tq * tk));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = 0; j < tk; ++j)
        b[static_cast<std::size_t>((h * tq + i) * tk + j)] = -slopes[static_cast<std::size_t>(h)] * static_cast<double>(std::llabs(tk - tq + i - j));
  return Tensor::from_vector(b, {H, tq, tk}, dtype);
}

int64_t t5_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  int64_t bucket = 0, n = 0;
  if (bidirectional) {
    num_buckets /= 2;
    if (relative_position > 0) bucket += num_buckets;
    n = std::llabs(relative_position);
  } else {
    n = std::max<int64_t>(-relative_position, 0);  // keys after the query are masked anyway
  }
  const int64_t max_exact = num_buckets / 2;
  if (n < max_exact) return bucket + n;
  const double log_ratio = std::log(static_cast<double>(n) / static_cast<double>(max_exact)) /
                           std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact));
  const auto large = max_exact + static_cast<int64_t>(log_ratio * static_cast<double>(num_buckets - max_exact));
  return bucket + std::min(large, num_buckets - 1);
}

PositionBias::PositionBias(PositionBiasKind k, int64_t h, bool bidi, double init_std, int64_t buckets, int64_t distance)
    : Module("PositionBias"), kind(k), heads(h), bidirectional(bidi), num_buckets(buckets), max_distance(distance) {
  if (heads < 1) throw Error(fmt::format("PositionBias: {} heads (need at least 1)", heads));
  if (kind == PositionBiasKind::ALiBi) slopes = alibi_slopes(heads);
  if (kind == PositionBiasKind::T5) {
    if (num_buckets < 4 || max_distance <= num_buckets / (bidirectional ? 4 : 2))
      throw Error(fmt::format("PositionBias(t5): {} buckets and max_distance {} (need at least 4 buckets and a "
                              "max_distance past the exact ones)", num_buckets, max_distance));
    table = register_module("table", std::make_shared<Embedding>(num_buckets, heads));
    NoGradGuard no_grad;
    table->weight.copy_(table->weight * init_std);  // N(0, 1) -> N(0, init_std²)
  }
}

Tensor PositionBias::forward(int64_t tq, int64_t tk, DType dtype) {
  if (tq < 0 || tk < tq) throw ShapeError(fmt::format("PositionBias: {} queries for {} keys (queries are the last keys)", tq, tk));
  switch (kind) {
    case PositionBiasKind::None: return Tensor();
    case PositionBiasKind::ALiBi: return alibi_bias(slopes, tq, tk, dtype);
    case PositionBiasKind::T5: break;
  }
  std::vector<int64_t> buckets(static_cast<std::size_t>(tq * tk));
  for (int64_t i = 0; i < tq; ++i)
    for (int64_t j = 0; j < tk; ++j)
      buckets[static_cast<std::size_t>(i * tk + j)] = t5_bucket(j - (tk - tq + i), bidirectional, num_buckets, max_distance);
  const Tensor looked_up = table->forward(buckets, {tq, tk});  // (Tq, Tk, H)
  return permute(looked_up, {2, 0, 1});                         // (H, Tq, Tk)
}

std::string PositionBias::extra_repr() const {
  std::string s = fmt::format("{}, heads={}, {}", to_string(kind), heads, bidirectional ? "bidirectional" : "causal");
  if (kind == PositionBiasKind::T5) s += fmt::format(", buckets={}, max_distance={}", num_buckets, max_distance);
  return s;
}

}  // namespace xg::nn
