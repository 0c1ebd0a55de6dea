#pragma once
// Bootstrap resampling of a test set, as sacreBLEU's --confidence and --paired-bs: n_samples
// test sets of the same size drawn from its sentences with replacement, each scored from its
// summed sentence statistics (no re-tokenising). The interval is the sorted samples' entries
// n/40 and n - n/40 - 1 (95% for 1000 samples, sacreBLEU's bounds). Resampling indices come
// from splitmix64 seeded with `seed` (tests/reference/bootstrap_reference.py draws the same).
#include <cstdint>
#include <functional>
#include <vector>

#include "bleu.hpp"

namespace xg::translation {

using CorpusScore = std::function<double(const int64_t* summed)>;

struct BootstrapInterval {
  double score = 0;          // on the whole test set
  double mean = 0, lo = 0, hi = 0;
  int64_t samples = 0;
};

// Sentence indices of `samples` resampled test sets of `sentences` each (samples × sentences).
std::vector<uint32_t> bootstrap_indices(std::size_t sentences, int64_t samples, uint64_t seed);

BootstrapInterval bootstrap_interval(const SentenceStatistics& stats, const CorpusScore& score, int64_t samples = 1000,
                                     uint64_t seed = 12345);

// Paired bootstrap (Koehn 2004, as sacreBLEU): both systems scored on the same resampled sets;
// the p-value that their difference arose by chance, (c + 1) / (samples + 1) with c the number
// of samples whose centred difference |sys - base| - mean exceeds the observed one.
struct PairedBootstrap {
  BootstrapInterval baseline, system;
  double p_value = 1;
};
PairedBootstrap paired_bootstrap(const SentenceStatistics& baseline, const SentenceStatistics& system,
                                 const CorpusScore& score, int64_t samples = 1000, uint64_t seed = 12345);

}  // namespace xg::translation
