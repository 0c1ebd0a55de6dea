#pragma once
/// \file
/// Parallel corpora: "source<TAB>target" per line, UTF-8.
#include <string>
#include <vector>

namespace xg::data {

/// One line of a parallel corpus.
struct SentencePair {
  std::string source;  ///< the source sentence, as read
  std::string target;  ///< its translation
};

/// How read_parallel_corpus treats bad and long lines.
struct CorpusReadOptions {
  /// Skip malformed lines (counted in the result) instead of failing on the first one.
  bool skip_bad_lines = false;
  /// Pairs with more tokens than this on either side are dropped and counted (0: no limit).
  int64_t max_tokens = 0;
  /// Unicode space separators become ASCII spaces and U+FEFF is removed (normalize_spaces in
  /// data/text_file.hpp); the lines changed are counted.
  bool normalize_spaces = true;
};

/// The pairs of a corpus file, with where they came from and what was left out.
struct ParallelCorpus {
  std::vector<SentencePair> pairs;  ///< in file order
  std::vector<std::size_t> line_numbers;  ///< 1-based source line of each pair
  int64_t skipped_bad = 0;                ///< malformed lines skipped (skip_bad_lines)
  int64_t filtered_long = 0;              ///< pairs over max_tokens
  int64_t normalized_spaces = 0;          ///< lines whose Unicode spaces were replaced
  std::string first_error;                ///< the first malformed line's message, when skipping
};

/// Reads a TSV corpus. A malformed line (no tab, more than one tab, an empty side, invalid UTF-8)
/// is a FormatError "FILE:LINE: what" unless skip_bad_lines; blank lines are malformed too.
/// A missing file, a directory or an empty file is an error naming the path.
ParallelCorpus read_parallel_tsv(const std::string& path, const CorpusReadOptions& options = {});

/// The pairs whose source has at most `max_source_tokens` whitespace-separated tokens, in order
/// (a length split: train short, test long).
std::vector<SentencePair> sources_up_to(const std::vector<SentencePair>& pairs, int64_t max_source_tokens);

/// Writes pairs as TSV (atomically).
void write_parallel_tsv(const std::string& path, const std::vector<SentencePair>& pairs);

}  // namespace xg::data
