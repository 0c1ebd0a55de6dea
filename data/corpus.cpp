#include <xgrad/data/corpus.hpp>

#include <fmt/format.h>

#include <xgrad/core/atomic_file.hpp>
#include <xgrad/core/errors.hpp>
#include <xgrad/data/text_file.hpp>
#include <xgrad/data/tokenizer.hpp>

namespace xg::data {

namespace {
// Returns the problem with a line, or "" if it is a well-formed pair.
std::string check_line(const std::string& line, SentencePair& pair) {
  if (!valid_utf8(line)) return "invalid UTF-8";
  const auto tab = line.find('\t');
  if (tab == std::string::npos) return "no tab between source and target";
  if (line.find('\t', tab + 1) != std::string::npos) return "more than one tab";
  pair.source = line.substr(0, tab);
  pair.target = line.substr(tab + 1);
  static const WhitespaceTokenizer tok;
  if (tok.tokenize(pair.source).empty()) return "empty source side";
  if (tok.tokenize(pair.target).empty()) return "empty target side";
  return "";
}
}  // namespace

ParallelCorpus read_parallel_tsv(const std::string& path, const CorpusReadOptions& options) {
  const std::vector<std::string> lines = read_lines(path);
  if (lines.empty()) throw FormatError(fmt::format("{}: the corpus file is empty", path));
  ParallelCorpus out;
  const WhitespaceTokenizer tok;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    SentencePair pair;
    std::string line = lines[i];
    if (options.normalize_spaces && valid_utf8(line)) {
      std::string normalized = normalize_spaces(line);
      if (normalized != line) ++out.normalized_spaces, line = std::move(normalized);
    }
    const std::string problem = check_line(line, pair);
    if (!problem.empty()) {
      const std::string msg = fmt::format("{}:{}: {}", path, i + 1, problem);
      if (!options.skip_bad_lines) throw FormatError(msg);
      if (out.skipped_bad++ == 0) out.first_error = msg;
      continue;
    }
    if (options.max_tokens > 0 &&
        (static_cast<int64_t>(tok.tokenize(pair.source).size()) > options.max_tokens ||
         static_cast<int64_t>(tok.tokenize(pair.target).size()) > options.max_tokens)) {
      ++out.filtered_long;
      continue;
    }
    out.pairs.push_back(std::move(pair));
    out.line_numbers.push_back(i + 1);
  }
  if (out.pairs.empty())
    throw FormatError(fmt::format("{}: no usable sentence pairs ({} malformed, {} too long)", path,
                                  out.skipped_bad, out.filtered_long));
  return out;
}

void write_parallel_tsv(const std::string& path, const std::vector<SentencePair>& pairs) {
  AtomicFile f(path);
  for (const auto& p : pairs) f.write(p.source + "\t" + p.target + "\n");
  f.commit();
}

std::vector<SentencePair> sources_up_to(const std::vector<SentencePair>& pairs, int64_t max_source_tokens) {
  const WhitespaceTokenizer tok;
  std::vector<SentencePair> kept;
  for (const auto& p : pairs)
    if (static_cast<int64_t>(tok.tokenize(p.source).size()) <= max_source_tokens) kept.push_back(p);
  return kept;
}

}  // namespace xg::data
