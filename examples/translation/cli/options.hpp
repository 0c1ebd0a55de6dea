#pragma once
// Options shared by xgrad-translate's subcommands: validators, the training options, and the
// model options as "set by the user or not" (std::optional), applied over a model's defaults.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include <xgrad/data/toy.hpp>
#include "search.hpp"

namespace xg::translation::cli {

// A finite number, positive or non-negative. CLI11's PositiveNumber lets NaN through, and a NaN
// budget or rate hung a run or trained on nonsense.
extern const CLI::Validator kFinitePositive, kFiniteNonNegative;

// --seed, --threads, --lr ... --save-every, and the built-in toy corpus's sizes (train, compare).
void add_train_options(CLI::App* cmd, TrainConfig& train, data::ToyConfig& toy);

// Every ModelConfig field a user can set; unset ones keep the chosen model's defaults.
struct ModelOptions {
  std::optional<int64_t> embedding, hidden, attention, d_model, heads, encoder_layers, decoder_layers, ff, kv_heads,
      window, global_tokens;
  std::optional<std::string> attention_kind, positions, tokenizer, tie_embeddings;
  std::optional<double> dropout;
  std::optional<bool> pre_ln, shared_subwords;

  // The defaults of `model` (a name of model_names()), then the options the user set; validated.
  ModelConfig apply(const std::string& model) const;
  // The config.json names of the fields the user set ("d_model", ...).
  std::vector<std::string> fields_set() const;
};
void add_model_options(CLI::App* cmd, ModelOptions& options);

// --beam, --lenpen, --max-input-tokens (eval, translate).
void add_search_options(CLI::App* cmd, SearchOptions& search);

// "world: 2 ranks x 1 thread each" (train, compare on the primary rank).
void print_world(int threads);

}  // namespace xg::translation::cli
