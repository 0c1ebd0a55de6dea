#pragma once
// Corpus BLEU exactly as sacreBLEU computes it by default: 13a tokenisation (or none), n-grams
// up to 4, clipped counts against the maximum over references, the closest reference length
// per segment, brevity penalty, and 'exp' smoothing (mteval-v13a's).
#include <string>
#include <vector>

namespace xg::translation {

enum class BleuTokenize { V13a, None };

std::string tokenize_13a(const std::string& line);

struct BleuScore {
  double score = 0;                    // 0..100
  std::vector<double> precisions;      // per order, in percent
  double brevity_penalty = 0;
  int64_t sys_len = 0, ref_len = 0;
};

// hypotheses[i] against references[r][i] for every reference stream r.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references,
                      BleuTokenize tokenize = BleuTokenize::V13a);

// Sufficient statistics of a corpus metric, one row of `width` counts per sentence: a corpus
// score is a function of the rows' sum, so resampling sentences (bootstrap) needs no
// re-tokenising.
struct SentenceStatistics {
  int64_t width = 0;
  std::vector<int64_t> rows;  // sentences × width
  std::size_t size() const { return width ? rows.size() / static_cast<std::size_t>(width) : 0; }
  const int64_t* row(std::size_t i) const { return rows.data() + i * static_cast<std::size_t>(width); }
  SentenceStatistics subset(const std::vector<std::size_t>& sentences) const;
  std::vector<int64_t> sum() const;
};

// BLEU's: matches and totals of 1- to 4-grams, hypothesis length, closest reference length.
constexpr int64_t kBleuStatistics = 10;
SentenceStatistics bleu_statistics(const std::vector<std::string>& hypotheses,
                                   const std::vector<std::vector<std::string>>& references,
                                   BleuTokenize tokenize = BleuTokenize::V13a);
BleuScore bleu_from_statistics(const int64_t* summed);

}  // namespace xg::translation
