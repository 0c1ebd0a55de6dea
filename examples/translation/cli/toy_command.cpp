#include <filesystem>
#include <fmt/format.h>

#include "alignment.hpp"
#include "commands.hpp"
#include <xgrad/data/corpus.hpp>
#include <xgrad/data/toy.hpp>
#include "plot.hpp"

namespace xg::translation::cli {

void add_toy_command(CLI::App& app) {
  struct Options {
    data::ToyConfig toy;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("toy", "write the built-in toy corpus as train.tsv, valid.tsv, test.tsv");
  cmd->add_option("--out", o->out, "output directory")->required();
  cmd->add_option("--seed", o->toy.seed, "generator seed");
  cmd->add_option("--train-size", o->toy.train_size, "training pairs")->check(CLI::PositiveNumber);
  cmd->add_option("--valid-size", o->toy.valid_size, "validation pairs")->check(CLI::PositiveNumber);
  cmd->add_option("--test-per-bucket", o->toy.test_per_bucket, "test pairs per 10-token length bucket")->check(CLI::PositiveNumber);
  cmd->add_option("--min-len", o->toy.min_len, "shortest source (the grammar's minimum is 6)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-len", o->toy.max_len, "longest source")->check(CLI::PositiveNumber);
  cmd->add_option("--order", o->toy.order, "target word order: svo (near word for word) or sov (verb-final clauses, "
                  "postpositions, plural markers)")->check(CLI::IsMember({"svo", "sov"}));
  cmd->add_option("--train-max-len", o->toy.train_max_len, "longest training and validation source (default: --max-len)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o] {
    const data::ToyCorpus c = data::generate_toy_corpus(o->toy);
    std::filesystem::create_directories(o->out);
    data::write_parallel_tsv(o->out + "/train.tsv", data::pairs_of(c.train));
    data::write_parallel_tsv(o->out + "/valid.tsv", data::pairs_of(c.valid));
    data::write_parallel_tsv(o->out + "/test.tsv", data::pairs_of(c.test));
    for (const auto& [name, split] : {std::pair{"train", &c.train}, std::pair{"test", &c.test}}) {
      std::string align;
      for (const auto& p : *split) align += format_alignment(p.alignment) + "\n";
      write_text_file(o->out + "/" + name + ".align", align);
    }
    fmt::print("wrote {} train, {} valid, {} test pairs (and the gold alignments of train and test: train.align, "
               "test.align) to {}\n",
               c.train.size(), c.valid.size(), c.test.size(), o->out);
  });
}

}  // namespace xg::translation::cli
