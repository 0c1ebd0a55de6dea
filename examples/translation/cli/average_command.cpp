#include <fmt/format.h>

#include "commands.hpp"
#include "trainer.hpp"

namespace xg::translation::cli {

void add_average_command(CLI::App& app) {
  struct Options {
    std::string checkpoint, out;
    int64_t last = 5;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("average", "average the weights of the last N kept checkpoints (train --keep-last) into a "
                                 "new model directory");
  cmd->add_option("--checkpoint", o->checkpoint, "training output directory")->required();
  cmd->add_option("--last", o->last, "how many of the newest checkpoint.STEP.safetensors")->check(CLI::PositiveNumber);
  cmd->add_option("--out", o->out, "output directory (config, vocabularies, model.safetensors)")->required();
  cmd->callback([o] {
    const auto steps = average_checkpoints(o->checkpoint, o->last, o->out);
    fmt::print("averaged the weights of steps {} into {}/model.safetensors\n", fmt::join(steps, ", "), o->out);
  });
}

}  // namespace xg::translation::cli
