#include "evaluate.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "data/batch.hpp"
#include "data/tokenizer.hpp"

namespace xg::translation {

int bucket_of(int64_t length) { return length <= 0 ? 0 : static_cast<int>(std::min<int64_t>((length - 1) / 10, 5)); }

std::string EvalResult::to_json() const {
  nlohmann::json j = {{"bleu", bleu}, {"exact", exact}, {"buckets", nlohmann::json::array()}};
  for (const auto& b : buckets)
    j["buckets"].push_back({{"lo", b.lo}, {"hi", b.hi < 0 ? nlohmann::json(nullptr) : nlohmann::json(b.hi)},
                            {"n", b.n}, {"bleu", b.bleu}, {"exact", b.exact}});
  return j.dump(2) + "\n";
}

std::vector<Hypothesis> translate_sentences(Seq2Seq& model, const data::Vocabulary& src_vocab,
                                            const std::vector<std::string>& sources, const SearchOptions& search,
                                            int64_t batch_size) {
  const data::WhitespaceTokenizer tok;
  const int64_t limit = std::min(search.max_source_tokens, model.longest_sequence());
  std::vector<data::Example> examples;
  std::vector<std::size_t> order;
  std::vector<Hypothesis> out(sources.size());
  for (const auto& s : sources) {
    auto ids = src_vocab.encode(tok.tokenize(s));
    if (ids.empty()) ids.push_back(data::Vocabulary::kUnk);  // an empty line still gets a (short) translation
    if (static_cast<int64_t>(ids.size()) > limit) out[examples.size()].skipped = true;
    else order.push_back(examples.size());
    examples.push_back({ids, {}});
  }
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return examples[a].src.size() < examples[b].src.size(); });
  for (std::size_t s = 0; s < order.size(); s += static_cast<std::size_t>(batch_size)) {
    std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(s),
                                 order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + static_cast<std::size_t>(batch_size))));
    const data::Batch b = data::collate(examples, idx);
    auto hyps = translate_batch(model, b, search);
    for (std::size_t i = 0; i < idx.size(); ++i) out[idx[i]] = std::move(hyps[i]);
  }
  return out;
}

EvalResult evaluate(Seq2Seq& model, const data::Vocabulary& src_vocab, const data::Vocabulary& tgt_vocab,
                    const std::vector<data::SentencePair>& pairs, const SearchOptions& search, int64_t batch_size) {
  const data::WhitespaceTokenizer tok;
  std::vector<std::string> sources, refs;
  for (const auto& p : pairs) {
    sources.push_back(p.source);
    refs.push_back(tok.detokenize(tok.tokenize(p.target)));
  }
  const auto hyps = translate_sentences(model, src_vocab, sources, search, batch_size);
  EvalResult r;
  for (const auto& h : hyps) {
    if (h.skipped) r.skipped.push_back(r.hypotheses.size());
    r.hypotheses.push_back(tok.detokenize(tgt_vocab.decode(h.tokens)));
  }
  std::vector<std::vector<std::string>> bucket_h(6), bucket_r(6);
  std::vector<int64_t> bucket_exact(6, 0);
  int64_t exact = 0;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const int k = bucket_of(static_cast<int64_t>(tok.tokenize(sources[i]).size()));
    const bool same = r.hypotheses[i] == refs[i];
    exact += same;
    bucket_exact[k] += same;
    bucket_h[k].push_back(r.hypotheses[i]);
    bucket_r[k].push_back(refs[i]);
  }
  r.bleu = pairs.empty() ? 0.0 : corpus_bleu(r.hypotheses, {refs}).score;
  r.exact = pairs.empty() ? 0.0 : 100.0 * static_cast<double>(exact) / static_cast<double>(pairs.size());
  for (int k = 0; k < 6; ++k) {
    BucketScore b{10 * k + 1, k == 5 ? -1 : 10 * k + 10};
    b.n = static_cast<int64_t>(bucket_h[k].size());
    if (b.n > 0) {
      b.bleu = corpus_bleu(bucket_h[k], {bucket_r[k]}).score;
      b.exact = 100.0 * static_cast<double>(bucket_exact[k]) / static_cast<double>(b.n);
    }
    r.buckets.push_back(b);
  }
  return r;
}

}  // namespace xg::translation
