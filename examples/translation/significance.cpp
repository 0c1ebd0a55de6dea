#include "significance.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/errors.hpp>

namespace xg::translation {

namespace {
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Each sample's score: the statistics of its sentences summed, then scored.
std::vector<double> sample_scores(const SentenceStatistics& stats, const std::vector<uint32_t>& indices, int64_t samples,
                                  const CorpusScore& score) {
  const std::size_t n = stats.size();
  std::vector<double> out(static_cast<std::size_t>(samples));
  std::vector<int64_t> sum(static_cast<std::size_t>(stats.width));
  for (int64_t s = 0; s < samples; ++s) {
    std::fill(sum.begin(), sum.end(), 0);
    const uint32_t* pick = indices.data() + static_cast<std::size_t>(s) * n;
    for (std::size_t i = 0; i < n; ++i) {
      const int64_t* row = stats.row(pick[i]);
      for (int64_t j = 0; j < stats.width; ++j) sum[static_cast<std::size_t>(j)] += row[j];
    }
    out[static_cast<std::size_t>(s)] = score(sum.data());
  }
  return out;
}

BootstrapInterval interval_of(std::vector<double> scores, double whole) {
  BootstrapInterval b;
  b.score = whole;
  b.samples = static_cast<int64_t>(scores.size());
  if (scores.empty()) return b;
  std::sort(scores.begin(), scores.end());
  double total = 0;
  for (double v : scores) total += v;
  b.mean = total / static_cast<double>(scores.size());
  const std::size_t lower = scores.size() / 40;
  b.lo = scores[lower];
  b.hi = scores[scores.size() - lower - 1];
  return b;
}

void check_samples(int64_t samples) {
  if (samples < 1 || samples > 1'000'000) throw Error(fmt::format("bootstrap: {} samples (1 to 1,000,000)", samples));
}
}  // namespace

std::vector<uint32_t> bootstrap_indices(std::size_t sentences, int64_t samples, uint64_t seed) {
  check_samples(samples);
  std::vector<uint32_t> idx(sentences * static_cast<std::size_t>(samples));
  uint64_t state = seed;
  for (auto& i : idx) i = static_cast<uint32_t>(splitmix64(state) % sentences);
  return idx;
}

BootstrapInterval bootstrap_interval(const SentenceStatistics& stats, const CorpusScore& score, int64_t samples, uint64_t seed) {
  const double whole = score(stats.sum().data());
  if (stats.size() == 0) return interval_of({}, whole);
  const auto idx = bootstrap_indices(stats.size(), samples, seed);
  return interval_of(sample_scores(stats, idx, samples, score), whole);
}

PairedBootstrap paired_bootstrap(const SentenceStatistics& baseline, const SentenceStatistics& system,
                                 const CorpusScore& score, int64_t samples, uint64_t seed) {
  if (baseline.size() != system.size() || baseline.width != system.width)
    throw Error(fmt::format("paired bootstrap: the systems have {} and {} sentences", baseline.size(), system.size()));
  PairedBootstrap r;
  const double base_whole = score(baseline.sum().data()), sys_whole = score(system.sum().data());
  if (baseline.size() == 0) return r;
  const auto idx = bootstrap_indices(baseline.size(), samples, seed);
  const auto base = sample_scores(baseline, idx, samples, score), sys = sample_scores(system, idx, samples, score);
  std::vector<double> diffs(base.size());
  double mean = 0;
  for (std::size_t s = 0; s < base.size(); ++s) diffs[s] = std::abs(sys[s] - base[s]), mean += diffs[s];
  mean /= static_cast<double>(diffs.size());
  const double observed = std::abs(base_whole - sys_whole);
  int64_t exceed = 0;
  for (double d : diffs) exceed += (d - mean) > observed;
  r.p_value = static_cast<double>(exceed + 1) / static_cast<double>(samples + 1);
  r.baseline = interval_of(base, base_whole);
  r.system = interval_of(sys, sys_whole);
  return r;
}

}  // namespace xg::translation
