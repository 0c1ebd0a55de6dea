#include <fmt/format.h>
#include <iostream>

#include "bleu.hpp"
#include "commands.hpp"
#include "data/text_file.hpp"

namespace xg::translation::cli {

void add_bleu_command(CLI::App& app) {
  struct Options {
    std::vector<std::string> refs;
    std::string tokenize = "13a";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("bleu", "corpus BLEU of standard input against reference files (as sacrebleu)");
  cmd->add_option("refs", o->refs, "reference files")->required()->check(CLI::ExistingFile);
  cmd->add_option("--tokenize", o->tokenize, "13a or none")->check(CLI::IsMember({"13a", "none"}));
  cmd->callback([o] {
    const std::vector<std::string> hyps = data::read_lines(std::cin, "standard input");
    std::vector<std::vector<std::string>> refs;
    for (const auto& f : o->refs) refs.push_back(data::read_lines(f));
    const BleuScore s = corpus_bleu(hyps, refs, o->tokenize == "13a" ? BleuTokenize::V13a : BleuTokenize::None);
    fmt::print("BLEU = {:.2f} {:.1f}/{:.1f}/{:.1f}/{:.1f} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})\n", s.score,
               s.precisions[0], s.precisions[1], s.precisions[2], s.precisions[3], s.brevity_penalty,
               s.ref_len ? static_cast<double>(s.sys_len) / static_cast<double>(s.ref_len) : 0.0, s.sys_len, s.ref_len);
  });
}

}  // namespace xg::translation::cli
