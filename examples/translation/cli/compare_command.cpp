#include "commands.hpp"
#include "compare.hpp"
#include <xgrad/distributed/distributed.hpp>
#include "options.hpp"

namespace xg::translation::cli {

void add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  auto* cmd = app.add_subcommand("compare", "train the models for the same time and compare them by sentence length");
  cmd->add_option("--budget", o->budget, "training seconds per model")->check(kFinitePositive);
  cmd->add_option("--steps", o->train.steps, "training steps per model instead of a time budget")->check(CLI::PositiveNumber);
  cmd->add_option("--out", o->out_dir, "output directory");
  cmd->add_option("--train", o->train_file, "training TSV (default: the built-in toy corpus)");
  cmd->add_option("--valid", o->valid_file, "validation TSV");
  cmd->add_option("--test", o->test_file, "test TSV");
  cmd->add_option("--guided-alignment", o->train_alignment_file, "gold alignments of the training TSV, one Pharaoh line "
                  "per pair, for --guided-alignment-weight");
  cmd->add_option("--test-alignment", o->test_alignment_file, "gold alignments of the test TSV (Pharaoh 'src-tgt' pairs)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--models", o->models, "models to train (default: rnn bahdanau transformer transformer-t5 decoder-only): "
                  "rnn bahdanau transformer decoder-only and the variants bahdanau-local transformer-window transformer-linear "
                  "transformer-gqa transformer-mqa transformer-rotary transformer-rotary+sinusoidal transformer-learned "
                  "transformer-alibi transformer-t5 transformer-nope decoder-only-rotary decoder-only-t5 decoder-only-nope")->check(CLI::IsMember(model_names()));
  cmd->add_option("--seeds", o->seeds, "train each model K times (seeds --seed, --seed + 1, ...): the table and "
                  "compare.json report the mean and each run, the chart the spread")->check(CLI::Range(1, 100));
  cmd->add_option("--beam", o->beam, "beam size for the test evaluation")->check(CLI::Range(1, 1000));
  cmd->add_option("--lenpen", o->length_penalty, "beam search: log-probability / length^ALPHA")->check(kFiniteNonNegative);
  cmd->add_option("--test-per-bucket", o->toy.test_per_bucket, "built-in toy corpus: test pairs per bucket")->check(CLI::PositiveNumber);
  cmd->add_option("--tokenizer", o->tokenizer, "word (whitespace) or spm (SentencePiece subwords learnt from --train, "
                  "sized by --vocab-size) for every model")->check(CLI::IsMember({"word", "spm"}));
  cmd->add_option("--shared-subwords", o->shared_subwords, "spm: one model for both languages (1) or one per side (0)");
  cmd->add_option("--tie-embeddings", o->tie_embeddings, "transformers: none, decoder or all (spm with shared subwords)")
      ->check(CLI::IsMember({"none", "decoder", "all"}));
  add_train_options(cmd, o->train, o->toy);
  cmd->callback([o, cmd] {
    // The length split of the defaults is the built-in corpus's; a user's files keep every
    // training length unless --train-max-len says otherwise.
    if (!o->train_file.empty() && cmd->get_option("--train-max-len")->count() == 0) o->toy.train_max_len = 0;
    if (distributed::is_primary()) print_world(o->train.threads);
    run_compare(*o);
  });
}

}  // namespace xg::translation::cli
