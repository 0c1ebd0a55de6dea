#include <algorithm>
#include <fmt/format.h>
#include <iostream>

#include "commands.hpp"
#include "options.hpp"
#include <xgrad/data/text_file.hpp>
#include <xgrad/data/tokenizer.hpp>
#include "evaluate.hpp"
#include "plot.hpp"
#include "trainer.hpp"

namespace xg::translation::cli {

void add_translate_command(CLI::App& app) {
  struct Options {
    std::string checkpoint, svg;
    SearchOptions search;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("translate", "translate standard input line by line");
  cmd->add_option("--checkpoint", o->checkpoint, "training output directory")->required();
  add_search_options(cmd, o->search);
  cmd->add_option("--attention", o->svg, "write the attention heat map of the first line (SVG)");
  cmd->add_option("--nbest", o->search.nbest, "print the K best hypotheses of each line as 'LINE ||| translation ||| "
                  "log-probability ||| normalised score' (LINE counts from 0, as Marian's n-best lists)")->check(CLI::Range(1, 1000));
  cmd->callback([o] {
    LoadedModel m = load_trained(o->checkpoint);
    std::vector<std::string> lines = data::read_lines(std::cin, "standard input");
    for (auto& line : lines)  // as the corpus reader does: no-break spaces separate words
      if (data::valid_utf8(line)) line = data::normalize_spaces(line);
    o->search.keep_attention = !o->svg.empty();
    const auto hyps = translate_sentences(*m.model, m.codec, lines, o->search);
    auto text = [&](const Hypothesis& h) { return m.codec.target_text(h.tokens); };
    for (std::size_t i = 0; i < hyps.size(); ++i) {
      if (hyps[i].skipped)
        fmt::print(stderr, "warning: input line {}: {} tokens, over the limit of {}; not translated (an empty line stands "
                   "in its place)\n", i + 1, m.codec.source_tokens(lines[i]).size(),
                   std::min(o->search.max_source_tokens, m.model->longest_sequence()));
      if (o->search.nbest == 1) {
        fmt::print("{}\n", text(hyps[i]));
        continue;
      }
      fmt::print("{} ||| {} ||| {:.6f} ||| {:.6f}\n", i, text(hyps[i]), hyps[i].score, hyps[i].normalized_score);
      for (const auto& h : hyps[i].alternatives) fmt::print("{} ||| {} ||| {:.6f} ||| {:.6f}\n", i, text(h), h.score, h.normalized_score);
    }
    if (o->svg.empty() || lines.empty()) return;
    if (hyps[0].skipped) throw Error("translate --attention: the first line is over the length limit and was not translated");
    if (hyps[0].attention.empty() || hyps[0].attention[0].empty())
      throw Error(fmt::format("translate --attention: the {} model has no attention to plot", m.config.model));
    auto target = m.codec.tgt_vocab.decode(hyps[0].tokens);
    target.push_back("<eos>");
    write_text_file(o->svg, heatmap_svg(m.config.model + " attention", m.codec.source_tokens(lines[0]), target, hyps[0].attention));
  });
}

}  // namespace xg::translation::cli
