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

#include "core/ops.hpp"
#include "data/batch.hpp"
#include "data/loader.hpp"
#include "data/tokenizer.hpp"
#include "dist/dist.hpp"
#include "evaluate.hpp"
#include "nn/checkpoint.hpp"
#include "optim/optim.hpp"
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
    const Tensor loss = cross_entropy(model.forward(batch), batch.tgt_out, Vocabulary::kPad);
    total += loss.item() * static_cast<double>(batch.target_tokens());
    tokens += batch.target_tokens();
  }
  model.train();
  return tokens ? total / static_cast<double>(tokens) : 0.0;
}
}  // namespace

double forward_backward(Seq2Seq& model, const data::Batch& batch, double label_smoothing) {
  const auto parts = parts_for_threads(batch.size);
  const double tokens = static_cast<double>(std::max<int64_t>(1, batch.target_tokens()));
  // Weights change only after the backward: Linear layers lay theirs out once for all parts.
  FixedWeightsGuard fixed_weights;
  const std::vector<double> losses = parallel_backward(static_cast<int64_t>(parts.size()), [&](int64_t p) {
    if (parts.size() == 1) return cross_entropy(model.forward(batch), batch.tgt_out, Vocabulary::kPad, label_smoothing);
    const auto [from, to] = parts[static_cast<std::size_t>(p)];
    const data::Batch part = data::slice_rows(batch, from, to);
    // The part's mean loss times its share of the tokens: the parts add up to the batch's mean.
    const double share = static_cast<double>(part.target_tokens()) / tokens;
    return cross_entropy(model.forward(part), part.tgt_out, Vocabulary::kPad, label_smoothing) * share;
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
const std::vector<std::pair<std::string, std::string>> kFingerprintedFiles = {
    {"config.json", "config_fingerprint"}, {"src.vocab", "src_vocab_fingerprint"}, {"tgt.vocab", "tgt_vocab_fingerprint"}};

void check_fingerprints(const TrainingDirectory& dir, const std::map<std::string, std::string>& meta) {
  for (const auto& [name, key] : kFingerprintedFiles) {
    const auto it = meta.find(key);
    if (it == meta.end()) continue;  // written before fingerprints existed
    if (file_fingerprint(dir.file(name)) != it->second)
      throw FormatError(fmt::format("train --resume: {} is not the file {} was trained with (it was changed, swapped or "
                                    "regenerated since); restore it, or train afresh", dir.file(name),
                                    dir.file("state.safetensors")));
  }
}

}  // namespace

TrainResult train_model(const TrainOptions& opt, const TrainData& corpus) {
  const TrainConfig& tc = opt.train;
  tc.validate();
  opt.model.validate();
  if (corpus.train.empty()) throw Error("train: the training corpus is empty");
  // Data parallel (mpirun): every rank builds the same vocabularies, model and batches; each
  // computes its shard of every batch; rank 0 alone validates, logs and writes files.
  const int world = dist::world_size(), me = dist::rank();
  const bool primary = dist::is_primary();
  const TrainingDirectory dir(opt.out_dir, opt.resume ? TrainingDirectory::Mode::Resume
                                           : opt.overwrite ? TrainingDirectory::Mode::Overwrite
                                                           : TrainingDirectory::Mode::Fresh, primary);
  const data::WhitespaceTokenizer tok;
  set_threads(tc.threads);

  // Vocabularies: built from the training data, or reloaded when resuming.
  Vocabulary src_vocab, tgt_vocab;
  ModelConfig mc = opt.model;
  const std::string state_file = dir.file("state.safetensors");
  if (opt.resume && !fs::exists(state_file)) throw Error(fmt::format("train --resume: no {} to resume from", state_file));
  if (opt.resume) {
    mc = ModelConfig::from_json(read_text(dir.file("config.json")), dir.file("config.json"));
    check_resumed_config(mc, opt, dir.file("config.json"));
    src_vocab = Vocabulary::load(dir.file("src.vocab"));
    tgt_vocab = Vocabulary::load(dir.file("tgt.vocab"));
    if (src_vocab.size() != mc.src_vocab || tgt_vocab.size() != mc.tgt_vocab)
      throw FormatError(fmt::format("{}: vocabularies of {} and {} words but config.json says {} and {}", dir.path(),
                                    src_vocab.size(), tgt_vocab.size(), mc.src_vocab, mc.tgt_vocab));
  } else {
    std::vector<std::vector<std::string>> src, tgt;
    for (const auto& p : corpus.train) src.push_back(tok.tokenize(p.source)), tgt.push_back(tok.tokenize(p.target));
    src_vocab = Vocabulary::build(src, 1, 50000);
    tgt_vocab = Vocabulary::build(tgt, 1, 50000);
    mc.src_vocab = src_vocab.size();
    mc.tgt_vocab = tgt_vocab.size();
    if (primary) {
      src_vocab.save(dir.file("src.vocab"));
      tgt_vocab.save(dir.file("tgt.vocab"));
      write_file_atomically(dir.file("config.json"), mc.to_json());
    }
  }
  const auto train_examples = fitting_examples(data::encode_pairs(corpus.train, src_vocab, tgt_vocab, tok), mc, "training", primary);
  const auto valid_examples = fitting_examples(data::encode_pairs(corpus.valid, src_vocab, tgt_vocab, tok), mc, "validation", primary);
  if (train_examples.empty()) throw Error(fmt::format("train: no training pair fits the model's {} positions", mc.max_positions));
  std::vector<data::SentencePair> valid_bleu_pairs(
      corpus.valid.begin(), corpus.valid.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(corpus.valid.size(), static_cast<std::size_t>(tc.valid_sentences))));

  manual_seed(tc.seed);
  std::shared_ptr<Seq2Seq> model = make_model(mc);
  model->train();
  dist::broadcast_module(*model);  // every rank starts from rank 0's parameters
  const auto params = model->parameters();
  dist::GradientAverager averager(params);
  const bool transformer = mc.model == "transformer";
  optim::Adam adam(optim::single_group(params, tc.lr), 0.9, transformer ? 0.98 : 0.999, transformer ? 1e-9 : 1e-8);
  std::unique_ptr<optim::Schedule> schedule;
  if (transformer) {
    // Peak `lr` at `warmup`, then lr * sqrt(warmup / step): Vaswani et al.'s schedule rescaled.
    const double scale = tc.lr * std::sqrt(static_cast<double>(mc.d_model)) * std::sqrt(static_cast<double>(tc.warmup));
    schedule = std::make_unique<optim::InverseSqrtSchedule>(mc.d_model, tc.warmup, scale);
  } else {
    schedule = std::make_unique<optim::ConstantSchedule>(tc.lr);
  }

  int64_t step = 0;
  ResumePoint from;
  if (opt.resume) {
    const SafetensorsFile rest = nn::load_checkpoint(*model, state_file, {"optim."});
    check_fingerprints(dir, rest.metadata);
    adam.load_state(rest.tensors);
    from = read_resume_point(rest.metadata, state_file, world, mc.model);
    default_generator().engine() = from.rng;
    if (const std::string bad = first_non_finite_parameter(*model); !bad.empty())
      throw FormatError(fmt::format("{}: parameter '{}' holds NaN or Inf; resume from an earlier state or train afresh",
                                    state_file, bad));
    step = from.step;
  }
  double best_bleu = from.best_bleu;

  std::ofstream log;
  const std::string log_file = dir.file("log.csv");
  // Every row is flushed and checked: a full disk or an unwritable log is an error, and a killed
  // run keeps every row it wrote.
  auto log_row = [&](const std::string& row) {
    if (!primary) return;
    log << row;
    log.flush();
    if (!log) throw Error(fmt::format("{}: write failed (disk full or not writable)", log_file));
  };
  if (primary) {
    log.open(log_file, opt.resume ? std::ios::app : std::ios::trunc);
    if (!log) throw Error(fmt::format("{}: cannot open for writing: {}", log_file, std::strerror(errno)));
    if (!opt.resume) log_row("step,seconds,train_loss,lr,tokens_per_second,valid_loss,valid_bleu,batch_loss\n");
  }

  data::BatchingOptions batching;
  batching.max_tokens = tc.max_tokens;
  batching.max_batch = tc.max_batch;
  data::DataLoader loader(train_examples, batching, tc.seed, from.epoch, from.batch);

  // Diverged: a non-finite loss, or one far above uniform guessing (ln V), which a healthy run
  // never approaches after its first steps.
  const double guessing = std::log(static_cast<double>(mc.tgt_vocab));
  auto diverged = [&](double loss) { return !std::isfinite(loss) || loss > 10 * guessing; };
  auto divergence_error = [&](const std::string& what, double lr) {
    std::vector<std::string> kept;
    for (const char* f : {"model.safetensors", "state.safetensors"})
      if (fs::exists(dir.file(f))) kept.push_back(dir.file(f));
    return Error(fmt::format("training diverged at step {}: {} (uniform guessing would give a loss of {:.2f}; learning "
                             "rate {:.3g}). {}. Lower --lr, or run with --anomaly to find the op that first produced "
                             "NaN/Inf", step + 1, what, guessing, lr,
                             kept.empty() ? "No checkpoint was written before it"
                                          : fmt::format("The last good checkpoints are {}", fmt::join(kept, " and "))));
  };
  // Before anything is written from the current parameters: all finite, and the loss of the
  // latest batch under them not diverged (the last update is otherwise never checked).
  data::Batch last_batch;
  auto check_before_saving = [&](double lr) {
    if (const std::string bad = first_non_finite_parameter(*model); !bad.empty())
      throw divergence_error(fmt::format("parameter '{}' holds NaN or Inf after the update", bad), lr);
    if (last_batch.size == 0) return;
    NoGradGuard no_grad;
    model->eval();  // no dropout: draws nothing from the generator, so resume stays exact
    const double loss = cross_entropy(model->forward(last_batch), last_batch.tgt_out, Vocabulary::kPad).item();
    model->train();
    if (diverged(loss)) throw divergence_error(fmt::format("the loss after the update is {}", loss), lr);
  };

  auto save_state = [&](double seconds) {
    std::map<std::string, std::string> meta = {
        {"step", std::to_string(step)},         {"epoch", std::to_string(loader.epoch())},
        {"batch", std::to_string(loader.batch_in_epoch())}, {"seconds", fmt::format("{:.3f}", seconds)},
        {"best_bleu", fmt::format("{:.6f}", best_bleu)},   {"rng", engine_state(default_generator().engine())},
        {"model", mc.model}, {"world_size", std::to_string(world)}};
    if (!primary) return;
    for (const auto& [name, key] : kFingerprintedFiles) meta[key] = file_fingerprint(dir.file(name));
    nn::save_checkpoint(*model, state_file, adam.state(), meta);
  };

  Progress progress{::isatty(STDOUT_FILENO) != 0, opt.quiet || !primary};
  const auto t0 = std::chrono::steady_clock::now();
  auto now = [&] { return from.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  double loss_avg = 0, window_tokens = 0, window_start = now(), last_batch_loss = 0;
  TrainResult result;
  result.parameters = model->num_parameters();
  auto validate = [&](double seconds, double train_loss, double lr, double tps) {
    if (!primary) return;
    const double vloss = validation_loss(*model, valid_examples, batching);
    if (diverged(vloss) || !first_non_finite_parameter(*model).empty())
      throw divergence_error(fmt::format("the validation loss is {}", vloss), lr);
    const EvalResult ev = evaluate(*model, src_vocab, tgt_vocab, valid_bleu_pairs, SearchOptions{});
    log_row(fmt::format("{},{:.2f},{:.5f},{:.6g},{:.0f},{:.5f},{:.3f},{:.7g}\n", step, seconds, train_loss, lr, tps, vloss,
                        ev.bleu, last_batch_loss));
    if (ev.bleu > best_bleu) {
      best_bleu = ev.bleu;
      nn::save_checkpoint(*model, dir.file("model.safetensors"), {},
                          {{"step", std::to_string(step)}, {"valid_bleu", fmt::format("{:.3f}", ev.bleu)}, {"model", mc.model}});
    }
    progress.show(fmt::format("[{}] step {} valid loss {:.4f} BLEU {:.2f} (best {:.2f})", mc.model, step, vloss, ev.bleu, best_bleu),
                  seconds, true);
    progress.end_line();
  };

  double lr = schedule->lr(step + 1);
  while (true) {
    const double t = now();
    // Rank 0's clock decides when a time budget is spent, so every rank stops at the same step.
    // Given both, --steps and --time-budget each end the run.
    const bool done = (tc.steps > 0 && step >= tc.steps) || (tc.time_budget > 0 && t >= tc.time_budget);
    if (world > 1 ? dist::broadcast(done ? 1 : 0) != 0 : done) break;
    data::Batch batch = loader.next();
    lr = schedule->lr(step + 1);
    adam.set_lr(lr);
    // This rank's shard: every world-th sentence of the batch. Its mean loss is rescaled so that
    // averaging gradients over ranks gives the gradient of the whole batch's mean loss.
    data::Batch shard_storage;
    const data::Batch* local = &batch;
    if (world > 1) {
      std::vector<std::size_t> mine;
      for (std::size_t i = static_cast<std::size_t>(me); i < batch.indices.size(); i += static_cast<std::size_t>(world))
        mine.push_back(batch.indices[i]);
      if (!mine.empty()) shard_storage = data::collate(train_examples, mine);
      local = &shard_storage;
    }
    const int64_t local_tokens = local->size ? local->target_tokens() : 0;
    double loss_value = 0;
    Tensor loss;
    if (world == 1) {  // one part of the batch per thread, forward and backward (forward_backward)
      adam.zero_grad();
      loss_value = forward_backward(*model, batch, tc.label_smoothing);
    } else {
      std::vector<double> loss_sum = {0.0};  // Σ over ranks of mean loss × tokens
      if (local_tokens > 0) {
        loss = cross_entropy(model->forward(*local), local->tgt_out, Vocabulary::kPad, tc.label_smoothing);
        loss_sum[0] = loss.item() * static_cast<double>(local_tokens);
      }
      dist::all_reduce_sum(loss_sum);
      loss_value = loss_sum[0] / static_cast<double>(std::max<int64_t>(1, batch.target_tokens()));
    }
    last_batch_loss = loss_value;
    // Checked before any parameter changes (the update after the last step: check_before_saving).
    if (diverged(loss_value)) {
      progress.end_line();
      throw divergence_error(fmt::format("loss is {}", loss_value), lr);
    }
    if (world > 1) {
      adam.zero_grad();
      if (loss.defined()) {
        auto overlap = averager.backward_scope();  // buckets start their all-reduce during backward
        (loss * (static_cast<double>(local_tokens * world) / static_cast<double>(batch.target_tokens()))).backward();
      }
    }
    averager.finish();
    optim::clip_grad_norm(params, tc.clip);
    adam.step();
    ++step;
    loss_avg = step == 1 ? loss_value : 0.98 * loss_avg + 0.02 * loss_value;
    window_tokens += static_cast<double>(batch.target_tokens());
    const double t1 = now();
    const double tps = window_tokens / std::max(1e-9, t1 - window_start);
    if (t1 - window_start > 5) window_tokens = 0, window_start = t1;
    const double eta = tc.steps > 0 ? (t1 - from.seconds) / static_cast<double>(std::max<int64_t>(step - from.step, 1)) *
                                          static_cast<double>(tc.steps - step)
                                    : tc.time_budget - t1;
    progress.show(fmt::format("[{}] step {} loss {:.4f} lr {:.2e} {:.0f} tok/s elapsed {:.0f}s ETA {:.0f}s", mc.model, step,
                              loss_avg, lr, tps, t1, std::max(0.0, eta)),
                  t1, false);
    if (step % tc.valid_every == 0) validate(t1, loss_avg, lr, tps);
    else if (step % tc.log_every == 0)
      log_row(fmt::format("{},{:.2f},{:.5f},{:.6g},{:.0f},,,{:.7g}\n", step, t1, loss_avg, lr, tps, loss_value));
    if (primary) last_batch = std::move(batch);
    if (step % tc.save_every == 0 && primary) {
      check_before_saving(lr);
      save_state(t1);
    }
  }
  const double end = now();
  if (primary) check_before_saving(lr);
  if (step % tc.valid_every != 0 || best_bleu < 0) validate(end, loss_avg, lr, 0);
  save_state(end);
  result.steps = step;
  result.seconds = end;
  result.best_valid_bleu = best_bleu;
  result.last_train_loss = loss_avg;
  return result;
}

LoadedModel load_trained(const std::string& dir) {
  LoadedModel m;
  if (!fs::is_directory(dir)) throw Error(fmt::format("{}: not a checkpoint directory", dir));
  m.config = ModelConfig::from_json(read_text(dir + "/config.json"), dir + "/config.json");
  m.src_vocab = Vocabulary::load(dir + "/src.vocab");
  m.tgt_vocab = Vocabulary::load(dir + "/tgt.vocab");
  if (m.src_vocab.size() != m.config.src_vocab || m.tgt_vocab.size() != m.config.tgt_vocab)
    throw FormatError(fmt::format("{}: vocabularies of {} and {} words but config.json says {} and {}", dir,
                                  m.src_vocab.size(), m.tgt_vocab.size(), m.config.src_vocab, m.config.tgt_vocab));
  m.model = make_model(m.config);
  nn::load_checkpoint(*m.model, dir + "/model.safetensors");
  if (const std::string bad = first_non_finite_parameter(*m.model); !bad.empty())
    throw FormatError(fmt::format("{}/model.safetensors: parameter '{}' holds NaN or Inf; its translations would be "
                                  "meaningless", dir, bad));
  m.model->eval();
  return m;
}

}  // namespace xg::translation
