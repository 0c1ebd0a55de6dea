#include <algorithm>
#include <fmt/format.h>

#include "alignment.hpp"
#include "commands.hpp"
#include "options.hpp"
#include <xgrad/data/corpus.hpp>
#include "evaluate.hpp"
#include "plot.hpp"
#include "trainer.hpp"

namespace xg::translation::cli {

namespace {
void print_scores(const EvalResult& r, std::size_t sentences, int64_t beam) {
  fmt::print("BLEU {:.2f} [{:.2f}, {:.2f}]  chrF {:.2f} [{:.2f}, {:.2f}]  exact {:.1f}%  ({} sentences, beam {}; 95% "
             "bootstrap intervals)\n", r.bleu, r.bleu_lo, r.bleu_hi, r.chrf, r.chrf_lo, r.chrf_hi, r.exact, sentences, beam);
  for (const auto& b : r.buckets)
    if (b.n)
      fmt::print("  {:>2}-{:<3} n={:<5} BLEU {:6.2f} [{:6.2f}, {:6.2f}]  chrF {:6.2f}  exact {:5.1f}%\n", b.lo,
                 b.hi, b.n, b.bleu, b.bleu_lo, b.bleu_hi, b.chrf, b.exact);
}

// The best single map's and the best head average's AER, by length, with the words most often
// misaligned.
void print_alignment(const AlignmentResult& a, const std::string& model) {
  if (!a.available()) {
    fmt::print("alignment: the {} model has no attention to read\n", model);
    return;
  }
  fmt::print("alignment error rate of the attention's argmax (teacher-forced), %:\n");
  for (const AttentionAer* x : {&a.best_head, &a.head_mean}) {
    std::string row = fmt::format("  {:<12} {:6.2f}  by length:", x->map, x->aer);
    for (std::size_t k = 0; k < x->by_bucket.size(); ++k)
      if (x->by_bucket[k] >= 0) row += fmt::format(" {}-{}={:.1f}", 10 * k + 1, 10 * k + 10, x->by_bucket[k]);
    std::string words = "    most misaligned target words:";
    for (const auto& w : x->worst_words) words += fmt::format(" {} {}/{}", w.word, w.misaligned, w.total);
    fmt::print("{}\n{}\n", row, words);
    if (a.maps.size() == 1) return;
  }
  std::string all = "  every map:";
  for (const auto& x : a.maps) all += fmt::format(" {}={:.1f}", x.map, x.aer);
  fmt::print("{}\n", all);
}
}  // namespace

void add_eval_command(CLI::App& app) {
  struct Options {
    std::string checkpoint, test, hyp, json, alignment;
    SearchOptions search;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("eval", "BLEU and exact match of a trained model, overall and by source length");
  cmd->add_option("--checkpoint", o->checkpoint, "training output directory")->required();
  cmd->add_option("--test", o->test, "test TSV")->required();
  add_search_options(cmd, o->search);
  cmd->add_option("--hyp", o->hyp, "write hypotheses, one per line in test order");
  cmd->add_option("--json", o->json, "write the scores as JSON");
  cmd->add_option("--alignment", o->alignment, "gold alignments of the test set (Pharaoh 'src-tgt' pairs, e.g. toy's "
                  "test.align): report the attention's alignment error rate")->check(CLI::ExistingFile);
  cmd->callback([o] {
    LoadedModel m = load_trained(o->checkpoint);
    const auto pairs = data::read_parallel_tsv(o->test, {}).pairs;
    const EvalResult r = evaluate(*m.model, m.codec, pairs, o->search);
    if (!r.skipped.empty())
      fmt::print(stderr, "warning: {} of {} test sources are longer than {} tokens and were not translated (scored as "
                 "empty), first at {}:{}\n", r.skipped.size(), pairs.size(),
                 std::min(o->search.max_source_tokens, m.model->longest_sequence()), o->test, r.skipped.front() + 1);
    print_scores(r, pairs.size(), o->search.beam);
    if (!o->hyp.empty()) {
      std::string text;
      for (const auto& h : r.hypotheses) text += h + "\n";
      write_text_file(o->hyp, text);
    }
    if (!o->alignment.empty())
      print_alignment(evaluate_alignment(*m.model, m.codec, pairs, read_alignments(o->alignment)),
                      m.config.model);
    if (!o->json.empty()) write_text_file(o->json, r.to_json());
  });
}

}  // namespace xg::translation::cli
