#include "evaluate.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include <xgrad/data/batch.hpp>
#include <xgrad/data/tokenizer.hpp>
#include <xgrad/core/ops.hpp>
#include "chrf.hpp"
#include "significance.hpp"

namespace xg::translation {

int bucket_of(int64_t length) { return length <= 0 ? 0 : static_cast<int>((length - 1) / 10); }
int bucket_count(int64_t longest) { return bucket_of(longest) + 1; }

int64_t longest_source(const std::vector<data::SentencePair>& pairs) {
  const data::WhitespaceTokenizer tok;
  int64_t longest = 0;
  for (const auto& p : pairs) longest = std::max(longest, static_cast<int64_t>(tok.tokenize(p.source).size()));
  return longest;
}

std::string EvalResult::to_json() const {
  nlohmann::json j = {{"bleu", bleu}, {"bleu_ci", {bleu_lo, bleu_hi}}, {"chrf", chrf}, {"chrf_ci", {chrf_lo, chrf_hi}},
                      {"exact", exact}, {"buckets", nlohmann::json::array()}};
  if (!bleu_runs.empty()) j["bleu_runs"] = bleu_runs;
  for (const auto& b : buckets) {
    nlohmann::json bj = {{"lo", b.lo}, {"hi", b.hi},
                         {"n", b.n}, {"bleu", b.bleu}, {"bleu_ci", {b.bleu_lo, b.bleu_hi}}, {"chrf", b.chrf},
                         {"chrf_ci", {b.chrf_lo, b.chrf_hi}}, {"exact", b.exact}};
    if (!b.bleu_runs.empty()) bj["bleu_runs"] = b.bleu_runs;
    j["buckets"].push_back(bj);
  }
  return j.dump(2) + "\n";
}

namespace {
// BLEU (13a) and chrF of `sentences` (all when empty) with their bootstrap intervals.
struct Scored {
  double bleu, bleu_lo, bleu_hi, chrf, chrf_lo, chrf_hi;
};
Scored score_subset(const SentenceStatistics& bleu_stats, const SentenceStatistics& chrf_stats,
                    const std::vector<std::size_t>& sentences, int64_t samples) {
  const CorpusScore bleu = [](const int64_t* s) { return bleu_from_statistics(s).score; };
  const CorpusScore chrf = [](const int64_t* s) { return chrf_from_statistics(s); };
  const auto b = bleu_stats.subset(sentences), c = chrf_stats.subset(sentences);
  if (samples <= 0) {
    const double bs = bleu(b.sum().data()), cs = chrf(c.sum().data());
    return {bs, bs, bs, cs, cs, cs};
  }
  const auto bi = bootstrap_interval(b, bleu, samples), ci = bootstrap_interval(c, chrf, samples);
  return {bi.score, bi.lo, bi.hi, ci.score, ci.lo, ci.hi};
}
}  // namespace

std::vector<Hypothesis> translate_sentences(Seq2Seq& model, const TextCodec& codec,
                                            const std::vector<std::string>& sources, const SearchOptions& search,
                                            int64_t batch_size) {
  const int64_t limit = std::min(search.max_source_tokens, model.longest_sequence());
  SearchOptions options = search;
  options.forbid_unknown = options.forbid_unknown || codec.subwords;
  std::vector<data::Example> examples;
  std::vector<std::size_t> order;
  std::vector<Hypothesis> out(sources.size());
  for (const auto& s : sources) {
    auto ids = codec.encode_source(s);
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
    auto hyps = translate_batch(model, b, options);
    for (std::size_t i = 0; i < idx.size(); ++i) out[idx[i]] = std::move(hyps[i]);
  }
  return out;
}

std::vector<SentenceLogProb> score_references(Seq2Seq& model, const TextCodec& codec,
                                              const std::vector<data::SentencePair>& pairs, int64_t batch_size) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  auto examples = codec.encode(pairs);
  std::vector<SentenceLogProb> out(examples.size());
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (examples[i].src.empty()) examples[i].src.push_back(data::Vocabulary::kUnk);
    const auto longest = static_cast<int64_t>(std::max(examples[i].src.size(), examples[i].tgt.size() + 1));
    if (longest > model.longest_sequence()) out[i].skipped = true;
    else order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return examples[a].src.size() < examples[b].src.size(); });
  for (std::size_t s = 0; s < order.size(); s += static_cast<std::size_t>(batch_size)) {
    const std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(s),
                                       order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + static_cast<std::size_t>(batch_size))));
    const data::Batch b = data::collate(examples, idx);
    const Tensor log_probs = log_softmax(model.forward(b), -1);  // (B, T, V)
    const auto V = static_cast<std::size_t>(log_probs.shape()[2]);
    const auto logp = log_probs.to_vector();
    for (std::size_t r = 0; r < idx.size(); ++r) {
      SentenceLogProb& sl = out[idx[r]];
      for (int64_t t = 0; t < b.tgt_lengths[r]; ++t) {
        const std::size_t at = (r * static_cast<std::size_t>(b.tgt_len) + static_cast<std::size_t>(t)) * V;
        const double lp = logp[at + static_cast<std::size_t>(b.tgt_out[r * static_cast<std::size_t>(b.tgt_len) + static_cast<std::size_t>(t)])];
        sl.tokens.push_back(lp);
        sl.logprob += lp;
      }
    }
  }
  model.train(was_training);
  return out;
}

EvalResult evaluate(Seq2Seq& model, const TextCodec& codec, const std::vector<data::SentencePair>& pairs,
                    const SearchOptions& search, int64_t batch_size, int64_t bootstrap_samples) {
  const data::WhitespaceTokenizer words;  // length buckets count source words, whatever the model's tokens
  std::vector<std::string> sources, refs;
  for (const auto& p : pairs) {
    sources.push_back(p.source);
    refs.push_back(codec.reference_text(p.target));
  }
  const auto hyps = translate_sentences(model, codec, sources, search, batch_size);
  EvalResult r;
  for (const auto& h : hyps) {
    if (h.skipped) r.skipped.push_back(r.hypotheses.size());
    r.hypotheses.push_back(codec.target_text(h.tokens));
  }
  const int buckets = bucket_count(longest_source(pairs));
  std::vector<std::vector<std::size_t>> bucket_sentences(static_cast<std::size_t>(buckets));
  std::vector<int64_t> bucket_exact(static_cast<std::size_t>(buckets), 0);
  int64_t exact = 0;
  std::vector<std::size_t> all(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const int k = bucket_of(static_cast<int64_t>(words.tokenize(sources[i]).size()));
    const bool same = r.hypotheses[i] == refs[i];
    exact += same;
    bucket_exact[k] += same;
    bucket_sentences[k].push_back(i);
    all[i] = i;
  }
  // Sentence statistics once; the corpus, each bucket and each bootstrap sample sum them.
  const auto bleu_stats = bleu_statistics(r.hypotheses, {refs}), chrf_stats = chrf_statistics(r.hypotheses, {refs});
  if (!pairs.empty()) {
    const Scored s = score_subset(bleu_stats, chrf_stats, all, bootstrap_samples);
    r.bleu = s.bleu, r.bleu_lo = s.bleu_lo, r.bleu_hi = s.bleu_hi, r.chrf = s.chrf, r.chrf_lo = s.chrf_lo, r.chrf_hi = s.chrf_hi;
    r.exact = 100.0 * static_cast<double>(exact) / static_cast<double>(pairs.size());
  }
  for (int k = 0; k < buckets; ++k) {
    BucketScore b;
    b.lo = 10 * k + 1, b.hi = 10 * k + 10;
    b.n = static_cast<int64_t>(bucket_sentences[k].size());
    if (b.n > 0) {
      const Scored s = score_subset(bleu_stats, chrf_stats, bucket_sentences[k], bootstrap_samples);
      b.bleu = s.bleu, b.bleu_lo = s.bleu_lo, b.bleu_hi = s.bleu_hi, b.chrf = s.chrf, b.chrf_lo = s.chrf_lo, b.chrf_hi = s.chrf_hi;
      b.exact = 100.0 * static_cast<double>(bucket_exact[k]) / static_cast<double>(b.n);
    }
    r.buckets.push_back(b);
  }
  return r;
}

}  // namespace xg::translation
