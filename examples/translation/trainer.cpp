#include "trainer.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include <xgrad/core/ops.hpp>
#include <xgrad/data/batch.hpp>
#include <xgrad/data/corpus.hpp>
#include <xgrad/data/translation_loader.hpp>
#include <xgrad/data/tokenizer.hpp>
#include <xgrad/distributed/distributed.hpp>
#include "evaluate.hpp"
#include <xgrad/nn/checkpoint.hpp>
#include <xgrad/optim/optim.hpp>
#include "train_state.hpp"
#include "training_dir.hpp"

namespace xg::translation {

namespace fs = std::filesystem;
using data::Vocabulary;

namespace {
std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string engine_state(const std::mt19937_64& e) {
  std::ostringstream os;
  os << e;
  return os.str();
}

struct Progress {
  bool tty = ::isatty(STDOUT_FILENO) != 0;
  bool quiet;
  double last_print = -1e9;
  void show(const std::string& line, double now, bool force) {
    if (quiet) return;
    if (tty) {
      std::printf("\r%-110s", line.c_str());
      std::fflush(stdout);
    } else if (force || now - last_print >= 15.0) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      last_print = now;
    }
  }
  void end_line() {
    if (tty && !quiet) std::printf("\n");
  }
};

// The examples a model can read: a transformer has max_positions positions for a source and for
// <bos> + target. Longer pairs are dropped with a count printed, never silently and never as a
// crash in the middle of a run.
std::vector<data::Example> fitting_examples(std::vector<data::Example> examples, const ModelConfig& mc, const char* what,
                                            bool report) {
  const int64_t limit = mc.longest_sequence();
  const auto too_long = [&](const data::Example& e) {
    return static_cast<int64_t>(e.src.size()) > limit || static_cast<int64_t>(e.tgt.size()) + 1 > limit;
  };
  const auto kept_end = std::stable_partition(examples.begin(), examples.end(), [&](const auto& e) { return !too_long(e); });
  const auto dropped = static_cast<std::size_t>(examples.end() - kept_end);
  if (dropped && report)
    fmt::print(stderr, "warning: {} of {} {} pairs are longer than the model's {} positions and were left out\n", dropped,
               examples.size(), what, limit);
  examples.erase(kept_end, examples.end());
  return examples;
}

// Guided alignment: each training example gets its pair's gold alignment, checked against the
// encoded pair (word tokens: subwords would need the alignment mapped to pieces).
void attach_alignments(std::vector<data::Example>& examples, const std::vector<std::vector<int64_t>>& alignments,
                       const ModelConfig& mc) {
  if (alignments.empty())
    throw Error("--guided-alignment-weight needs gold alignments: the built-in corpus has them; with --train, give "
                "--guided-alignment FILE (one Pharaoh line per training pair)");
  if (mc.tokenizer != "word")
    throw Error("guided alignment: the gold alignments link words, and --tokenizer spm splits them into subwords");
  if (alignments.size() != examples.size())
    throw Error(fmt::format("guided alignment: {} alignments for {} training pairs", alignments.size(), examples.size()));
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const auto& a = alignments[i];
    const auto& e = examples[i];
    if (a.size() != e.tgt.size())
      throw Error(fmt::format("guided alignment: training pair {} has {} target words and {} alignment links", i + 1,
                              e.tgt.size(), a.size()));
    for (std::size_t t = 0; t < a.size(); ++t)
      if (a[t] >= static_cast<int64_t>(e.src.size()))
        throw Error(fmt::format("guided alignment: training pair {} links target word {} to source word {} of {}", i + 1, t,
                                a[t], e.src.size()));
    examples[i].alignment = a;
  }
}

// The name of the first parameter holding NaN or Inf, or "" when all are finite.
std::string first_non_finite_parameter(const nn::Module& model) {
  for (const auto& [name, p] : model.named_parameters()) {
    const auto v = p.to_vector();
    if (!std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); })) return name;
  }
  return "";
}

double validation_loss(Seq2Seq& model, const std::vector<data::Example>& valid, const data::BatchingOptions& b) {
  NoGradGuard no_grad;
  model.eval();
  double total = 0;
  int64_t tokens = 0;
  data::BatchingOptions o = b;
  o.shuffle = false;
  for (const auto& idx : data::make_batches(valid, o, 0, 0)) {
    const data::Batch batch = data::collate(valid, idx);
    const Tensor loss = model.loss(batch, 0.0);
    total += loss.item() * static_cast<double>(batch.target_tokens());
    tokens += batch.target_tokens();
  }
  model.train();
  return tokens ? total / static_cast<double>(tokens) : 0.0;
}
}  // namespace

double forward_backward(Seq2Seq& model, const data::Batch& batch, double label_smoothing, double guided_alignment) {
  const auto loss_of = [&](const data::Batch& b) {
    return guided_alignment > 0 ? model.guided_loss(b, label_smoothing, guided_alignment) : model.loss(b, label_smoothing);
  };
  const auto parts = parts_for_threads(batch.size);
  const double tokens = static_cast<double>(std::max<int64_t>(1, batch.target_tokens()));
  // Weights change only after the backward: Linear layers lay theirs out once for all parts.
  FixedWeightsGuard fixed_weights;
  const std::vector<double> losses = parallel_backward(static_cast<int64_t>(parts.size()), [&](int64_t p) {
    if (parts.size() == 1) return loss_of(batch);
    const auto [from, to] = parts[static_cast<std::size_t>(p)];
    const data::Batch part = data::slice_rows(batch, from, to);
    // The part's mean loss times its share of the tokens: the parts add up to the batch's mean.
    const double share = static_cast<double>(part.target_tokens()) / tokens;
    return loss_of(part) * share;
  });
  double loss = 0;
  for (double l : losses) loss += l;
  return loss;
}

namespace {
// On --resume: the model the user names must be the one the directory holds, and options they
// set must equal the saved ones (the saved configuration is what trains on).
void check_resumed_config(const ModelConfig& saved, const TrainOptions& opt, const std::string& file) {
  const nlohmann::json want = nlohmann::json::parse(opt.model.to_json()), have = nlohmann::json::parse(saved.to_json());
  std::vector<std::string> fields = {"model", "attention_kind", "positions"};
  fields.insert(fields.end(), opt.model_fields_set.begin(), opt.model_fields_set.end());
  for (const auto& f : fields)
    if (want.contains(f) && want.at(f) != have.at(f))
      throw Error(fmt::format("train --resume: {} says {} is {}, but this command asks for {}; resume with the saved "
                              "settings, or train afresh into another --out", file, f, have.at(f).dump(), want.at(f).dump()));
}

// The state records fingerprints of the files it was trained with; a swapped, reordered or
// regenerated vocabulary (or an edited config) would silently train on nonsense.
// SentencePiece models are fingerprinted too: a model retrained since would map text to other pieces.
std::vector<std::pair<std::string, std::string>> fingerprinted_files(const ModelConfig& config) {
  std::vector<std::pair<std::string, std::string>> files = {
      {"config.json", "config_fingerprint"}, {"src.vocab", "src_vocab_fingerprint"}, {"tgt.vocab", "tgt_vocab_fingerprint"}};
  for (const auto& f : subword_model_files(config)) files.emplace_back(f, f + "_fingerprint");
  return files;
}

void check_fingerprints(const TrainingDirectory& dir, const ModelConfig& config,
                        const std::map<std::string, std::string>& meta) {
  for (const auto& [name, key] : fingerprinted_files(config)) {
    const auto it = meta.find(key);
    if (it == meta.end()) continue;  // written before fingerprints existed
    if (file_fingerprint(dir.file(name)) != it->second)
      throw FormatError(fmt::format("train --resume: {} is not the file {} was trained with (it was changed, swapped or "
                                    "regenerated since); restore it, or train afresh", dir.file(name),
                                    dir.file("state.safetensors")));
  }
}


// One training run, its phases as methods: prepare (directory, vocabularies, model, optimiser,
// resume point), then steps, validations and saves until the budget ends.
class Trainer {
 public:
  Trainer(const TrainOptions& opt, const TrainData& corpus);
  TrainResult run();

 private:
  void prepare_vocabularies(const TrainData& corpus);
  void build_model_and_optimiser();
  void resume();
  void open_log();
  double train_step(const data::Batch& batch);  // forward, backward, update; the batch's loss
  void log_row(const std::string& row);
  void validate(double seconds, double train_loss, double tps);
  void check_before_saving();
  void save_state(double seconds);
  void keep_recent_weights();
  void update_ema();
  // Runs `fn` with the moving average in the model's parameters (when --ema is on).
  template <class F>
  void with_ema_weights(F&& fn);
  void after_validation(bool improved);
  Error divergence_error(const std::string& what) const;
  bool diverged(double loss) const { return !std::isfinite(loss) || loss > 10 * guessing_; }

  const TrainOptions& opt_;
  const TrainConfig& tc_;
  const int world_ = distributed::world_size(), me_ = distributed::rank();
  const bool primary_ = distributed::is_primary();
  TrainingDirectory dir_;
  TextCodec codec_;
  ModelConfig mc_;
  std::vector<data::Example> train_examples_, valid_examples_;
  std::vector<data::SentencePair> valid_bleu_pairs_;
  std::shared_ptr<Seq2Seq> model_;
  std::vector<Tensor> params_;
  std::unique_ptr<distributed::GradientAverager> averager_;
  std::unique_ptr<optim::Adam> adam_;
  std::unique_ptr<optim::Schedule> schedule_;
  data::BatchingOptions batching_;
  std::unique_ptr<data::DataLoader> loader_;
  ResumePoint from_;
  int64_t step_ = 0;
  double best_bleu_ = -1, lr_ = 0, guessing_ = 0, last_batch_loss_ = 0;
  data::Batch last_batch_;  // the latest trained batch: its loss is checked again before a save
  std::vector<Tensor> ema_;  // --ema: the moving average of params_
  int64_t since_best_ = 0;   // validations since the best BLEU
  double lr_scale_ = 1;      // reduce-on-plateau's factor so far
  bool stop_early_ = false;  // --patience ran out
  bool validated_ = false;   // at least one validation (in this run or before it); the same on every rank
  std::ofstream log_;
  Progress progress_;
};

Trainer::Trainer(const TrainOptions& opt, const TrainData& corpus)
    : opt_(opt), tc_(opt.train),
      // Options are validated before the directory is created or locked.
      dir_((opt.train.validate(), opt.model.validate(), opt.out_dir),
           opt.resume ? TrainingDirectory::Mode::Resume
                      : opt.overwrite ? TrainingDirectory::Mode::Overwrite : TrainingDirectory::Mode::Fresh,
           distributed::is_primary()),
      mc_(opt.model), progress_{::isatty(STDOUT_FILENO) != 0, opt.quiet || !distributed::is_primary()} {
  if (corpus.train.empty()) throw Error("train: the training corpus is empty");
  set_threads(tc_.threads);
  prepare_vocabularies(corpus);
  build_model_and_optimiser();
  if (opt_.resume) resume();
  best_bleu_ = from_.best_bleu;
  step_ = from_.step;
  since_best_ = from_.validations_since_best;
  validated_ = from_.best_bleu >= 0;
  lr_scale_ = from_.lr_scale;
  open_log();
  batching_.max_tokens = tc_.max_tokens;
  batching_.max_batch = tc_.max_batch;
  loader_ = std::make_unique<data::DataLoader>(train_examples_, batching_, tc_.seed, from_.epoch, from_.batch);
}

// Built from the training data (and written) on a fresh run; read back, and checked against the
// configuration, when resuming.
void Trainer::prepare_vocabularies(const TrainData& corpus) {
  if (opt_.resume) {
    if (!fs::exists(dir_.file("state.safetensors")))
      throw Error(fmt::format("train --resume: no {} to resume from", dir_.file("state.safetensors")));
    mc_ = ModelConfig::from_json(read_text(dir_.file("config.json")), dir_.file("config.json"));
    check_resumed_config(mc_, opt_, dir_.file("config.json"));
    codec_ = load_codec(dir_.path(), mc_);
    if (codec_.src_vocab.size() != mc_.src_vocab || codec_.tgt_vocab.size() != mc_.tgt_vocab)
      throw FormatError(fmt::format("{}: vocabularies of {} and {} words but config.json says {} and {}", dir_.path(),
                                    codec_.src_vocab.size(), codec_.tgt_vocab.size(), mc_.src_vocab, mc_.tgt_vocab));
  } else {
    if (mc_.tokenizer == "spm") {
      // Learnt by the primary (deterministic), which writes the models; the others read them
      // once it has (the broadcast is the barrier).
      if (primary_) codec_ = train_subword_codec(corpus.train, mc_, tc_, dir_.path());
      distributed::broadcast(int64_t{0});
      if (!primary_) codec_ = load_subword_codec(dir_.path(), mc_);
    } else {
      std::vector<std::vector<std::string>> src, tgt;
      const data::WhitespaceTokenizer words;
      for (const auto& p : corpus.train) src.push_back(words.tokenize(p.source)), tgt.push_back(words.tokenize(p.target));
      codec_ = word_codec(Vocabulary::build(src, 1, 50000), Vocabulary::build(tgt, 1, 50000));
    }
    mc_.src_vocab = codec_.src_vocab.size();
    mc_.tgt_vocab = codec_.tgt_vocab.size();
    if (primary_) {
      codec_.src_vocab.save(dir_.file("src.vocab"));
      codec_.tgt_vocab.save(dir_.file("tgt.vocab"));
      write_file_atomically(dir_.file("config.json"), mc_.to_json());
    }
  }
  train_examples_ = codec_.encode(corpus.train);
  if (tc_.guided_alignment > 0) attach_alignments(train_examples_, corpus.train_alignments, mc_);
  train_examples_ = fitting_examples(std::move(train_examples_), mc_, "training", primary_);
  valid_examples_ = fitting_examples(codec_.encode(corpus.valid), mc_, "validation", primary_);
  if (train_examples_.empty()) throw Error(fmt::format("train: no training pair fits the model's {} positions", mc_.max_positions));
  // A pair longer than the token budget is not dropped: it gets a batch of its own (over budget).
  const auto lengths = data::batching_lengths(train_examples_);
  const auto over = std::count_if(lengths.begin(), lengths.end(), [&](int64_t l) { return l > tc_.max_tokens; });
  if (over > 0 && primary_)
    fmt::print(stderr, "warning: {} training pairs are longer than --max-tokens {} (the longest: {} tokens); each gets a "
               "batch of its own\n", over, tc_.max_tokens, *std::max_element(lengths.begin(), lengths.end()));
  const auto n_bleu = std::min<std::size_t>(corpus.valid.size(), static_cast<std::size_t>(tc_.valid_sentences));
  valid_bleu_pairs_.assign(corpus.valid.begin(), corpus.valid.begin() + static_cast<std::ptrdiff_t>(n_bleu));
  // Diverged means a non-finite loss or one far above uniform guessing (ln V), which a healthy
  // run never approaches after its first steps.
  guessing_ = std::log(static_cast<double>(mc_.tgt_vocab));
}

void Trainer::build_model_and_optimiser() {
  manual_seed(tc_.seed);
  model_ = make_model(mc_);
  model_->train();
  distributed::broadcast_module(*model_);  // every rank starts from rank 0's parameters
  params_ = model_->parameters();
  averager_ = std::make_unique<distributed::GradientAverager>(params_);
  const bool transformer = mc_.is_transformer();
  adam_ = std::make_unique<optim::Adam>(optim::single_group(params_, tc_.lr), 0.9, transformer ? 0.98 : 0.999,
                                        transformer ? 1e-9 : 1e-8);
  if (tc_.ema_decay > 0)
    for (const auto& p : params_) {
      Tensor copy = Tensor::empty(p.shape(), p.dtype());
      copy.copy_(p);
      ema_.push_back(copy);
    }
  if (transformer) {
    // Peak `lr` at `warmup`, then lr * sqrt(warmup / step): Vaswani et al.'s schedule rescaled.
    const double scale = tc_.lr * std::sqrt(static_cast<double>(mc_.d_model)) * std::sqrt(static_cast<double>(tc_.warmup));
    schedule_ = std::make_unique<optim::InverseSqrtSchedule>(mc_.d_model, tc_.warmup, scale);
  } else {
    schedule_ = std::make_unique<optim::ConstantSchedule>(tc_.lr);
  }
}

void Trainer::resume() {
  const std::string state_file = dir_.file("state.safetensors");
  const SafetensorsFile rest = nn::load_checkpoint(*model_, state_file, {"optim.", "ema."});
  check_fingerprints(dir_, mc_, rest.metadata);
  adam_->load_state(rest.tensors);
  if (!ema_.empty()) {
    std::map<std::string, Tensor> saved(rest.tensors.begin(), rest.tensors.end());
    const auto named = model_->named_parameters();
    for (std::size_t i = 0; i < named.size(); ++i) {
      const auto it = saved.find("ema." + named[i].first);
      if (it == saved.end())  // a state written without --ema: the average starts here
        ema_[i].copy_(named[i].second);
      else if (it->second.shape() != ema_[i].shape())
        throw FormatError(fmt::format("{}: 'ema.{}' has shape {}, the parameter {}", state_file, named[i].first,
                                      shape_str(it->second.shape()), shape_str(ema_[i].shape())));
      else ema_[i].copy_(it->second);
    }
  }
  from_ = read_resume_point(rest.metadata, state_file, world_, mc_.model);
  default_generator().engine() = from_.rng;
  if (const std::string bad = first_non_finite_parameter(*model_); !bad.empty())
    throw FormatError(fmt::format("{}: parameter '{}' holds NaN or Inf; resume from an earlier state or train afresh",
                                  state_file, bad));
}

// Every row is flushed and checked: a full disk or an unwritable log is an error, and a killed
// run keeps every row it wrote.
void Trainer::open_log() {
  if (!primary_) return;
  log_.open(dir_.file("log.csv"), opt_.resume ? std::ios::app : std::ios::trunc);
  if (!log_) throw Error(fmt::format("{}: cannot open for writing: {}", dir_.file("log.csv"), std::strerror(errno)));
  if (!opt_.resume) log_row("step,seconds,train_loss,lr,tokens_per_second,valid_loss,valid_bleu,batch_loss\n");
}

void Trainer::log_row(const std::string& row) {
  if (!primary_) return;
  log_ << row;
  log_.flush();
  if (!log_) throw Error(fmt::format("{}: write failed (disk full or not writable)", dir_.file("log.csv")));
}

Error Trainer::divergence_error(const std::string& what) const {
  std::vector<std::string> kept;
  for (const char* f : {"model.safetensors", "state.safetensors"})
    if (fs::exists(dir_.file(f))) kept.push_back(dir_.file(f));
  return Error(fmt::format("training diverged at step {}: {} (uniform guessing would give a loss of {:.2f}; learning "
                           "rate {:.3g}). {}. Lower --lr, or run with --anomaly to find the op that first produced "
                           "NaN/Inf", step_ + 1, what, guessing_, lr_,
                           kept.empty() ? "No checkpoint was written before it"
                                        : fmt::format("The last good checkpoints are {}", fmt::join(kept, " and "))));
}

// Data parallel (mpirun): every rank builds the same vocabularies, model and batches; each
// computes every world-th sentence of every batch; rank 0 alone validates, logs and writes files.
double Trainer::train_step(const data::Batch& batch) {
  lr_ = schedule_->lr(step_ + 1) * lr_scale_;
  adam_->set_lr(lr_);
  double loss_value = 0;
  Tensor loss;
  int64_t local_tokens = 0;
  if (world_ == 1) {  // one part of the batch per thread, forward and backward (forward_backward)
    adam_->zero_grad();
    loss_value = forward_backward(*model_, batch, tc_.label_smoothing, tc_.guided_alignment);
  } else {
    // This rank's shard; its mean loss is rescaled so that averaging gradients over ranks gives
    // the gradient of the whole batch's mean loss.
    std::vector<std::size_t> mine;
    for (std::size_t i = static_cast<std::size_t>(me_); i < batch.indices.size(); i += static_cast<std::size_t>(world_))
      mine.push_back(batch.indices[i]);
    const data::Batch local = mine.empty() ? data::Batch{} : data::collate(train_examples_, mine);
    local_tokens = local.size ? local.target_tokens() : 0;
    std::vector<double> loss_sum = {0.0};  // Σ over ranks of mean loss × tokens
    if (local_tokens > 0) {
      loss = tc_.guided_alignment > 0 ? model_->guided_loss(local, tc_.label_smoothing, tc_.guided_alignment)
                                      : model_->loss(local, tc_.label_smoothing);
      loss_sum[0] = loss.item() * static_cast<double>(local_tokens);
    }
    distributed::all_reduce_sum(loss_sum);
    loss_value = loss_sum[0] / static_cast<double>(std::max<int64_t>(1, batch.target_tokens()));
  }
  last_batch_loss_ = loss_value;
  // Checked before any parameter changes (the update after the last step: check_before_saving).
  if (diverged(loss_value)) {
    progress_.end_line();
    throw divergence_error(fmt::format("loss is {}", loss_value));
  }
  if (world_ > 1) {
    adam_->zero_grad();
    if (loss.defined()) {
      auto overlap = averager_->backward_scope();  // buckets start their all-reduce during backward
      (loss * (static_cast<double>(local_tokens * world_) / static_cast<double>(batch.target_tokens()))).backward();
    }
  }
  averager_->finish();
  optim::clip_grad_norm(params_, tc_.clip);
  adam_->step();
  update_ema();
  ++step_;
  return loss_value;
}

void Trainer::update_ema() {
  if (ema_.empty()) return;
  NoGradGuard no_grad;
  const double d = tc_.ema_decay;
  for (std::size_t i = 0; i < ema_.size(); ++i) ema_[i].copy_(ema_[i] * d + params_[i].detach() * (1 - d));
}

template <class F>
void Trainer::with_ema_weights(F&& fn) {
  if (ema_.empty()) return fn();
  NoGradGuard no_grad;
  std::vector<Tensor> current;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    current.push_back(Tensor::empty(params_[i].shape(), params_[i].dtype()));
    current.back().copy_(params_[i]);
    params_[i].copy_(ema_[i]);
  }
  struct Restore {  // also when fn throws
    std::vector<Tensor>& params;
    std::vector<Tensor>& saved;
    ~Restore() {
      for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(saved[i]);
    }
  } restore{params_, current};
  fn();
}

// Patience and reduce-on-plateau count validations without a better BLEU.
void Trainer::after_validation(bool improved) {
  since_best_ = improved ? 0 : since_best_ + 1;
  if (tc_.plateau_factor > 0 && since_best_ > 0 && since_best_ % tc_.plateau_patience == 0) {
    lr_scale_ *= tc_.plateau_factor;
    if (primary_ && !opt_.quiet)
      fmt::print("[{}] step {}: no better validation BLEU for {} validations; learning rate x{:g} (now x{:g})\n", mc_.model,
                 step_, since_best_, tc_.plateau_factor, lr_scale_);
  }
  if (tc_.patience > 0 && since_best_ >= tc_.patience) {
    stop_early_ = true;
    if (primary_ && !opt_.quiet)
      fmt::print("[{}] step {}: no better validation BLEU for {} validations; stopping (--patience)\n", mc_.model, step_, since_best_);
  }
}

void Trainer::validate(double seconds, double train_loss, double tps) {
  // Every rank counts validations (patience and the learning-rate scale stay in step); rank 0
  // alone computes them and broadcasts whether BLEU improved.
  int improved = 0;
  double vloss = 0, bleu = 0;
  if (primary_) {
    with_ema_weights([&] {
      vloss = validation_loss(*model_, valid_examples_, batching_);
      if (diverged(vloss) || !first_non_finite_parameter(*model_).empty())
        throw divergence_error(fmt::format("the validation loss is {}", vloss));
      bleu = evaluate(*model_, codec_, valid_bleu_pairs_, SearchOptions{}, 64, 0).bleu;
      improved = bleu > best_bleu_;
      if (improved)
        nn::save_checkpoint(*model_, dir_.file("model.safetensors"), {},
                            {{"step", std::to_string(step_)}, {"valid_bleu", fmt::format("{:.3f}", bleu)}, {"model", mc_.model}});
    });
  }
  if (world_ > 1) improved = static_cast<int>(distributed::broadcast(improved));
  validated_ = true;
  after_validation(improved != 0);
  if (!primary_) return;
  log_row(fmt::format("{},{:.2f},{:.5f},{:.6g},{:.0f},{:.5f},{:.3f},{:.7g}\n", step_, seconds, train_loss, lr_, tps, vloss,
                      bleu, last_batch_loss_));
  if (improved) best_bleu_ = bleu;
  progress_.show(fmt::format("[{}] step {} valid loss {:.4f} BLEU {:.2f} (best {:.2f})", mc_.model, step_, vloss, bleu,
                             best_bleu_), seconds, true);
  progress_.end_line();
}

// Before anything is written from the current parameters: all finite, and the loss of the latest
// batch under them not diverged (the last update is otherwise never checked).
void Trainer::check_before_saving() {
  if (const std::string bad = first_non_finite_parameter(*model_); !bad.empty())
    throw divergence_error(fmt::format("parameter '{}' holds NaN or Inf after the update", bad));
  if (last_batch_.size == 0) return;
  NoGradGuard no_grad;
  model_->eval();  // no dropout: draws nothing from the generator, so resume stays exact
  const double loss = model_->loss(last_batch_, 0.0).item();
  model_->train();
  if (diverged(loss)) throw divergence_error(fmt::format("the loss after the update is {}", loss));
}

void Trainer::save_state(double seconds) {
  if (!primary_) return;
  std::map<std::string, std::string> meta = {
      {"step", std::to_string(step_)}, {"epoch", std::to_string(loader_->epoch())},
      {"batch", std::to_string(loader_->batch_in_epoch())}, {"seconds", fmt::format("{:.3f}", seconds)},
      {"best_bleu", fmt::format("{:.6f}", best_bleu_)}, {"rng", engine_state(default_generator().engine())},
      {"model", mc_.model}, {"world_size", std::to_string(world_)},
      {"validations_since_best", std::to_string(since_best_)}, {"lr_scale", fmt::format("{:.17g}", lr_scale_)}};
  for (const auto& [name, key] : fingerprinted_files(mc_)) meta[key] = file_fingerprint(dir_.file(name));
  NamedTensors extra = adam_->state();
  const auto named = model_->named_parameters();
  for (std::size_t i = 0; i < ema_.size(); ++i) extra.emplace_back("ema." + named[i].first, ema_[i]);
  nn::save_checkpoint(*model_, dir_.file("state.safetensors"), extra, meta);
  keep_recent_weights();
}

// --keep-last: the weights of this save (the moving average, with --ema) as
// checkpoint.STEP.safetensors, and only the newest keep_last of them.
void Trainer::keep_recent_weights() {
  if (tc_.keep_last <= 0) return;
  with_ema_weights([&] {
    nn::save_checkpoint(*model_, dir_.file(fmt::format("checkpoint.{}.safetensors", step_)), {},
                        {{"step", std::to_string(step_)}, {"model", mc_.model}});
  });
  const auto kept = recent_checkpoints(dir_.path());
  for (std::size_t i = static_cast<std::size_t>(tc_.keep_last); i < kept.size(); ++i) fs::remove(kept[i].second);
}

TrainResult Trainer::run() {
  const auto t0 = std::chrono::steady_clock::now();
  auto now = [&] { return from_.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  double loss_avg = 0, window_tokens = 0, window_start = now();
  lr_ = schedule_->lr(step_ + 1);
  while (true) {
    // Rank 0's clock decides when a time budget is spent, so every rank stops at the same step.
    // Given both, --steps and --time-budget each end the run.
    const bool done = (tc_.steps > 0 && step_ >= tc_.steps) || (tc_.time_budget > 0 && now() >= tc_.time_budget);
    if (world_ > 1 ? distributed::broadcast(done ? 1 : 0) != 0 : done) break;
    data::Batch batch = loader_->next();
    const double loss_value = train_step(batch);
    loss_avg = step_ == 1 ? loss_value : 0.98 * loss_avg + 0.02 * loss_value;
    window_tokens += static_cast<double>(batch.target_tokens());
    const double t1 = now();
    const double tps = window_tokens / std::max(1e-9, t1 - window_start);
    if (t1 - window_start > 5) window_tokens = 0, window_start = t1;
    const double eta = tc_.steps > 0 ? (t1 - from_.seconds) / static_cast<double>(std::max<int64_t>(step_ - from_.step, 1)) *
                                           static_cast<double>(tc_.steps - step_)
                                     : tc_.time_budget - t1;
    progress_.show(fmt::format("[{}] step {} loss {:.4f} lr {:.2e} {:.0f} tok/s elapsed {:.0f}s ETA {:.0f}s", mc_.model,
                               step_, loss_avg, lr_, tps, t1, std::max(0.0, eta)), t1, false);
    if (step_ % tc_.valid_every == 0) validate(t1, loss_avg, tps);
    else if (step_ % tc_.log_every == 0)
      log_row(fmt::format("{},{:.2f},{:.5f},{:.6g},{:.0f},,,{:.7g}\n", step_, t1, loss_avg, lr_, tps, loss_value));
    if (primary_) last_batch_ = std::move(batch);
    if (step_ % tc_.save_every == 0 && primary_) {
      check_before_saving();
      save_state(t1);
    }
    if (stop_early_) break;
  }
  const double end = now();
  if (primary_) check_before_saving();
  if (step_ % tc_.valid_every != 0 || !validated_) validate(end, loss_avg, 0);
  save_state(end);
  TrainResult result;
  result.parameters = model_->num_parameters();
  result.steps = step_;
  result.seconds = end;
  result.best_valid_bleu = best_bleu_;
  result.last_train_loss = loss_avg;
  return result;
}
}  // namespace

TrainData keep_training_length(const TrainData& data, int64_t max_source_tokens) {
  if (!data.train_alignments.empty() && data.train_alignments.size() != data.train.size())
    throw Error(fmt::format("guided alignment: {} alignments for {} training pairs", data.train_alignments.size(),
                            data.train.size()));
  if (max_source_tokens <= 0) return data;
  TrainData kept{{}, data::sources_up_to(data.valid, max_source_tokens)};
  const data::WhitespaceTokenizer words;
  for (std::size_t i = 0; i < data.train.size(); ++i) {
    if (static_cast<int64_t>(words.tokenize(data.train[i].source).size()) > max_source_tokens) continue;
    kept.train.push_back(data.train[i]);
    if (!data.train_alignments.empty()) kept.train_alignments.push_back(data.train_alignments.at(i));
  }
  if (kept.train.empty() || kept.valid.empty())
    throw Error(fmt::format("--train-max-len {}: no {} pair has a source that short ({} training, {} validation pairs)",
                            max_source_tokens, kept.train.empty() ? "training" : "validation", data.train.size(),
                            data.valid.size()));
  return kept;
}

TrainResult train_model(const TrainOptions& opt, const TrainData& corpus) { return Trainer(opt, corpus).run(); }

LoadedModel load_trained(const std::string& dir) {
  LoadedModel m;
  if (!fs::is_directory(dir)) throw Error(fmt::format("{}: not a checkpoint directory", dir));
  m.config = ModelConfig::from_json(read_text(dir + "/config.json"), dir + "/config.json");
  m.codec = load_codec(dir, m.config);
  if (m.codec.src_vocab.size() != m.config.src_vocab || m.codec.tgt_vocab.size() != m.config.tgt_vocab)
    throw FormatError(fmt::format("{}: vocabularies of {} and {} words but config.json says {} and {}", dir,
                                  m.codec.src_vocab.size(), m.codec.tgt_vocab.size(), m.config.src_vocab, m.config.tgt_vocab));
  m.model = make_model(m.config);
  nn::load_checkpoint(*m.model, dir + "/model.safetensors");
  if (const std::string bad = first_non_finite_parameter(*m.model); !bad.empty())
    throw FormatError(fmt::format("{}/model.safetensors: parameter '{}' holds NaN or Inf; its translations would be "
                                  "meaningless", dir, bad));
  m.model->eval();
  return m;
}

std::vector<std::pair<int64_t, std::string>> recent_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const std::string prefix = "checkpoint.", suffix = ".safetensors";
    if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string step = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (step.find_first_not_of("0123456789") != std::string::npos || step.size() > 15) continue;
    found.emplace_back(std::stoll(step), entry.path().string());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return found;
}

std::vector<int64_t> average_checkpoints(const std::string& dir, int64_t last, const std::string& out_dir) {
  if (last < 1) throw Error(fmt::format("average: --last {} (at least 1)", last));
  const auto found = recent_checkpoints(dir);
  if (found.empty()) throw Error(fmt::format("{}: no checkpoint.STEP.safetensors to average (train with --keep-last N)", dir));
  if (static_cast<int64_t>(found.size()) < last)
    throw Error(fmt::format("{}: {} checkpoints to average but --last {}", dir, found.size(), last));
  LoadedModel m = load_trained(dir);
  NoGradGuard no_grad;
  auto params = m.model->parameters();
  std::vector<Tensor> sum;
  for (const auto& p : params) sum.push_back(zeros(p.shape(), DType::Float64));
  std::vector<int64_t> steps;
  for (int64_t k = 0; k < last; ++k) {
    nn::load_checkpoint(*m.model, found[static_cast<std::size_t>(k)].second);
    for (std::size_t i = 0; i < params.size(); ++i) sum[i] = sum[i] + params[i].to(DType::Float64);
    steps.push_back(found[static_cast<std::size_t>(k)].first);
  }
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(sum[i] * (1.0 / static_cast<double>(last)));
  fs::create_directories(out_dir);
  std::vector<std::string> files = {"config.json", "src.vocab", "tgt.vocab"};
  for (const auto& f : subword_model_files(m.config)) files.push_back(f);
  for (const auto& f : files) write_file_atomically(out_dir + "/" + f, read_text(dir + "/" + f));
  nn::save_checkpoint(*m.model, out_dir + "/model.safetensors", {},
                      {{"model", m.config.model}, {"averaged_steps", fmt::format("{}", fmt::join(steps, ","))}});
  return steps;
}

}  // namespace xg::translation
