// xgrad-translate: the translation experiment. Subcommands toy, train, average, eval, translate, score, bleu,
// chrf, compare and explain (cli/*_command.cpp); `xgrad-translate SUBCOMMAND --help` lists each one's options.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <new>

#include "cli/commands.hpp"
#include <xgrad/core/errors.hpp>
#include <xgrad/core/runtime.hpp>
#include <xgrad/distributed/distributed.hpp>

using namespace xg;

int main(int argc, char** argv) {
  // Restarts once (saying why on stderr) unless OpenBLAS and OpenMP were tuned by the environment.
  reexecute_with_tuned_environment(argv, tune_runtime());
  try {
    distributed::init(&argc, &argv);  // a world of one unless started by mpirun
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  CLI::App app{"xgrad-translate: train and compare RNN, Bahdanau-attention and transformer translation models"};
  app.require_subcommand(1);
  for (auto add : {translation::cli::add_toy_command, translation::cli::add_train_command, translation::cli::add_average_command,
                   translation::cli::add_eval_command,
                   translation::cli::add_translate_command, translation::cli::add_score_command, translation::cli::add_bleu_command, translation::cli::add_chrf_command,
                   translation::cli::add_compare_command, translation::cli::add_explain_command})
    add(app);
  int code = 0;
  try {
    // CLI11 reads an unknown first word as a stray argument and says "A subcommand is required".
    if (argc > 1 && argv[1][0] != '-' && app.get_subcommands([&](CLI::App* s) { return s->get_name() == argv[1]; }).empty())
      throw CLI::ValidationError(fmt::format("unknown subcommand '{}' (one of: toy, train, average, eval, translate, score, bleu, chrf, compare, explain)", argv[1]));
    app.parse(argc, argv);  // runs the chosen subcommand's callback
    // Output on a full disk or a closed pipe fails here, not silently with exit 0.
    if (std::fflush(stdout) != 0 || std::ferror(stdout))
      throw Error(fmt::format("writing standard output failed: {}", std::strerror(errno)));
  } catch (const CLI::ParseError& e) {
    code = app.exit(e);
  } catch (const std::exception& e) {
    // bad_alloc outside a tensor allocation (which names its shape) still says what it is.
    const std::string what = dynamic_cast<const std::bad_alloc*>(&e)
                                 ? "out of memory; try smaller --max-tokens/--max-batch, a smaller model, or shorter input"
                                 : e.what();
    if (distributed::world_size() > 1) distributed::abort_all(fmt::format("rank {}: {}", distributed::rank(), what));  // stops every rank
    std::fflush(stdout);
    fmt::print(stderr, "\nerror: {}\n", what);
    return 1;
  }
  distributed::finalize();  // also after a parse error: no MPI world is left open
  return code;
}
