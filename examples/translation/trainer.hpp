#pragma once
// Training a translation model: teacher forcing, Adam, clipping, periodic validation (loss and
// BLEU), the best checkpoint and the latest full training state in the output directory.
//
// Files in the output directory:
//   config.json           the model configuration
//   src.vocab, tgt.vocab  vocabularies (one word per line)
//   model.safetensors     the best model so far by validation BLEU (used by eval and translate)
//   state.safetensors     the latest full state: model, optimiser, step, data position, RNG
//   log.csv               step, seconds, train loss, learning rate, tokens/s, valid loss, valid BLEU
//   .lock                 held while a run writes here (training_dir.hpp)
// Nothing is written from parameters that are NaN/Inf or whose loss has diverged (> 10 ln V):
// every checkpoint is checked first, after the last step too.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include <xgrad/data/corpus.hpp>
#include <xgrad/data/vocab.hpp>
#include "models.hpp"
#include "text_codec.hpp"

namespace xg::translation {

struct TrainData {
  std::vector<data::SentencePair> train, valid;
  // Gold word alignments of the training pairs, one per pair (alignment[t]: the source word
  // target word t translates), for guided alignment; empty when unknown.
  std::vector<std::vector<int64_t>> train_alignments = {};
};

// Train short, test long (--train-max-len): training and validation pairs whose source has at
// most `max_source_tokens` tokens (0: all), with their alignments. No training or no validation
// pair left is an error.
TrainData keep_training_length(const TrainData& data, int64_t max_source_tokens);

struct TrainResult {
  int64_t steps = 0;
  double seconds = 0;
  double best_valid_bleu = 0;
  double last_train_loss = 0;
  int64_t parameters = 0;
};

struct TrainOptions {
  ModelConfig model;
  TrainConfig train;
  std::string out_dir;
  bool resume = false;
  bool overwrite = false;  // a fresh run may replace a trained model in out_dir
  bool quiet = false;
  // ModelConfig fields the user set (JSON names, e.g. "d_model"): on --resume each must equal the
  // saved value, as must the model kind, attention kind and positions.
  std::vector<std::string> model_fields_set;
};

TrainResult train_model(const TrainOptions& options, const TrainData& data);

// A trained model loaded from an output directory (config.json, vocabularies, model.safetensors).
struct LoadedModel {
  ModelConfig config;
  TextCodec codec;  // vocabularies and tokenizers
  std::shared_ptr<Seq2Seq> model;
};
LoadedModel load_trained(const std::string& dir);

// The checkpoint.STEP.safetensors files of a training directory (--keep-last), newest first, as
// (step, path).
std::vector<std::pair<int64_t, std::string>> recent_checkpoints(const std::string& dir);

// Parameter average of the newest `last` of them (Joey NMT's and fairseq's average_checkpoints),
// written with the directory's config and vocabularies into `out_dir`, which eval and translate
// then read like a training directory. Returns the averaged steps.
std::vector<int64_t> average_checkpoints(const std::string& dir, int64_t last, const std::string& out_dir);

// Limits the threads of OpenMP and OpenBLAS (0 leaves the defaults).
void set_threads(int threads);

// Row ranges [from, to) that split `rows` sentences over the threads, one part per thread: each
// a multiple of 8 rows (the packed product's row block) and at least 16. One part on one thread
// or inside a parallel region.
std::vector<std::pair<int64_t, int64_t>> parts_for_threads(int64_t rows);

// A training step's forward and backward on this process: the batch's mean cross-entropy (plus
// guided_alignment times the guided-alignment cost when positive: Seq2Seq::guided_loss), with
// one part of the batch per thread (parallel_backward). Adds the gradients into the parameters'
// .grad and returns the loss.
double forward_backward(Seq2Seq& model, const data::Batch& batch, double label_smoothing = 0.0,
                        double guided_alignment = 0.0);

}  // namespace xg::translation
