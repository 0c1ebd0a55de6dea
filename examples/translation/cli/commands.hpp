#pragma once
// xgrad-translate's subcommands: each registers its options and its callback on the app.
// Errors are thrown (xg::Error and friends) and reported by main.
#include <CLI/CLI.hpp>

namespace xg::translation::cli {

void add_toy_command(CLI::App& app);        // toy: write the built-in corpus as TSV files
void add_train_command(CLI::App& app);      // train: one model
void add_average_command(CLI::App& app);    // average: checkpoint averaging
void add_eval_command(CLI::App& app);       // eval: BLEU, exact match, alignment error rate
void add_translate_command(CLI::App& app);  // translate: standard input line by line
void add_score_command(CLI::App& app);      // score: log-probabilities of given translations
void add_bleu_command(CLI::App& app);       // bleu: corpus BLEU of standard input
void add_chrf_command(CLI::App& app);       // chrf: corpus chrF / chrF++ of standard input
void add_compare_command(CLI::App& app);    // compare: the models side by side by length
void add_explain_command(CLI::App& app);    // explain: the attention explorer page of one sentence

}  // namespace xg::translation::cli
