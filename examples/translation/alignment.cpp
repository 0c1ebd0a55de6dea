#include "alignment.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <numeric>
#include <sstream>

#include <xgrad/core/autograd.hpp>
#include <xgrad/data/batch.hpp>
#include <xgrad/data/text_file.hpp>
#include <xgrad/data/tokenizer.hpp>
#include "evaluate.hpp"

namespace xg::translation {

std::string format_alignment(const std::vector<int64_t>& alignment) {
  std::string out;
  for (std::size_t t = 0; t < alignment.size(); ++t) out += fmt::format("{}{}-{}", t ? " " : "", alignment[t], t);
  return out;
}

std::vector<std::vector<int64_t>> read_alignments(const std::string& path) {
  const auto lines = data::read_lines(path);
  std::vector<std::vector<int64_t>> out;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    std::vector<std::pair<int64_t, int64_t>> links;
    std::istringstream in(lines[n]);
    for (std::string link; in >> link;) {
      const auto dash = link.find('-');
      std::size_t used_s = 0, used_t = 0;
      int64_t s = -1, t = -1;
      try {
        if (dash != std::string::npos) {
          s = std::stoll(link.substr(0, dash), &used_s);
          t = std::stoll(link.substr(dash + 1), &used_t);
        }
      } catch (const std::exception&) {
      }
      if (dash == std::string::npos || used_s != dash || used_t != link.size() - dash - 1 || s < 0 || t < 0)
        throw FormatError(fmt::format("{}:{}: '{}' is not a source-target link like 3-2", path, n + 1, link));
      links.emplace_back(t, s);
    }
    std::sort(links.begin(), links.end());
    std::vector<int64_t> a;
    for (std::size_t i = 0; i < links.size(); ++i) {
      if (links[i].first != static_cast<int64_t>(i))
        throw FormatError(fmt::format("{}:{}: target word {} has {} links (needs exactly one per target word)", path, n + 1,
                                      links[i].first < static_cast<int64_t>(i) ? links[i].first : static_cast<int64_t>(i),
                                      links[i].first < static_cast<int64_t>(i) ? "several" : "no"));
      a.push_back(links[i].second);
    }
    out.push_back(a);
  }
  return out;
}

AlignmentResult evaluate_alignment(Seq2Seq& model, const TextCodec& codec,
                                   const std::vector<data::SentencePair>& pairs,
                                   const std::vector<std::vector<int64_t>>& gold, int64_t batch_size) {
  if (codec.subwords)
    throw Error("alignment error rates compare word positions with a gold word alignment; this model reads "
                "SentencePiece pieces (train with --tokenizer word to measure them)");
  if (gold.size() != pairs.size())
    throw Error(fmt::format("alignment: {} gold alignments for {} sentence pairs", gold.size(), pairs.size()));
  const std::vector<data::Example> examples = codec.encode(pairs);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (gold[i].size() != examples[i].tgt.size())
      throw Error(fmt::format("alignment of pair {}: {} links for {} target words", i + 1, gold[i].size(), examples[i].tgt.size()));
    for (int64_t s : gold[i])
      if (s >= static_cast<int64_t>(examples[i].src.size()))
        throw Error(fmt::format("alignment of pair {}: source index {} for a {}-word source", i + 1, s, examples[i].src.size()));
  }
  const int buckets = bucket_count(longest_source(pairs));
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> correct, total;  // [map][bucket]
  std::vector<std::map<int64_t, std::pair<int64_t, int64_t>>> per_word;  // [map][target id] = (misaligned, total)
  std::vector<std::size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return examples[a].src.size() < examples[b].src.size(); });
  for (std::size_t from = 0; from < order.size(); from += static_cast<std::size_t>(batch_size)) {
    const std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(from),
                                       order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), from + static_cast<std::size_t>(batch_size))));
    const data::Batch b = data::collate(examples, idx);
    const auto maps = model.source_attention(b);
    if (maps.empty()) break;  // no attention to read
    if (names.empty()) {
      for (const auto& m : maps) names.push_back(m.first);
      correct.assign(names.size(), std::vector<int64_t>(static_cast<std::size_t>(buckets), 0));
      total = correct;
      per_word.resize(names.size());
    }
    for (std::size_t m = 0; m < maps.size(); ++m) {
      const Tensor w = maps[m].second.to(DType::Float64);  // (B, T, S)
      const double* pw = w.data<double>();
      const int64_t T = w.shape()[1], S = w.shape()[2];
      for (int64_t r = 0; r < b.size; ++r) {
        const auto& g = gold[b.indices[r]];
        const int k = bucket_of(b.src_lengths[r]);
        for (std::size_t t = 0; t < g.size(); ++t) {
          const double* row = pw + (r * T + static_cast<int64_t>(t)) * S;
          const int64_t argmax = std::max_element(row, row + b.src_lengths[r]) - row;
          correct[m][k] += argmax == g[t];
          total[m][k] += 1;
          auto& w = per_word[m][examples[b.indices[r]].tgt[t]];
          w.first += argmax != g[t];
          w.second += 1;
        }
      }
    }
  }
  if (was_training) model.train();
  AlignmentResult result;
  for (std::size_t m = 0; m < names.size(); ++m) {
    AttentionAer a{names[m], 0, {}, {}};
    const int64_t c = std::accumulate(correct[m].begin(), correct[m].end(), int64_t{0});
    const int64_t n = std::accumulate(total[m].begin(), total[m].end(), int64_t{0});
    a.aer = n ? 100.0 * (1.0 - static_cast<double>(c) / static_cast<double>(n)) : 0.0;
    for (int k = 0; k < buckets; ++k)
      a.by_bucket.push_back(total[m][k] ? 100.0 * (1.0 - static_cast<double>(correct[m][k]) / static_cast<double>(total[m][k])) : -1.0);
    for (const auto& [id, counts] : per_word[m])
      if (counts.first > 0) a.worst_words.push_back({codec.tgt_vocab.word(id), counts.first, counts.second});
    std::sort(a.worst_words.begin(), a.worst_words.end(),
              [](const WordErrors& x, const WordErrors& y) { return x.misaligned != y.misaligned ? x.misaligned > y.misaligned : x.word < y.word; });
    if (a.worst_words.size() > 5) a.worst_words.resize(5);
    result.maps.push_back(a);
  }
  auto best = [&](bool mean) {
    const AttentionAer* pick = nullptr;
    for (const auto& a : result.maps) {
      const bool is_mean = a.map.find(".mean") != std::string::npos;
      if ((is_mean == mean || result.maps.size() == 1) && (!pick || a.aer < pick->aer)) pick = &a;
    }
    return pick ? *pick : AttentionAer{};
  };
  if (result.available()) result.best_head = best(false), result.head_mean = best(true);
  return result;
}

}  // namespace xg::translation
