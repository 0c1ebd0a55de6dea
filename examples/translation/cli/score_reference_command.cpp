#include <cmath>
#include <fmt/format.h>

#include "commands.hpp"
#include <xgrad/data/corpus.hpp>
#include "evaluate.hpp"
#include "trainer.hpp"

namespace xg::translation::cli {

void add_score_command(CLI::App& app) {
  struct Options {
    std::string checkpoint, test;
    bool per_token = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("score", "log-probability of given translations (forced decoding, as marian-scorer): "
                                 "one line per pair, 'logprob TAB tokens' (tokens count <eos>)");
  cmd->add_option("--checkpoint", o->checkpoint, "training output directory")->required();
  cmd->add_option("--test", o->test, "TSV of source TAB target pairs to score")->required();
  cmd->add_flag("--per-token", o->per_token, "append each token's log-probability (target tokens, then <eos>)");
  cmd->callback([o] {
    LoadedModel m = load_trained(o->checkpoint);
    const auto pairs = data::read_parallel_tsv(o->test, {}).pairs;
    const auto scores = score_references(*m.model, m.codec, pairs);
    double total = 0;
    int64_t tokens = 0, skipped = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
      const auto& s = scores[i];
      if (s.skipped) {
        fmt::print(stderr, "warning: {}:{}: longer than the model's {} positions; not scored\n", o->test, i + 1,
                   m.model->longest_sequence());
        fmt::print("nan\t0\n");
        ++skipped;
        continue;
      }
      std::string line = fmt::format("{:.6f}\t{}", s.logprob, s.tokens.size());
      if (o->per_token)
        for (double t : s.tokens) line += fmt::format("\t{:.6f}", t);
      fmt::print("{}\n", line);
      total += s.logprob;
      tokens += static_cast<int64_t>(s.tokens.size());
    }
    fmt::print(stderr, "scored {} pairs ({} skipped): {} tokens, log-probability {:.4f}, per token {:.4f}, perplexity {:.4f}\n",
               scores.size() - static_cast<std::size_t>(skipped), skipped, tokens, total,
               tokens ? total / static_cast<double>(tokens) : 0.0, tokens ? std::exp(-total / static_cast<double>(tokens)) : 0.0);
  });
}

}  // namespace xg::translation::cli
