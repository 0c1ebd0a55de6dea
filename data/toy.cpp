#include <xgrad/data/toy.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <unordered_set>

#include <xgrad/core/errors.hpp>

namespace xg::data {

namespace {
struct Noun {
  const char* src;
  const char* tgt;
  bool feminine;
};
struct Adjective {
  const char* src;
  const char* masc;
  const char* fem;
};
struct Word {
  const char* src;
  const char* tgt;
};

const Noun kNouns[] = {
    {"cat", "chat", false},        {"dog", "chien", false},       {"house", "maison", true},
    {"car", "voiture", true},      {"tree", "arbre", false},      {"bird", "oiseau", false},
    {"table", "table", true},      {"book", "livre", false},      {"flower", "fleur", true},
    {"river", "riviere", true},    {"horse", "cheval", false},    {"girl", "fille", true},
    {"boy", "garcon", false},      {"apple", "pomme", true},      {"city", "ville", true},
    {"garden", "jardin", false},   {"door", "porte", true},       {"teacher", "professeur", false},
    {"moon", "lune", true},        {"mountain", "montagne", true}};
const Adjective kAdjectives[] = {
    {"small", "petit", "petite"},     {"big", "grand", "grande"},
    {"green", "vert", "verte"},       {"black", "noir", "noire"},
    {"white", "blanc", "blanche"},     {"happy", "heureux", "heureuse"},
    {"old", "vieux", "vieille"},      {"new", "nouveau", "nouvelle"},
    {"blue", "bleu", "bleue"},        {"lazy", "paresseux", "paresseuse"},
    {"brave", "courageux", "courageuse"}, {"pretty", "joli", "jolie"}};
const Word kVerbs[] = {{"sees", "voit"},     {"eats", "mange"},      {"likes", "aime"},
                       {"takes", "prend"},   {"finds", "trouve"},    {"follows", "suit"},
                       {"watches", "regarde"}, {"carries", "transporte"}, {"pushes", "pousse"},
                       {"hears", "entend"},  {"calls", "appelle"},   {"paints", "peint"}};
const Word kPrepositions[] = {{"with", "avec"}, {"near", "pres"},    {"under", "sous"},
                              {"behind", "derriere"}, {"on", "sur"}, {"without", "sans"}};
const Word kConjunctions[] = {{"and", "et"}, {"but", "mais"}, {"while", "pendant"}};

template <class T, std::size_t N>
const T& pick(Generator& g, const T (&items)[N]) {
  return items[g.below(N)];
}

// Target words with the source position each translates, emitted in the order the target
// language wants them.
using Segment = std::vector<std::pair<std::string, int64_t>>;

struct Builder {
  Generator& gen;
  bool reorder;  // ToyConfig::order "sov"
  ToyPair out;
  int64_t src_pos = 0;
  void src(const std::string& w) {
    out.pair.source += (out.pair.source.empty() ? "" : " ") + w;
    ++src_pos;
  }
  void emit(const Segment& segment) {
    for (const auto& [w, aligned_to] : segment) {
      out.pair.target += (out.pair.target.empty() ? "" : " ") + w;
      out.alignment.push_back(aligned_to);
    }
  }
  Segment word(const Word& w) {
    Segment s{{w.tgt, src_pos}};
    src(w.src);
    return s;
  }
  // DET ADJ{n_adj} NOUN -> DET' NOUN' ADJ'{n_adj}, with agreement; when reordering, a third of
  // the noun phrases are plural: "the cats" -> "les chat ler", the marker after the adjectives.
  Segment noun_phrase(int64_t n_adj) {
    const Noun& noun = pick(gen, kNouns);
    const bool definite = gen.below(2) == 0;
    const bool plural = reorder && gen.below(3) == 0;
    std::vector<const Adjective*> adjs;
    while (static_cast<int64_t>(adjs.size()) < n_adj) {
      const Adjective* a = &pick(gen, kAdjectives);
      if (std::find(adjs.begin(), adjs.end(), a) == adjs.end()) adjs.push_back(a);
    }
    const int64_t det_pos = src_pos, noun_pos = src_pos + 1 + n_adj;
    Segment s;
    if (plural) s.emplace_back(definite ? "les" : "des", det_pos);
    else s.emplace_back(definite ? (noun.feminine ? "la" : "le") : (noun.feminine ? "une" : "un"), det_pos);
    s.emplace_back(noun.tgt, noun_pos);
    for (int64_t i = 0; i < n_adj; ++i) s.emplace_back(noun.feminine ? adjs[i]->fem : adjs[i]->masc, det_pos + 1 + i);
    if (plural) s.emplace_back("ler", noun_pos);
    src(plural ? (definite ? "the" : "some") : (definite ? "the" : "a"));
    for (const auto* a : adjs) src(a->src);
    src(plural ? plural_of(noun.src) : noun.src);
    return s;
  }
  static std::string plural_of(const std::string& noun) {  // city -> cities, boy -> boys, cat -> cats
    const bool consonant_y = noun.size() > 1 && noun.back() == 'y' && std::string("aeiou").find(noun[noun.size() - 2]) == std::string::npos;
    return consonant_y ? noun.substr(0, noun.size() - 1) + "ies" : noun + "s";
  }
};

// Splits `total` into `parts` values each in [lo, hi], uniformly at random among the units.
std::vector<int64_t> split_length(Generator& g, int64_t total, int64_t parts, int64_t lo, int64_t hi) {
  std::vector<int64_t> v(static_cast<std::size_t>(parts), lo);
  int64_t rest = total - lo * parts;
  while (rest > 0) {
    const auto i = static_cast<std::size_t>(g.below(static_cast<uint64_t>(parts)));
    if (v[i] < hi) ++v[i], --rest;
  }
  return v;
}

// SVO: the target follows the source's order (SUBJ VERB OBJ [PREP NP]). SOV (reordering): the
// verb ends its clause and prepositions follow their noun phrase (postpositions):
// SUBJ OBJ [NP PREP] VERB.
void clause(Builder& b, int64_t length) {  // 5..13 tokens
  const bool with_prep = length >= 10 || (length == 9 && b.gen.below(2) == 0);
  const int64_t np_count = with_prep ? 3 : 2;
  const auto np = split_length(b.gen, length - (with_prep ? 2 : 1), np_count, 2, 4);
  const Segment subject = b.noun_phrase(np[0] - 2);
  const Segment verb = b.word(pick(b.gen, kVerbs));
  const Segment object = b.noun_phrase(np[1] - 2);
  Segment preposition, prepositional_object;
  if (with_prep) {
    preposition = b.word(pick(b.gen, kPrepositions));
    prepositional_object = b.noun_phrase(np[2] - 2);
  }
  const std::vector<const Segment*> target_order =
      b.reorder ? std::vector<const Segment*>{&subject, &object, &prepositional_object, &preposition, &verb}
                : std::vector<const Segment*>{&subject, &verb, &object, &preposition, &prepositional_object};
  for (const Segment* s : target_order) b.emit(*s);
}
}  // namespace

ToyPair generate_toy_pair(Generator& gen, int64_t length, const std::string& order) {
  if (order != "svo" && order != "sov") throw Error(fmt::format("toy corpus: order '{}' (svo or sov)", order));
  if (length < kToyMinLength)
    throw Error(fmt::format("generate_toy_pair: length {} is below the grammar's minimum {}", length, kToyMinLength));
  // k clauses take between 6k and 14k tokens (clauses of 5..13, k-1 conjunctions, a period).
  std::vector<int64_t> feasible;
  for (int64_t k = 1; 6 * k <= length; ++k)
    if (length <= 14 * k) feasible.push_back(k);
  const int64_t k = feasible[gen.below(feasible.size())];
  const auto clause_lengths = split_length(gen, length - k, k, 5, 13);
  Builder b{gen, order == "sov", {}, 0};
  for (int64_t i = 0; i < k; ++i) {
    if (i > 0) b.emit(b.word(pick(gen, kConjunctions)));
    clause(b, clause_lengths[static_cast<std::size_t>(i)]);
  }
  b.emit(b.word({".", "."}));
  return b.out;
}

ToyCorpus generate_toy_corpus(const ToyConfig& c) {
  const int64_t lo = std::max(c.min_len, kToyMinLength), hi = c.max_len;
  if (hi < lo) throw Error(fmt::format("toy corpus: max_len {} is below the minimum length {}", hi, lo));
  const int64_t train_hi = c.train_max_len > 0 ? c.train_max_len : hi;
  if (train_hi < lo || train_hi > hi)
    throw Error(fmt::format("toy corpus: train_max_len {} must lie in [{}, max_len {}]", c.train_max_len, lo, hi));
  if (c.train_size < 0 || c.valid_size < 0 || c.test_per_bucket < 0) throw Error("toy corpus: negative split size");
  if (c.order != "svo" && c.order != "sov") throw Error(fmt::format("toy corpus: order '{}' (svo or sov)", c.order));
  constexpr int64_t kMaxPairs = 100'000'000;  // ~10 GB of text: beyond it a size is a typo
  if (c.train_size > kMaxPairs || c.valid_size > kMaxPairs || c.test_per_bucket > kMaxPairs)
    throw Error(fmt::format("toy corpus: at most {} pairs per split (asked for train {}, valid {}, test {} per bucket)",
                            kMaxPairs, c.train_size, c.valid_size, c.test_per_bucket));
  Generator gen(c.seed);
  ToyCorpus out;
  std::unordered_set<std::string> seen;
  // Every source is new. 1000 draws in a row that were all seen before mean the grammar has (all
  // but surely) no unseen sentence of that length left: an error, not a smaller corpus, and not
  // the endless search it was when asked for more than the grammar has.
  auto fresh = [&](int64_t len, std::vector<ToyPair>& dst) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      ToyPair p = generate_toy_pair(gen, len, c.order);
      if (seen.insert(p.pair.source).second) {
        dst.push_back(std::move(p));
        return;
      }
    }
    throw Error(fmt::format("toy corpus: the grammar has no more distinct sentences of {} tokens after {} (asked for "
                            "train {}, valid {}, test {} per bucket, lengths {}-{}); ask for fewer pairs or allow longer "
                            "sentences (--max-len)", len, seen.size(), c.train_size, c.valid_size, c.test_per_bucket, lo, hi));
  };
  // Test first, stratified by bucket; then valid, then train: none shares a source sentence.
  for (int64_t bucket_lo = 1; bucket_lo <= hi; bucket_lo += 10) {
    const int64_t a = std::max(bucket_lo, lo), b = std::min(bucket_lo + 9, hi);
    if (a > b) continue;
    for (int64_t i = 0; i < c.test_per_bucket; ++i) fresh(a + static_cast<int64_t>(gen.below(b - a + 1)), out.test);
  }
  for (int64_t i = 0; i < c.valid_size; ++i) fresh(lo + static_cast<int64_t>(gen.below(train_hi - lo + 1)), out.valid);
  for (int64_t i = 0; i < c.train_size; ++i) fresh(lo + static_cast<int64_t>(gen.below(train_hi - lo + 1)), out.train);
  return out;
}

std::vector<SentencePair> pairs_of(const std::vector<ToyPair>& split) {
  std::vector<SentencePair> out;
  out.reserve(split.size());
  for (const auto& p : split) out.push_back(p.pair);
  return out;
}

}  // namespace xg::data
