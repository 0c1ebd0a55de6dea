#pragma once
#include "text_codec.hpp"
// How well a model's attention matches the gold word alignment: the alignment error rate (AER,
// Och & Ney 2003) of the argmax of its attention, read while the model reads the reference target
// (teacher forcing). With only sure gold links S and one predicted link per target word A,
//   AER = 1 - (|A∩S| + |A∩P|) / (|A| + |S|) = 1 - |A∩S| / n   (P = S, |A| = |S| = n),
// the share of target words whose most-attended source word is not the one they translate.
#include <string>
#include <vector>

#include <xgrad/data/corpus.hpp>
#include <xgrad/data/vocab.hpp>
#include "models.hpp"

namespace xg::translation {

// One line of Pharaoh format ("0-0 2-1 1-2": source-target index pairs), as fast_align writes:
// `alignment[t]` is the source index of target token t.
std::string format_alignment(const std::vector<int64_t>& alignment);
// Reads a whole file of them; errors name the file and line. One line per sentence pair.
std::vector<std::vector<int64_t>> read_alignments(const std::string& path);

struct WordErrors {
  std::string word;  // a target word
  int64_t misaligned = 0, total = 0;
};

struct AttentionAer {
  std::string map;                 // which attention: "attention", "layer1.head2", "layer1.mean", …
  double aer = 0;                  // percent
  std::vector<double> by_bucket;   // percent per length bucket (as BucketScore), -1 where empty
  std::vector<WordErrors> worst_words;  // the target words with the most misaligned occurrences, at most 5
};

struct AlignmentResult {
  std::vector<AttentionAer> maps;  // every map the model exposes, in its order
  AttentionAer best_head;          // the lowest AER of a single map (heads; Bahdanau's only map)
  AttentionAer head_mean;          // the lowest AER of a layer's head average (= best_head for RNNs)
  bool available() const { return !maps.empty(); }
};

// gold[i] aligns pairs[i]; a gold alignment whose length differs from the target's token count,
// or that points outside the source, is an error naming the pair. Word alignments need a word
// model: a subword codec is an error saying so.
AlignmentResult evaluate_alignment(Seq2Seq& model, const TextCodec& codec,
                                   const std::vector<data::SentencePair>& pairs,
                                   const std::vector<std::vector<int64_t>>& gold, int64_t batch_size = 64);

}  // namespace xg::translation
