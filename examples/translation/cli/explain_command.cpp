#include <fmt/format.h>
#include <iostream>

#include "commands.hpp"
#include "options.hpp"
#include <xgrad/data/text_file.hpp>
#include "explain.hpp"
#include "plot.hpp"

namespace xg::translation::cli {

void add_explain_command(CLI::App& app) {
  struct Options {
    std::string checkpoint, out = "explain.html", sentence, target;
    SearchOptions search;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("explain", "translate one sentence and write an interactive page of every attention map "
                                            "(every layer and head; the computation of one query with the model's numbers)");
  cmd->add_option("--checkpoint", o->checkpoint, "training output directory")->required();
  cmd->add_option("sentence", o->sentence, "the source sentence (default: the first line of standard input)");
  cmd->add_option("--out", o->out, "the page to write")->capture_default_str();
  cmd->add_option("--target", o->target, "explain this translation (e.g. the reference) instead of the model's own");
  add_search_options(cmd, o->search);
  cmd->callback([o] {
    std::string sentence = o->sentence;
    if (sentence.empty()) {
      const auto lines = data::read_lines(std::cin, "standard input");
      if (lines.empty()) throw Error("explain: no sentence (give one as an argument or on standard input)");
      sentence = lines[0];
    }
    const LoadedModel m = load_trained(o->checkpoint);
    write_text_file(o->out, explorer_page(explain_sentence(m, sentence, o->search, o->target)));
    fmt::print("wrote {}\n", o->out);
  });
}

}  // namespace xg::translation::cli
