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

}  // namespace xg::translation
