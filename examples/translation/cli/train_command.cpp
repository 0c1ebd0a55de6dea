#include <fmt/format.h>

#include "alignment.hpp"
#include "commands.hpp"
#include <xgrad/core/ops.hpp>
#include <xgrad/data/corpus.hpp>
#include <xgrad/distributed/distributed.hpp>
#include "options.hpp"
#include "trainer.hpp"

namespace xg::translation::cli {

void add_train_command(CLI::App& app) {
  struct Options {
    TrainOptions train;
    std::string model, train_file, valid_file, alignment_file;
    ModelOptions model_options;
    data::ToyConfig toy;
    bool anomaly = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("train", "train one model");
  cmd->add_option("--model", o->model, "rnn, bahdanau, transformer or decoder-only, or a variant (bahdanau-local, transformer-window, "
                  "-linear, -gqa, -mqa, -rotary, -rotary+sinusoidal, -learned, -alibi, -t5, -nope; decoder-only-rotary, -t5, -nope)")->required()->check(CLI::IsMember(model_names()));
  cmd->add_option("--train", o->train_file, "training TSV (default: the built-in toy corpus)");
  cmd->add_option("--valid", o->valid_file, "validation TSV");
  cmd->add_option("--guided-alignment", o->alignment_file, "gold word alignments of --train, one Pharaoh line per pair "
                  "(\"0-0 2-1 1-2\"), for --guided-alignment-weight");
  cmd->add_option("--out", o->train.out_dir, "output directory")->required();
  auto* budget = cmd->add_option("--time-budget", o->train.train.time_budget, "seconds of training (with --steps: "
                                 "whichever ends first)")->check(kFiniteNonNegative);
  auto* steps = cmd->add_option("--steps", o->train.train.steps, "training steps (alone: no time limit)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--resume", o->train.resume, "continue from DIR/state.safetensors");
  cmd->add_flag("--overwrite", o->train.overwrite, "replace a training run already in --out (otherwise refused)")->excludes("--resume");
  cmd->add_flag("--anomaly", o->anomaly, "check every op for NaN/Inf and name the first op that produced one");
  add_train_options(cmd, o->train.train, o->toy);
  add_model_options(cmd, o->model_options);
  cmd->callback([o, budget, steps, cmd] {
    set_anomaly_mode(o->anomaly);
    if (distributed::is_primary()) print_world(o->train.train.threads);
    o->train.model = o->model_options.apply(o->model);
    o->train.model_fields_set = o->model_options.fields_set();
    if (o->model == "transformer-mqa") o->train.model_fields_set.push_back("kv_heads");  // the name sets it
    if (steps->count() && !budget->count()) o->train.train.time_budget = 0;
    if (o->train_file.empty() != o->valid_file.empty()) throw Error("train: give both --train and --valid, or neither");
    if (!o->alignment_file.empty() && o->train_file.empty())
      throw Error("train: --guided-alignment gives the alignments of a --train file (the built-in corpus has its own)");
    TrainData d;
    if (o->train_file.empty()) {
      o->toy.seed = o->train.train.seed;
      o->toy.test_per_bucket = 0;
      const data::ToyCorpus c = data::generate_toy_corpus(o->toy);
      d.train = data::pairs_of(c.train), d.valid = data::pairs_of(c.valid);
      for (const auto& p : c.train) d.train_alignments.push_back(p.alignment);
    } else {
      // --max-len on a corpus file: longer pairs are left out, and counted (never silently).
      data::CorpusReadOptions read;
      if (cmd->get_option("--max-len")->count()) read.max_tokens = o->toy.max_len;
      for (auto [path, pairs] : {std::pair{&o->train_file, &d.train}, std::pair{&o->valid_file, &d.valid}}) {
        const data::ParallelCorpus c = data::read_parallel_tsv(*path, read);
        *pairs = c.pairs;
        if (!distributed::is_primary()) continue;
        if (c.filtered_long)
          fmt::print(stderr, "warning: {}: {} pairs have more than {} tokens on a side (--max-len) and were left out\n",
                     *path, c.filtered_long, read.max_tokens);
        if (c.normalized_spaces)
          fmt::print("{}: {} lines had Unicode spaces (no-break, ...) turned into ASCII spaces\n", *path, c.normalized_spaces);
      }
      if (!o->alignment_file.empty()) d.train_alignments = read_alignments(o->alignment_file);
      if (read.max_tokens && !d.train_alignments.empty())
        throw Error("train: --max-len leaves pairs of --train out, which --guided-alignment's lines would no longer match");
      d = keep_training_length(d, o->toy.train_max_len);
    }
    const TrainResult r = train_model(o->train, d);
    if (distributed::is_primary())
      fmt::print("trained {} for {} steps in {:.0f} s; best validation BLEU {:.2f}; checkpoint in {}\n", o->model, r.steps,
                 r.seconds, r.best_valid_bleu, o->train.out_dir);
  });
}

}  // namespace xg::translation::cli
