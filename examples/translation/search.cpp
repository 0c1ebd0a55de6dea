#include "search.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <iterator>
#include <fmt/format.h>
#include <limits>
#include <utility>

#include <xgrad/core/ops.hpp>
#include "trainer.hpp"

namespace xg::translation {

using data::Vocabulary;

namespace {
std::vector<double> row_of(const Tensor& t, int64_t r) {
  if (!t.defined()) return {};
  const int64_t n = t.shape()[1];
  const auto v = select(t, 0, r).to_vector();
  return std::vector<double>(v.begin(), v.begin() + n);
}

// The longest output for a source of `length` tokens: a·length + b, within the positions the
// model has.
int64_t output_limit(const Seq2Seq& model, const SearchOptions& o, int64_t length) {
  return std::min(static_cast<int64_t>(o.max_len_a * static_cast<double>(length)) + o.max_len_b, model.longest_sequence());
}

// The step's log-probabilities (N, V), with <unk> ruled out when the options say so.
Tensor next_log_probs(Seq2Seq& model, DecoderState& state, const std::vector<int64_t>& prev, const SearchOptions& o) {
  const Tensor logp = model.step(state, prev);
  if (!o.forbid_unknown) return logp;
  const int64_t v = logp.shape()[1];
  std::vector<int64_t> unknown(static_cast<std::size_t>(v), 0);
  unknown[static_cast<std::size_t>(Vocabulary::kUnk)] = 1;
  return masked_fill(logp, Tensor::from_ints(unknown, {1, v}, DType::Bool), -std::numeric_limits<double>::infinity());
}

std::vector<Hypothesis> greedy(Seq2Seq& model, const data::Batch& b, const SearchOptions& o) {
  auto state = model.start(b);
  const int64_t n = b.size;
  std::vector<Hypothesis> hyps(static_cast<std::size_t>(n));
  std::vector<int64_t> prev(static_cast<std::size_t>(n), Vocabulary::kBos), limit;
  std::vector<bool> done(static_cast<std::size_t>(n), false);
  int64_t longest = 0;
  for (auto l : b.src_lengths) {
    limit.push_back(output_limit(model, o, l));
    longest = std::max(longest, limit.back());
  }
  for (int64_t t = 0; t < longest; ++t) {
    const Tensor logp = next_log_probs(model, *state, prev, o);  // (N, V)
    const auto best = argmax(logp, 1).to_ints();
    const auto lp = logp.to_vector();
    const int64_t v = logp.shape()[1];
    bool all_done = true;
    for (int64_t r = 0; r < n; ++r) {
      auto& h = hyps[static_cast<std::size_t>(r)];
      if (done[r]) continue;
      int64_t tok = best[static_cast<std::size_t>(r)];
      if (t + 1 >= limit[r]) tok = Vocabulary::kEos;  // out of length budget
      h.score += lp[static_cast<std::size_t>(r * v + tok)];
      if (o.keep_attention) h.attention.push_back(row_of(state->last_attention, r));
      if (tok == Vocabulary::kEos) done[r] = true;
      else h.tokens.push_back(tok);
      h.normalized_score = h.score / std::pow(static_cast<double>(h.tokens.size() + 1), o.length_penalty);
      prev[r] = tok;
      all_done = all_done && done[r];
    }
    if (all_done) break;
  }
  return hyps;
}

struct Beam {
  std::vector<int64_t> tokens;
  double score;
  std::vector<std::vector<double>> attention;
};

constexpr double kNoBeam = -std::numeric_limits<double>::infinity();  // the score of an empty slot

// Beam search over a batch: k beams per sentence in rows r·k + j of the decoder state.
class BeamSearch {
 public:
  BeamSearch(Seq2Seq& model, const data::Batch& b, const SearchOptions& o)
      : model_(model), o_(o), n_(b.size), k_(o.beam), wanted_(std::max<int64_t>(o.nbest, 1)),
        alive_(static_cast<std::size_t>(n_)), finished_(static_cast<std::size_t>(n_)),
        done_(static_cast<std::size_t>(n_), false) {
    for (auto& a : alive_) {
      a.assign(static_cast<std::size_t>(k_), Beam{{}, kNoBeam, {}});
      a[0].score = 0;  // only one live beam at the start, so the k first expansions differ
    }
    for (auto l : b.src_lengths) limit_.push_back(output_limit(model, o, l));
  }

  std::vector<Hypothesis> run(const data::Batch& b) {
    auto state = model_.start(b);
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < n_; ++r)
      for (int64_t j = 0; j < k_; ++j) rows.push_back(r);
    state->select(rows);
    std::vector<int64_t> prev(static_cast<std::size_t>(n_ * k_), Vocabulary::kBos);
    const int64_t longest = *std::max_element(limit_.begin(), limit_.end());
    for (int64_t t = 0; t < longest; ++t) {
      const Tensor logp = next_log_probs(model_, *state, prev, o_);  // (n*k, V)
      const auto lp = logp.to_vector();
      std::vector<int64_t> next_rows(static_cast<std::size_t>(n_ * k_));
      std::vector<int64_t> next_prev(static_cast<std::size_t>(n_ * k_), Vocabulary::kPad);
      for (int64_t i = 0; i < n_ * k_; ++i) next_rows[i] = i;  // rows of finished sentences stay
      bool all_done = true;
      for (int64_t r = 0; r < n_; ++r) {
        if (!done_[r]) done_[r] = expand(r, t, lp.data(), logp.shape()[1], *state, next_rows, next_prev);
        all_done = all_done && done_[r];
      }
      if (all_done) break;
      state->select(next_rows);
      prev = next_prev;
    }
    return results();
  }

 private:
  // Finished hypotheses rank by score / length^alpha, the length counting <eos> (alpha 0: the
  // plain sum of log-probabilities).
  double normalized(const Beam& be) const {
    return be.score / std::pow(static_cast<double>(be.tokens.size() + 1), o_.length_penalty);
  }
  // The best normalised score a live beam can still reach: later tokens only lower its score
  // (log-probabilities are <= 0) while, with alpha > 0, a longer output divides it by more. So
  // the bound is its score over the longest length it may reach, `limit` tokens with <eos>. (Its
  // current normalised score is no bound: it can still rise as the beam grows.)
  double best_reachable(const Beam& be, int64_t limit) const {
    return be.score / std::pow(static_cast<double>(limit), o_.length_penalty);
  }

  // One step of sentence r from the log-probabilities lp (rows of v); returns whether it is done.
  bool expand(int64_t r, int64_t t, const double* lp, int64_t v, const DecoderState& state,
              std::vector<int64_t>& next_rows, std::vector<int64_t>& next_prev) {
    struct Cand {
      double score;
      int64_t beam, token;
    };
    auto& beams = alive_[static_cast<std::size_t>(r)];
    std::vector<Cand> cands;
    const bool forced_end = t + 1 >= limit_[r];
    for (int64_t j = 0; j < k_; ++j) {
      if (beams[j].score == kNoBeam) continue;
      const double* row = lp + (r * k_ + j) * v;
      if (forced_end) cands.push_back({beams[j].score + row[Vocabulary::kEos], j, Vocabulary::kEos});
      else
        for (int64_t w = 0; w < v; ++w) cands.push_back({beams[j].score + row[w], j, w});
    }
    const std::size_t keep = std::min<std::size_t>(cands.size(), static_cast<std::size_t>(2 * k_));
    std::partial_sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(keep), cands.end(),
                      [](const Cand& a, const Cand& c) { return a.score > c.score; });
    std::vector<Beam> next;
    for (std::size_t c = 0; c < keep && static_cast<int64_t>(next.size()) < k_; ++c) {
      // An end-of-sentence candidate counts only among the k best (as fairseq): lower-ranked
      // ones would fill the finished list with early stops.
      if (cands[c].token == Vocabulary::kEos && c >= static_cast<std::size_t>(k_) && !forced_end) continue;
      const Beam& from = beams[cands[c].beam];
      Beam nb{from.tokens, cands[c].score, o_.keep_attention ? from.attention : std::vector<std::vector<double>>{}};
      if (o_.keep_attention) nb.attention.push_back(row_of(state.last_attention, r * k_ + cands[c].beam));
      if (cands[c].token == Vocabulary::kEos) {
        finished_[r].push_back(std::move(nb));
        continue;
      }
      nb.tokens.push_back(cands[c].token);
      next_rows[r * k_ + static_cast<int64_t>(next.size())] = r * k_ + cands[c].beam;
      next_prev[r * k_ + static_cast<int64_t>(next.size())] = cands[c].token;
      next.push_back(std::move(nb));
    }
    while (static_cast<int64_t>(next.size()) < k_) next.push_back(Beam{{}, kNoBeam, {}});
    beams = std::move(next);
    return forced_end || settled(r);
  }

  // Done once `wanted` hypotheses have finished and no live beam can still beat the wanted-th.
  bool settled(int64_t r) const {
    const auto& fin = finished_[r];
    if (static_cast<int64_t>(fin.size()) < wanted_) return false;
    std::vector<double> scores;
    for (const auto& f : fin) scores.push_back(normalized(f));
    std::nth_element(scores.begin(), scores.begin() + (wanted_ - 1), scores.end(), std::greater<double>());
    double best_alive = kNoBeam;
    for (const auto& be : alive_[r])
      if (be.score != kNoBeam) best_alive = std::max(best_alive, best_reachable(be, limit_[r]));
    return best_alive <= scores[static_cast<std::size_t>(wanted_ - 1)];
  }

  std::vector<Hypothesis> results() {
    std::vector<Hypothesis> out(static_cast<std::size_t>(n_));
    for (int64_t r = 0; r < n_; ++r) {
      auto& f = finished_[r];
      if (f.empty())
        for (auto& be : alive_[r])
          if (be.score != kNoBeam) f.push_back(be);
      std::stable_sort(f.begin(), f.end(), [&](const Beam& a, const Beam& c) { return normalized(a) > normalized(c); });
      for (std::size_t i = 0; i < f.size() && static_cast<int64_t>(i) < wanted_; ++i) {
        Hypothesis h;
        h.tokens = f[i].tokens, h.score = f[i].score, h.attention = f[i].attention;
        h.normalized_score = normalized(f[i]);
        if (i == 0) out[r] = std::move(h);
        else out[r].alternatives.push_back(std::move(h));
      }
    }
    return out;
  }

  Seq2Seq& model_;
  const SearchOptions& o_;
  const int64_t n_, k_, wanted_;  // sentences, beams per sentence, finished hypotheses to return
  std::vector<std::vector<Beam>> alive_, finished_;
  std::vector<int64_t> limit_;  // the longest output per sentence
  std::vector<bool> done_;
};

std::vector<Hypothesis> search(Seq2Seq& model, const data::Batch& batch, const SearchOptions& options) {
  return options.beam == 1 ? greedy(model, batch, options) : BeamSearch(model, batch, options).run(batch);
}
}  // namespace

std::vector<Hypothesis> translate_batch(Seq2Seq& model, const data::Batch& batch, const SearchOptions& options) {
  if (options.beam < 1) throw Error(fmt::format("beam size {} must be at least 1", options.beam));
  if (options.nbest > options.beam)
    throw Error(fmt::format("{} best hypotheses need a beam of at least {} (the beam is {})", options.nbest, options.nbest,
                            options.beam));
  if (!(options.length_penalty >= 0 && std::isfinite(options.length_penalty)))
    throw Error(fmt::format("length penalty alpha must be a finite number >= 0, got {}", options.length_penalty));
  NoGradGuard no_grad;
  FixedWeightsGuard fixed_weights;  // each Linear lays out its weight once for the whole run
  const bool was_training = model.is_training();
  model.eval();
  // One part per thread: a sentence's decoding never looks at another's (threads.cpp).
  const auto parts = parts_for_threads(batch.size);
  const auto n = static_cast<int64_t>(parts.size());
  std::vector<std::vector<Hypothesis>> results(parts.size());
  std::vector<std::exception_ptr> errors(parts.size());
  const uint64_t scope = FixedWeightsGuard::scope_id();
#pragma omp parallel for if (n > 1) num_threads(static_cast<int>(n)) schedule(static, 1)
  for (int64_t p = 0; p < n; ++p) {
    const auto i = static_cast<std::size_t>(p);
    try {  // guards are per thread, and this one may be an OpenMP worker
      if (n > 1) one_thread_per_nested_region();  // a lone part keeps every thread for its operations
      NoGradGuard part_no_grad;
      FixedWeightsGuard part_fixed_weights(scope);
      results[i] = n == 1 ? search(model, batch, options)
                          : search(model, data::slice_rows(batch, parts[i].first, parts[i].second), options);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  model.train(was_training);
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  std::vector<Hypothesis> out;
  out.reserve(static_cast<std::size_t>(batch.size));
  for (auto& r : results) std::move(r.begin(), r.end(), std::back_inserter(out));
  return out;
}

}  // namespace xg::translation
