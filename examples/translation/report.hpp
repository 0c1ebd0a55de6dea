#pragma once
// compare's report.html: the run's settings, the scores with their intervals, the charts, the
// attention maps and alignment errors, and per length bucket a few test sentences with every
// model's output, the words that differ from the reference marked. One file, no network.
#include <string>
#include <utility>
#include <vector>

#include "alignment.hpp"
#include <xgrad/data/corpus.hpp>
#include "evaluate.hpp"

namespace xg::translation {

struct ReportModel {
  std::string name;
  int64_t params = 0, steps = 0, runs = 1;
  double seconds = 0;
  const EvalResult* eval = nullptr;            // hypotheses in test order
  const AlignmentResult* alignment = nullptr;  // may be unavailable
};

struct ReportInput {
  std::string out_dir;  // where compare wrote its SVG charts: the page inlines them
  std::vector<std::pair<std::string, std::string>> settings;  // (what, value) rows
  int64_t trained_max_len = 0;
  std::vector<data::SentencePair> test;
  std::vector<ReportModel> models;
  std::vector<std::size_t> buckets;  // the bucket indices that hold test sentences
  int64_t examples_per_bucket = 3;
};

std::string report_page(const ReportInput& input);

// A word-level diff of `hypothesis` against `reference` (a longest common subsequence): words
// only in the hypothesis in <ins>, reference words it lacks in <del>, in reading order; escaped.
std::string word_diff_html(const std::vector<std::string>& hypothesis, const std::vector<std::string>& reference);

}  // namespace xg::translation
