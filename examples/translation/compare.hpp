#pragma once
// The main experiment: the three models trained for the same time on the same data, evaluated
// by source length (BLEU, exact match, and the alignment error rate of the attention where gold
// alignments exist), with a table, CSV/JSON results and SVG charts.
#include <string>
#include <vector>

#include "config.hpp"
#include <xgrad/data/toy.hpp>

namespace xg::translation {

// The defaults are the length experiment's: trained on sources of at most 30 tokens, tested on
// 6-80 (the toy corpus), 150 s each and validated every 1000 steps (validation decoding is not
// counted in the budget). Five of its ten models, each for what it shows: the recurrent baseline
// and Bahdanau's attention (the paper's pair), the transformer with sinusoidal positions (the
// standard) and with T5's relative bias (the best relative encoding one bucket past training),
// and the decoder-only model (today's way, the best transformer at 41-50): about 13 minutes on 2
// cores (the ten took 25.5). With --train/--valid/--test files every training
// length is kept unless --train-max-len is given.
struct CompareOptions {
  CompareOptions() { toy.max_len = 80, toy.train_max_len = 30, train.valid_every = 1000; }
  double budget = 150;  // training seconds per model
  std::string out_dir = "results/compare";
  std::string train_file, valid_file, test_file;  // empty: the built-in toy corpus
  std::string test_alignment_file;                 // gold alignments of test_file (the toy corpus has its own)
  std::string train_alignment_file;                // of train_file, for --guided-alignment-weight
  std::vector<std::string> models = {"rnn", "bahdanau", "transformer", "transformer-t5", "decoder-only"};
  int64_t beam = 1;
  int64_t seeds = 1;  // runs per model, seeds --seed, --seed + 1, ...
  double length_penalty = 1.0;  // beam search's alpha (search.hpp)
  // Text: "word" or "spm" for every model (SentencePiece sizes in `train`); tied embeddings for
  // the transformers.
  std::string tokenizer = "word";
  bool shared_subwords = true;
  std::string tie_embeddings = "none";
  TrainConfig train;
  data::ToyConfig toy;
};

void run_compare(const CompareOptions& options);

}  // namespace xg::translation
