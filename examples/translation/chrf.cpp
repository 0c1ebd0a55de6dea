#include "chrf.hpp"

#include <fmt/format.h>
#include <map>

#include <xgrad/core/errors.hpp>
#include <xgrad/data/tokenizer.hpp>

namespace xg::translation {

namespace {
using Counts = std::map<std::string, int64_t>;

// UTF-8 characters of `s` without its whitespace (sacreBLEU: ''.join(line.split())).
std::vector<std::string> characters_without_spaces(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    if (!(len == 1 && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')))
      out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

bool is_punctuation(char c) {
  static const std::string kPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  return kPunct.find(c) != std::string::npos;
}

// chrF++'s words: a trailing punctuation character split off, or else a leading one.
std::vector<std::string> chrf_words(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& w : data::WhitespaceTokenizer().tokenize(s)) {
    if (w.size() > 1 && is_punctuation(w.back())) out.push_back(w.substr(0, w.size() - 1)), out.push_back(w.substr(w.size() - 1));
    else if (w.size() > 1 && is_punctuation(w.front())) out.push_back(w.substr(0, 1)), out.push_back(w.substr(1));
    else out.push_back(w);
  }
  return out;
}

// n-grams of `units` joined by `sep` (characters: "", words: " ").
Counts ngrams_of(const std::vector<std::string>& units, int n, const char* sep) {
  Counts c;
  for (std::size_t i = 0; i + static_cast<std::size_t>(n) <= units.size(); ++i) {
    std::string g = units[i];
    for (int k = 1; k < n; ++k) g += sep + units[i + static_cast<std::size_t>(k)];
    ++c[g];
  }
  return c;
}

std::vector<Counts> all_ngrams(const std::string& s, const ChrfOptions& o) {
  std::vector<Counts> out;
  const auto chars = characters_without_spaces(s);
  for (int n = 1; n <= o.char_order; ++n) out.push_back(ngrams_of(chars, n, ""));
  if (o.word_order > 0) {
    const auto words = chrf_words(s);
    for (int n = 1; n <= o.word_order; ++n) out.push_back(ngrams_of(words, n, " "));
  }
  return out;
}
}  // namespace

double chrf_from_statistics(const int64_t* summed, const ChrfOptions& o) {
  const int orders = o.char_order + o.word_order;
  const double eps = 1e-16, factor = o.beta * o.beta;
  double f_sum = 0, avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (int i = 0; i < orders; ++i) {
    const auto hyp = static_cast<double>(summed[3 * i]), ref = static_cast<double>(summed[3 * i + 1]);
    const auto match = static_cast<double>(summed[3 * i + 2]);
    const double prec = hyp > 0 ? match / hyp : eps, rec = ref > 0 ? match / ref : eps;
    const double denom = factor * prec + rec;
    f_sum += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
    if (hyp > 0 && ref > 0) avg_prec += prec, avg_rec += rec, ++effective;
  }
  if (o.eps_smoothing) return 100 * f_sum / orders;
  if (effective == 0) return 0.0;
  avg_prec /= effective, avg_rec /= effective;
  if (avg_prec + avg_rec == 0) return 0.0;
  return 100 * (1 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec);
}

SentenceStatistics chrf_statistics(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                                   const ChrfOptions& o) {
  if (refs.empty()) throw Error("chrF: no reference streams");
  for (std::size_t r = 0; r < refs.size(); ++r)
    if (refs[r].size() != hyps.size())
      throw Error(fmt::format("chrF: reference stream {} has {} lines but there are {} hypotheses", r + 1, refs[r].size(),
                              hyps.size()));
  const int orders = o.char_order + o.word_order;
  SentenceStatistics stats;
  stats.width = 3 * orders;
  stats.rows.reserve(hyps.size() * static_cast<std::size_t>(stats.width));
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    const auto h = all_ngrams(hyps[i], o);
    std::vector<int64_t> best;
    double best_f = -1;
    for (const auto& stream : refs) {
      const auto r = all_ngrams(stream[i], o);
      std::vector<int64_t> row(static_cast<std::size_t>(stats.width), 0);
      for (int k = 0; k < orders; ++k) {
        int64_t hyp_count = 0, ref_count = 0, match = 0;
        for (const auto& [g, c] : h[static_cast<std::size_t>(k)]) {
          hyp_count += c;
          const auto it = r[static_cast<std::size_t>(k)].find(g);
          if (it != r[static_cast<std::size_t>(k)].end()) match += std::min(c, it->second);
        }
        for (const auto& [g, c] : r[static_cast<std::size_t>(k)]) ref_count += c;
        row[static_cast<std::size_t>(3 * k)] = ref_count ? hyp_count : 0;  // no reference n-grams: no hits counted
        row[static_cast<std::size_t>(3 * k + 1)] = ref_count;
        row[static_cast<std::size_t>(3 * k + 2)] = match;
      }
      const double f = chrf_from_statistics(row.data(), o);
      if (f > best_f) best_f = f, best = row;
    }
    stats.rows.insert(stats.rows.end(), best.begin(), best.end());
  }
  return stats;
}

double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                   const ChrfOptions& o) {
  return chrf_from_statistics(chrf_statistics(hyps, refs, o).sum().data(), o);
}

}  // namespace xg::translation
