#include "bleu.hpp"

#include <cmath>
#include <fmt/format.h>
#include <map>

#include <xgrad/core/errors.hpp>

namespace xg::translation {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The characters 13a pads with spaces: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
bool is_13a_punct(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

// One left-to-right pass of a two-character pattern with Python re.sub semantics (matches do
// not overlap; scanning resumes after a match).
template <class Match, class Emit>
std::string two_char_pass(const std::string& s, Match match, Emit emit) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      out += emit(s[i], s[i + 1]);
      i += 2;
    } else {
      out += s[i++];
    }
  }
  return out;
}

using NgramCounts = std::map<std::vector<std::string>, int64_t>;

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    const std::size_t b = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > b) out.push_back(s.substr(b, i - b));
  }
  return out;
}

NgramCounts ngrams(const std::vector<std::string>& toks) {
  NgramCounts c;
  for (std::size_t n = 1; n <= 4; ++n)
    for (std::size_t i = 0; i + n <= toks.size(); ++i) ++c[std::vector<std::string>(toks.begin() + i, toks.begin() + i + n)];
  return c;
}

std::string rstrip(const std::string& s) {
  std::size_t e = s.size();
  while (e > 0 && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(0, e);
}
}  // namespace

std::string tokenize_13a(const std::string& input) {
  std::string line = replace_all(input, "<skipped>", "");
  line = replace_all(line, "-\n", "");
  line = replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    line = replace_all(line, "&quot;", "\"");
    line = replace_all(line, "&amp;", "&");
    line = replace_all(line, "&lt;", "<");
    line = replace_all(line, "&gt;", ">");
  }
  line = " " + line + " ";
  std::string padded;
  for (char c : line) {
    if (is_13a_punct(c)) padded += std::string(" ") + c + " ";
    else padded += c;
  }
  auto is_pc = [](char c) { return c == '.' || c == ','; };
  padded = two_char_pass(padded, [&](char a, char b) { return !is_digit(a) && is_pc(b); },
                         [](char a, char b) { return std::string(1, a) + " " + b + " "; });
  padded = two_char_pass(padded, [&](char a, char b) { return is_pc(a) && !is_digit(b); },
                         [](char a, char b) { return std::string(" ") + a + " " + b; });
  padded = two_char_pass(padded, [](char a, char b) { return is_digit(a) && b == '-'; },
                         [](char a, char b) { return std::string(1, a) + " " + b + " "; });
  const auto toks = split_ws(padded);
  std::string out;
  for (std::size_t i = 0; i < toks.size(); ++i) out += (i ? " " : "") + toks[i];
  return out;
}

SentenceStatistics SentenceStatistics::subset(const std::vector<std::size_t>& sentences) const {
  SentenceStatistics out;
  out.width = width;
  out.rows.reserve(sentences.size() * static_cast<std::size_t>(width));
  for (auto i : sentences) out.rows.insert(out.rows.end(), row(i), row(i) + width);
  return out;
}

std::vector<int64_t> SentenceStatistics::sum() const {
  std::vector<int64_t> total(static_cast<std::size_t>(width), 0);
  for (std::size_t i = 0; i < size(); ++i)
    for (int64_t j = 0; j < width; ++j) total[static_cast<std::size_t>(j)] += row(i)[j];
  return total;
}

// Per sentence: correct[0..3], total[0..3], hypothesis length, closest reference length.
SentenceStatistics bleu_statistics(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                                   BleuTokenize tokenize) {
  if (refs.empty()) throw Error("corpus_bleu: no reference streams");
  for (std::size_t r = 0; r < refs.size(); ++r)
    if (refs[r].size() != hyps.size())
      throw Error(fmt::format("corpus_bleu: reference stream {} has {} lines but there are {} hypotheses", r + 1,
                              refs[r].size(), hyps.size()));
  auto prep = [&](const std::string& s) {
    const std::string t = rstrip(s);
    return split_ws(tokenize == BleuTokenize::V13a ? tokenize_13a(t) : t);
  };
  SentenceStatistics stats;
  stats.width = kBleuStatistics;
  stats.rows.assign(hyps.size() * kBleuStatistics, 0);
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    int64_t* row = stats.rows.data() + i * kBleuStatistics;
    NgramCounts ref_max;
    std::vector<int64_t> ref_lens;
    for (const auto& stream : refs) {
      const auto toks = prep(stream[i]);
      ref_lens.push_back(static_cast<int64_t>(toks.size()));
      for (const auto& [g, c] : ngrams(toks)) ref_max[g] = std::max(ref_max[g], c);
    }
    const auto htoks = prep(hyps[i]);
    const auto hlen = static_cast<int64_t>(htoks.size());
    int64_t closest = -1, diff = -1;
    for (auto l : ref_lens) {  // the closest reference length, the shorter on a tie
      const int64_t d = std::abs(hlen - l);
      if (diff < 0 || d < diff || (d == diff && l < closest)) diff = d, closest = l;
    }
    row[8] = hlen;
    row[9] = closest;
    for (const auto& [g, c] : ngrams(htoks)) {
      row[4 + g.size() - 1] += c;
      auto it = ref_max.find(g);
      if (it != ref_max.end()) row[g.size() - 1] += std::min(c, it->second);
    }
  }
  return stats;
}

BleuScore bleu_from_statistics(const int64_t* summed) {
  const int64_t* correct = summed;
  const int64_t* total = summed + 4;
  const int64_t sys_len = summed[8], ref_len = summed[9];
  BleuScore s;
  s.sys_len = sys_len, s.ref_len = ref_len;
  s.brevity_penalty = sys_len < ref_len ? (sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len)) : 0.0) : 1.0;
  s.precisions.assign(4, 0.0);
  bool any = false;
  for (int n = 0; n < 4; ++n) any = any || correct[n] > 0;
  if (!any) return s;
  double smooth = 1.0;
  for (int n = 0; n < 4; ++n) {
    if (total[n] == 0) break;
    if (correct[n] == 0) {
      smooth *= 2;
      s.precisions[n] = 100.0 / (smooth * static_cast<double>(total[n]));
    } else {
      s.precisions[n] = 100.0 * static_cast<double>(correct[n]) / static_cast<double>(total[n]);
    }
  }
  double log_sum = 0;
  for (double p : s.precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;  // sacreBLEU's my_log(0)
  s.score = s.brevity_penalty * std::exp(log_sum / 4.0);
  return s;
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                      BleuTokenize tokenize) {
  return bleu_from_statistics(bleu_statistics(hyps, refs, tokenize).sum().data());
}

}  // namespace xg::translation
