// bleu and chrf: corpus scores of standard input against reference files, as sacreBLEU prints
// them, with --confidence (bootstrap interval) and --paired SYSTEM (paired bootstrap p-value).
#include <fmt/format.h>
#include <iostream>

#include "bleu.hpp"
#include "chrf.hpp"
#include "commands.hpp"
#include <xgrad/data/text_file.hpp>
#include "significance.hpp"

namespace xg::translation::cli {

namespace {
struct ScoreOptions {
  std::vector<std::string> refs;
  std::string tokenize = "13a", paired;
  int word_order = 0;
  bool confidence = false;
  int64_t samples = 1000;
  uint64_t seed = 12345;
};

void add_significance_options(CLI::App* cmd, ScoreOptions& o) {
  cmd->add_option("refs", o.refs, "reference files")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--confidence", o.confidence, "95% bootstrap interval of the score (sacreBLEU's --confidence)");
  cmd->add_option("--paired", o.paired, "a second system's output: paired bootstrap p-value of the difference, standard "
                  "input being the baseline (sacreBLEU's --paired-bs)")->check(CLI::ExistingFile);
  cmd->add_option("--samples", o.samples, "bootstrap resamples")->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  cmd->add_option("--seed", o.seed, "bootstrap seed");
}

// Scores standard input (and --paired's file) with `stats_of` and `score_of`, printing `line`'s
// rendering of each whole-corpus score.
void run_score(const ScoreOptions& o, const std::string& metric,
               const std::function<SentenceStatistics(const std::vector<std::string>&,
                                                      const std::vector<std::vector<std::string>>&)>& stats_of,
               const CorpusScore& score_of, const std::function<std::string(const std::vector<int64_t>&)>& line) {
  const std::vector<std::string> hyps = data::read_lines(std::cin, "standard input");
  std::vector<std::vector<std::string>> refs;
  for (const auto& f : o.refs) refs.push_back(data::read_lines(f));
  const SentenceStatistics base = stats_of(hyps, refs);
  auto interval_text = [&](const BootstrapInterval& b) {
    return fmt::format("  (95% CI {:.2f}-{:.2f}, bootstrap mean {:.2f}, {} samples, seed {})", b.lo, b.hi, b.mean, b.samples, o.seed);
  };
  if (o.paired.empty()) {
    std::string out = line(base.sum());
    if (o.confidence) out += interval_text(bootstrap_interval(base, score_of, o.samples, o.seed));
    fmt::print("{}\n", out);
    return;
  }
  const SentenceStatistics other = stats_of(data::read_lines(o.paired), refs);
  const PairedBootstrap p = paired_bootstrap(base, other, score_of, o.samples, o.seed);
  fmt::print("baseline (standard input): {}{}\n", line(base.sum()), interval_text(p.baseline));
  fmt::print("{}: {}{}\n", o.paired, line(other.sum()), interval_text(p.system));
  fmt::print("paired bootstrap: {} difference {:+.2f}, p = {:.4f}{}\n", metric, p.system.score - p.baseline.score,
             p.p_value, p.p_value < 0.05 ? " (significant at 0.05)" : " (not significant at 0.05)");
}
}  // namespace

void add_bleu_command(CLI::App& app) {
  auto o = std::make_shared<ScoreOptions>();
  auto* cmd = app.add_subcommand("bleu", "corpus BLEU of standard input against reference files (as sacrebleu)");
  add_significance_options(cmd, *o);
  cmd->add_option("--tokenize", o->tokenize, "13a or none")->check(CLI::IsMember({"13a", "none"}));
  cmd->callback([o] {
    const BleuTokenize tok = o->tokenize == "13a" ? BleuTokenize::V13a : BleuTokenize::None;
    run_score(*o, "BLEU", [tok](const auto& h, const auto& r) { return bleu_statistics(h, r, tok); },
              [](const int64_t* s) { return bleu_from_statistics(s).score; },
              [](const std::vector<int64_t>& sum) {
                const BleuScore s = bleu_from_statistics(sum.data());
                return fmt::format("BLEU = {:.2f} {:.1f}/{:.1f}/{:.1f}/{:.1f} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})",
                                   s.score, s.precisions[0], s.precisions[1], s.precisions[2], s.precisions[3],
                                   s.brevity_penalty, s.ref_len ? static_cast<double>(s.sys_len) / static_cast<double>(s.ref_len) : 0.0,
                                   s.sys_len, s.ref_len);
              });
  });
}

void add_chrf_command(CLI::App& app) {
  auto o = std::make_shared<ScoreOptions>();
  auto* cmd = app.add_subcommand("chrf", "corpus chrF (or chrF++ with --word-order 2) of standard input, as sacrebleu");
  add_significance_options(cmd, *o);
  cmd->add_option("--word-order", o->word_order, "word n-gram order: 0 chrF, 2 chrF++")->check(CLI::Range(0, 4));
  cmd->callback([o] {
    ChrfOptions c;
    c.word_order = o->word_order;
    run_score(*o, c.name(), [c](const auto& h, const auto& r) { return chrf_statistics(h, r, c); },
              [c](const int64_t* s) { return chrf_from_statistics(s, c); },
              [c](const std::vector<int64_t>& sum) {
                return fmt::format("chrF2{} = {:.2f}", c.word_order > 0 ? "++" : "", chrf_from_statistics(sum.data(), c));
              });
  });
}

}  // namespace xg::translation::cli
