#pragma once
// chrF and chrF++ as sacreBLEU 2.x computes them (Popović 2015, 2017): character n-grams of
// orders 1..6 of each sentence with its whitespace removed, for chrF++ also word 1- and
// 2-grams (punctuation split off a word's end, or else its start), clipped matches summed over
// the corpus, precision and recall averaged over the orders that occur (or, with eps smoothing,
// chrF++.py's average of per-order F-scores), F-beta with beta 2. Multiple references: per
// sentence, the one with the best F.
#include <string>
#include <vector>

#include "bleu.hpp"

namespace xg::translation {

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;  // 2: chrF++
  double beta = 2;
  bool eps_smoothing = false;  // sacreBLEU's default is the effective-order average
  std::string name() const { return word_order > 0 ? "chrF++" : "chrF"; }
};

// Per sentence and order (characters 1..char_order, then words 1..word_order): hypothesis
// n-grams, reference n-grams, matches.
SentenceStatistics chrf_statistics(const std::vector<std::string>& hypotheses,
                                   const std::vector<std::vector<std::string>>& references, const ChrfOptions& options = {});
double chrf_from_statistics(const int64_t* summed, const ChrfOptions& options = {});
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references,
                   const ChrfOptions& options = {});

}  // namespace xg::translation
