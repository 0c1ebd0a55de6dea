// xgrad-translate: the translation experiment. Subcommands toy, train, eval, translate, bleu and
// compare; `xgrad-translate SUBCOMMAND --help` lists each one's options.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bleu.hpp"
#include "compare.hpp"
#include "core/ops.hpp"
#include "data/corpus.hpp"
#include "data/text_file.hpp"
#include "alignment.hpp"
#include "data/toy.hpp"
#include "dist/dist.hpp"
#include "evaluate.hpp"
#include "plot.hpp"
#include "trainer.hpp"

using namespace xg;
using namespace xg::translation;
namespace fs = std::filesystem;

namespace {
std::vector<data::SentencePair> pairs_of(const std::vector<data::ToyPair>& toy) {
  std::vector<data::SentencePair> out;
  for (const auto& p : toy) out.push_back(p.pair);
  return out;
}

std::vector<data::SentencePair> read_corpus(const std::string& path) {
  const data::ParallelCorpus c = data::read_parallel_tsv(path, {});
  return c.pairs;
}

// CLI11's PositiveNumber lets NaN through (and calls it "negative" elsewhere); budgets and rates
// of NaN hung runs or trained on nonsense.
CLI::Validator finite_number(bool positive) {
  return CLI::Validator(
      [positive](std::string& text) -> std::string {
        double v = 0;
        std::size_t used = 0;
        try {
          v = std::stod(text, &used);
        } catch (const std::exception&) {
          return fmt::format("'{}' is not a number", text);
        }
        if (used != text.size()) return fmt::format("'{}' is not a number", text);
        if (!std::isfinite(v)) return fmt::format("must be a finite number, got {}", text);
        if (positive ? v <= 0 : v < 0) return fmt::format("must be {}, got {}", positive ? "positive" : "non-negative", text);
        return "";
      },
      positive ? "POSITIVE" : "NONNEGATIVE");
}
const CLI::Validator kFinitePositive = finite_number(true), kFiniteNonNegative = finite_number(false);

// Options shared by train and compare.
void add_train_options(CLI::App* cmd, TrainConfig& tc, data::ToyConfig& toy) {
  cmd->add_option("--seed", tc.seed, "random seed (model, data order, dropout; the toy corpus too)");
  cmd->add_option("--threads", tc.threads, "threads (OpenMP; 0: its default); OpenBLAS itself runs single-threaded")->check(CLI::Range(0, 256));
  cmd->add_option("--lr", tc.lr, "Adam learning rate (transformer: the schedule's peak)")->check(kFinitePositive);
  cmd->add_option("--warmup", tc.warmup, "transformer warm-up steps")->check(CLI::PositiveNumber);
  cmd->add_option("--clip", tc.clip, "gradient norm clipping")->check(kFinitePositive);
  cmd->add_option("--label-smoothing", tc.label_smoothing, "label smoothing")->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--max-tokens", tc.max_tokens, "tokens per batch (B x longest)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-batch", tc.max_batch, "sentences per batch")->check(CLI::PositiveNumber);
  cmd->add_option("--valid-every", tc.valid_every, "steps between validations")->check(CLI::PositiveNumber);
  cmd->add_option("--log-every", tc.log_every, "steps between log.csv rows")->check(CLI::PositiveNumber);
  cmd->add_option("--valid-sentences", tc.valid_sentences, "validation sentences decoded for BLEU")->check(CLI::PositiveNumber);
  cmd->add_option("--save-every", tc.save_every, "steps between full training-state saves")->check(CLI::PositiveNumber);
  cmd->add_option("--train-size", toy.train_size, "built-in toy corpus: training pairs")->check(CLI::PositiveNumber);
  cmd->add_option("--min-len", toy.min_len, "built-in toy corpus: shortest source")->check(CLI::PositiveNumber);
  cmd->add_option("--max-len", toy.max_len, "built-in toy corpus: longest source")->check(CLI::PositiveNumber);
}

void add_model_options(CLI::App* cmd, ModelConfig& m, std::vector<std::string>& set) {
  auto opt = [&](const char* name, auto& field, const char* help) {
    cmd->add_option(name, field, help)->each([&set, name](const std::string&) { set.push_back(name); });
  };
  opt("--embedding", m.embedding, "embedding size (rnn, bahdanau)");
  opt("--hidden", m.hidden, "GRU size (rnn; bahdanau decoder, encoder hidden/2 per direction)");
  opt("--attention-size", m.attention, "additive attention size (bahdanau); local-p: its predictor size");
  cmd->add_option("--attention", m.attention_kind, "standard; local (bahdanau: Luong local-p); window, linear, gqa (transformer)")
      ->check(CLI::IsMember({"standard", "local", "window", "linear", "gqa"}))
      ->each([&set](const std::string&) { set.push_back("--attention"); });
  cmd->add_option("--positions", m.positions, "transformer positions: sinusoidal (added), rotary (in self-attention) or both")
      ->check(CLI::IsMember({"sinusoidal", "rotary", "both"}))
      ->each([&set](const std::string&) { set.push_back("--positions"); });
  opt("--kv-heads", m.kv_heads, "gqa: key/value heads (default heads/2; 1 = multi-query)");
  opt("--window", m.window, "local: window D; window: band half-width");
  opt("--global-tokens", m.global_tokens, "window: leading positions that attend to and are attended by all");
  opt("--d-model", m.d_model, "transformer width");
  opt("--heads", m.heads, "attention heads");
  opt("--encoder-layers", m.encoder_layers, "transformer encoder layers");
  opt("--decoder-layers", m.decoder_layers, "transformer decoder layers");
  opt("--ff", m.ff, "transformer feed-forward size");
  opt("--dropout", m.dropout, "dropout");
  opt("--pre-ln", m.pre_ln, "transformer: pre-LN (1) or post-LN (0)");
}

// The defaults of `model`, then the options the user set.
ModelConfig merged(const std::string& model, const ModelConfig& given, const std::vector<std::string>& set) {
  ModelConfig c = ModelConfig::defaults(model);
  for (const auto& n : set) {
    if (n == "--embedding") c.embedding = given.embedding;
    else if (n == "--hidden") c.hidden = given.hidden;
    else if (n == "--attention-size") c.attention = given.attention;
    else if (n == "--attention") c.attention_kind = given.attention_kind;
    else if (n == "--positions") c.positions = given.positions;
    else if (n == "--kv-heads") c.kv_heads = given.kv_heads;
    else if (n == "--window") c.window = given.window;
    else if (n == "--global-tokens") c.global_tokens = given.global_tokens;
    else if (n == "--d-model") c.d_model = given.d_model;
    else if (n == "--heads") c.heads = given.heads;
    else if (n == "--encoder-layers") c.encoder_layers = given.encoder_layers;
    else if (n == "--decoder-layers") c.decoder_layers = given.decoder_layers;
    else if (n == "--ff") c.ff = given.ff;
    else if (n == "--dropout") c.dropout = given.dropout;
    else if (n == "--pre-ln") c.pre_ln = given.pre_ln;
  }
  c.validate();
  return c;
}

// "--attention-size" -> "attention": the config.json field an option sets.
std::string config_field_of(const std::string& option) {
  if (option == "--attention-size") return "attention";
  if (option == "--attention") return "attention_kind";
  std::string field = option.substr(2);
  std::replace(field.begin(), field.end(), '-', '_');
  return field;
}

void print_world(int threads) {
  fmt::print("world: {} rank{} x {} thread{} each{}\n", dist::world_size(), dist::world_size() == 1 ? "" : "s",
             threads > 0 ? std::to_string(threads) : "default", threads == 1 ? "" : "s",
             dist::compiled_with_mpi() ? "" : " (built without MPI)");
}

const std::vector<std::string> kModelNames = {"rnn", "bahdanau", "transformer", "bahdanau-local", "transformer-window",
                                              "transformer-linear", "transformer-gqa", "transformer-mqa", "transformer-rotary",
                                              "transformer-rotary+sinusoidal"};
}  // namespace

int main(int argc, char** argv) {
  tune_runtime(argv);
  try {
    dist::init(&argc, &argv);  // a world of one unless started by mpirun
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  CLI::App app{"xgrad-translate: train and compare RNN, Bahdanau-attention and transformer translation models"};
  app.require_subcommand(1);

  // toy
  data::ToyConfig toy;
  std::string toy_out;
  auto* toy_cmd = app.add_subcommand("toy", "write the built-in toy corpus as train.tsv, valid.tsv, test.tsv");
  toy_cmd->add_option("--out", toy_out, "output directory")->required();
  toy_cmd->add_option("--seed", toy.seed, "generator seed");
  toy_cmd->add_option("--train-size", toy.train_size, "training pairs")->check(CLI::PositiveNumber);
  toy_cmd->add_option("--valid-size", toy.valid_size, "validation pairs")->check(CLI::PositiveNumber);
  toy_cmd->add_option("--test-per-bucket", toy.test_per_bucket, "test pairs per 10-token length bucket")->check(CLI::PositiveNumber);
  toy_cmd->add_option("--min-len", toy.min_len, "shortest source (the grammar's minimum is 6)")->check(CLI::PositiveNumber);
  toy_cmd->add_option("--max-len", toy.max_len, "longest source")->check(CLI::PositiveNumber);

  // train
  TrainOptions train_opt;
  std::string train_model_name, train_file, valid_file;
  ModelConfig model_given;
  std::vector<std::string> model_set;
  data::ToyConfig train_toy;
  bool anomaly = false;
  auto* train_cmd = app.add_subcommand("train", "train one model");
  train_cmd->add_option("--model", train_model_name, "rnn, bahdanau or transformer, or a variant (bahdanau-local, transformer-window, -linear, -gqa, -mqa, -rotary)")->required()->check(CLI::IsMember(kModelNames));
  train_cmd->add_option("--train", train_file, "training TSV (default: the built-in toy corpus)");
  train_cmd->add_option("--valid", valid_file, "validation TSV");
  train_cmd->add_option("--out", train_opt.out_dir, "output directory")->required();
  auto* budget_opt = train_cmd->add_option("--time-budget", train_opt.train.time_budget, "seconds of training (with --steps: whichever ends first)")->check(kFiniteNonNegative);
  auto* steps_opt = train_cmd->add_option("--steps", train_opt.train.steps, "training steps (alone: no time limit)")->check(CLI::NonNegativeNumber);
  train_cmd->add_flag("--resume", train_opt.resume, "continue from DIR/state.safetensors");
  train_cmd->add_flag("--overwrite", train_opt.overwrite, "replace a training run already in --out (otherwise refused)")->excludes("--resume");
  train_cmd->add_flag("--anomaly", anomaly, "check every op for NaN/Inf and name the first op that produced one");
  add_train_options(train_cmd, train_opt.train, train_toy);
  add_model_options(train_cmd, model_given, model_set);

  // eval
  std::string eval_dir, eval_test, eval_hyp, eval_json;
  SearchOptions eval_search;
  auto* eval_cmd = app.add_subcommand("eval", "BLEU and exact match of a trained model, overall and by source length");
  eval_cmd->add_option("--checkpoint", eval_dir, "training output directory")->required();
  eval_cmd->add_option("--test", eval_test, "test TSV")->required();
  eval_cmd->add_option("--beam", eval_search.beam, "beam size (1: greedy)")->check(CLI::Range(1, 100));
  eval_cmd->add_option("--max-input-tokens", eval_search.max_source_tokens, "longer sources are not translated (scored as empty, with a warning)")->check(CLI::PositiveNumber);
  eval_cmd->add_option("--hyp", eval_hyp, "write hypotheses, one per line in test order");
  eval_cmd->add_option("--json", eval_json, "write the scores as JSON");
  std::string eval_alignment;
  eval_cmd->add_option("--alignment", eval_alignment, "gold alignments of the test set (Pharaoh 'src-tgt' pairs, e.g. toy's test.align): report the attention's alignment error rate")
      ->check(CLI::ExistingFile);

  // translate
  std::string tr_dir, tr_svg;
  SearchOptions tr_search;
  auto* tr_cmd = app.add_subcommand("translate", "translate standard input line by line");
  tr_cmd->add_option("--checkpoint", tr_dir, "training output directory")->required();
  tr_cmd->add_option("--beam", tr_search.beam, "beam size (1: greedy)")->check(CLI::Range(1, 100));
  tr_cmd->add_option("--max-input-tokens", tr_search.max_source_tokens, "longer lines are not translated: an empty line and a warning")->check(CLI::PositiveNumber);
  tr_cmd->add_option("--attention", tr_svg, "write the attention heat map of the first line (SVG)");

  // bleu
  std::vector<std::string> bleu_refs;
  std::string bleu_tok = "13a";
  auto* bleu_cmd = app.add_subcommand("bleu", "corpus BLEU of standard input against reference files (as sacrebleu)");
  bleu_cmd->add_option("refs", bleu_refs, "reference files")->required()->check(CLI::ExistingFile);
  bleu_cmd->add_option("--tokenize", bleu_tok, "13a or none")->check(CLI::IsMember({"13a", "none"}));

  // compare
  CompareOptions cmp;
  std::vector<std::string> cmp_models;
  auto* cmp_cmd = app.add_subcommand("compare", "train all three models for the same time and compare them by sentence length");
  cmp_cmd->add_option("--budget", cmp.budget, "training seconds per model")->check(kFinitePositive);
  cmp_cmd->add_option("--steps", cmp.train.steps, "training steps per model instead of a time budget")->check(CLI::PositiveNumber);
  cmp_cmd->add_option("--out", cmp.out_dir, "output directory");
  cmp_cmd->add_option("--train", cmp.train_file, "training TSV (default: the built-in toy corpus)");
  cmp_cmd->add_option("--valid", cmp.valid_file, "validation TSV");
  cmp_cmd->add_option("--test", cmp.test_file, "test TSV");
  cmp_cmd->add_option("--test-alignment", cmp.test_alignment_file, "gold alignments of the test TSV (Pharaoh 'src-tgt' pairs)")
      ->check(CLI::ExistingFile);
  cmp_cmd->add_option("--models", cmp.models, "models to train: rnn bahdanau transformer (default) and the attention variants bahdanau-local transformer-window transformer-linear transformer-gqa transformer-mqa transformer-rotary transformer-rotary+sinusoidal")->check(CLI::IsMember(kModelNames));
  cmp_cmd->add_option("--beam", cmp.beam, "beam size for the test evaluation")->check(CLI::Range(1, 100));
  cmp_cmd->add_option("--test-per-bucket", cmp.toy.test_per_bucket, "built-in toy corpus: test pairs per bucket")->check(CLI::PositiveNumber);
  add_train_options(cmp_cmd, cmp.train, cmp.toy);

  // CLI11 reads an unknown first word as a stray argument and says "A subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      fmt::print(stderr, "error: unknown subcommand '{}' (one of: {})\n", argv[1], fmt::join(names, ", "));
      dist::finalize();
      return 1;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    dist::finalize();  // a parse error must not leave an MPI world open
    return code;
  }

  try {
    if (*toy_cmd) {
      const data::ToyCorpus c = data::generate_toy_corpus(toy);
      fs::create_directories(toy_out);
      data::write_parallel_tsv(toy_out + "/train.tsv", pairs_of(c.train));
      data::write_parallel_tsv(toy_out + "/valid.tsv", pairs_of(c.valid));
      data::write_parallel_tsv(toy_out + "/test.tsv", pairs_of(c.test));
      std::string align;
      for (const auto& p : c.test) align += format_alignment(p.alignment) + "\n";
      write_text_file(toy_out + "/test.align", align);
      fmt::print("wrote {} train, {} valid, {} test pairs (and the test set's gold alignments, test.align) to {}\n",
                 c.train.size(), c.valid.size(), c.test.size(), toy_out);
    } else if (*train_cmd) {
      set_anomaly_mode(anomaly);
      if (dist::is_primary()) print_world(train_opt.train.threads);
      train_opt.model = merged(train_model_name, model_given, model_set);
      if (steps_opt->count() && !budget_opt->count()) train_opt.train.time_budget = 0;
      for (const auto& option : model_set) train_opt.model_fields_set.push_back(config_field_of(option));
      if (train_model_name == "transformer-mqa") train_opt.model_fields_set.push_back("kv_heads");
      TrainData d;
      if (train_file.empty() != valid_file.empty()) throw Error("train: give both --train and --valid, or neither");
      if (train_file.empty()) {
        train_toy.seed = train_opt.train.seed;
        train_toy.test_per_bucket = 0;
        const data::ToyCorpus c = data::generate_toy_corpus(train_toy);
        d.train = pairs_of(c.train), d.valid = pairs_of(c.valid);
      } else {
        d.train = read_corpus(train_file), d.valid = read_corpus(valid_file);
      }
      const TrainResult r = train_model(train_opt, d);
      if (dist::is_primary()) fmt::print("trained {} for {} steps in {:.0f} s; best validation BLEU {:.2f}; checkpoint in {}\n", train_model_name,
                 r.steps, r.seconds, r.best_valid_bleu, train_opt.out_dir);
    } else if (*eval_cmd) {
      LoadedModel m = load_trained(eval_dir);
      const auto pairs = read_corpus(eval_test);
      const EvalResult r = evaluate(*m.model, m.src_vocab, m.tgt_vocab, pairs, eval_search);
      if (!r.skipped.empty())
        fmt::print(stderr, "warning: {} of {} test sources are longer than {} tokens and were not translated (scored as "
                   "empty), first at {}:{}\n", r.skipped.size(), pairs.size(), std::min(eval_search.max_source_tokens,
                   m.model->longest_sequence()), eval_test, r.skipped.front() + 1);
      fmt::print("BLEU {:.2f}  exact {:.1f}%  ({} sentences, beam {})\n", r.bleu, r.exact, pairs.size(), eval_search.beam);
      for (const auto& b : r.buckets)
        if (b.n) fmt::print("  {:>2}-{:<3} n={:<5} BLEU {:6.2f}  exact {:5.1f}%\n", b.lo, b.hi < 0 ? std::string("") : std::to_string(b.hi), b.n, b.bleu, b.exact);
      if (!eval_hyp.empty()) {
        std::string text;
        for (const auto& h : r.hypotheses) text += h + "\n";
        write_text_file(eval_hyp, text);
      }
      if (!eval_alignment.empty()) {
        const AlignmentResult a = evaluate_alignment(*m.model, m.src_vocab, m.tgt_vocab, pairs, read_alignments(eval_alignment));
        if (!a.available()) {
          fmt::print("alignment: the {} model has no attention to read\n", m.config.model);
        } else {
          fmt::print("alignment error rate of the attention's argmax (teacher-forced), %:\n");
          for (const AttentionAer* x : {&a.best_head, &a.head_mean}) {
            std::string row = fmt::format("  {:<12} {:6.2f}  by length:", x->map, x->aer);
            for (std::size_t k = 0; k < x->by_bucket.size(); ++k)
              if (x->by_bucket[k] >= 0) row += fmt::format(" {}-{}={:.1f}", 10 * k + 1, 10 * k + 10, x->by_bucket[k]);
            fmt::print("{}\n", row);
            std::string words = "    most misaligned target words:";
            for (const auto& w : x->worst_words) words += fmt::format(" {} {}/{}", w.word, w.misaligned, w.total);
            fmt::print("{}\n", words);
            if (a.maps.size() == 1) break;
          }
          if (a.maps.size() > 1) {
            std::string all = "  every map:";
            for (const auto& x : a.maps) all += fmt::format(" {}={:.1f}", x.map, x.aer);
            fmt::print("{}\n", all);
          }
        }
      }
      if (!eval_json.empty()) write_text_file(eval_json, r.to_json());
    } else if (*tr_cmd) {
      LoadedModel m = load_trained(tr_dir);
      const std::vector<std::string> lines = data::read_lines(std::cin, "standard input");
      tr_search.keep_attention = !tr_svg.empty();
      const auto hyps = translate_sentences(*m.model, m.src_vocab, lines, tr_search);
      const data::WhitespaceTokenizer tok;
      for (std::size_t i = 0; i < hyps.size(); ++i) {
        if (hyps[i].skipped)
          fmt::print(stderr, "warning: input line {}: {} tokens, over the limit of {}; not translated (an empty line "
                     "stands in its place)\n", i + 1, tok.tokenize(lines[i]).size(),
                     std::min(tr_search.max_source_tokens, m.model->longest_sequence()));
        fmt::print("{}\n", tok.detokenize(m.tgt_vocab.decode(hyps[i].tokens)));
      }
      if (!tr_svg.empty() && !lines.empty()) {
        if (hyps[0].skipped) throw Error("translate --attention: the first line is over the length limit and was not translated");
        if (hyps[0].attention.empty() || hyps[0].attention[0].empty())
          throw Error(fmt::format("translate --attention: the {} model has no attention to plot", m.config.model));
        auto target = m.tgt_vocab.decode(hyps[0].tokens);
        target.push_back("<eos>");
        write_text_file(tr_svg, heatmap_svg(m.config.model + " attention", tok.tokenize(lines[0]), target, hyps[0].attention));
      }
    } else if (*bleu_cmd) {
      const std::vector<std::string> hyps = data::read_lines(std::cin, "standard input");
      std::vector<std::vector<std::string>> refs;
      for (const auto& f : bleu_refs) refs.push_back(data::read_lines(f));
      const BleuScore s = corpus_bleu(hyps, refs, bleu_tok == "13a" ? BleuTokenize::V13a : BleuTokenize::None);
      fmt::print("BLEU = {:.2f} {:.1f}/{:.1f}/{:.1f}/{:.1f} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})\n", s.score,
                 s.precisions[0], s.precisions[1], s.precisions[2], s.precisions[3], s.brevity_penalty,
                 s.ref_len ? static_cast<double>(s.sys_len) / static_cast<double>(s.ref_len) : 0.0, s.sys_len, s.ref_len);
    } else if (*cmp_cmd) {
      if (dist::is_primary()) print_world(cmp.train.threads);
      run_compare(cmp);
    }
    // Output on a full disk or a closed pipe fails here, not silently with exit 0.
    if (std::fflush(stdout) != 0 || std::ferror(stdout))
      throw Error(fmt::format("writing standard output failed: {}", std::strerror(errno)));
  } catch (const std::exception& e) {
    // bad_alloc outside a tensor allocation (which names its shape) still says what it is.
    const std::string what = dynamic_cast<const std::bad_alloc*>(&e)
                                 ? "out of memory; try smaller --max-tokens/--max-batch, a smaller model, or shorter input"
                                 : e.what();
    if (dist::world_size() > 1) dist::abort_all(fmt::format("rank {}: {}", dist::rank(), what));  // stops every rank
    std::fflush(stdout);
    fmt::print(stderr, "\nerror: {}\n", what);
    return 1;
  }
  dist::finalize();
  return 0;
}
