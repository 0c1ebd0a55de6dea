// chrF and chrF++ against sacreBLEU's published test values, and (chrF++, bootstrap intervals,
// paired bootstrap) against the plain reimplementation in tests/reference/metrics_reference.py,
// whose printed values are copied here.
#include <string>
#include <vector>

#include "bleu.hpp"
#include "chrf.hpp"
#include "helpers.hpp"
#include "significance.hpp"

using namespace xg::translation;

namespace {
double chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs, double beta, bool eps, int words = 0) {
  ChrfOptions o;
  o.beta = beta, o.eps_smoothing = eps, o.word_order = words;
  return corpus_chrf(hyps, {refs}, o);
}

// The test set of metrics_reference.py: 40 sentence pairs made by a fixed rule.
const std::vector<std::string> kVocab = {"the", "a", "cat", "dog", "sees", "chases", "small", "big", "red", "house", "tree", "bird"};
std::string sentence(int k, int length, int shift) {
  std::string s;
  for (int i = 0; i < length; ++i)
    s += (i ? " " : "") + kVocab[static_cast<std::size_t>((k * 7 + i * 3 + shift * (i % 3 == 0)) % 12)];
  return s;
}
}  // namespace

TEST_CASE("chrF equals sacreBLEU's published test values", "[translation][chrf]") {
  // sacreBLEU test/test_chrf.py: corpus chrF with beta 3, eps smoothing (test_cases) ...
  const std::vector<std::tuple<std::vector<std::string>, std::vector<std::string>, double>> eps_cases = {
      {{"abcdefg"}, {"hijklmnop"}, 0.0}, {{"a"}, {"b"}, 0.0}, {{""}, {"b"}, 0.0}, {{""}, {"ref"}, 0.0},
      {{""}, {"reference"}, 0.0}, {{"aa"}, {"ab"}, 8.3333}, {{"a", "b"}, {"a", "c"}, 8.3333}, {{"a"}, {"a"}, 16.6667},
      {{"a b c"}, {"a b c"}, 50.0}, {{"a b c"}, {"abc"}, 50.0},
      {{" risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."},
       {"risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."},
       63.361730},
      {{" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "},
       {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."}, 64.1302698},
      {{"Niemand hat die Absicht, eine Mauer zu errichten"}, {"Niemand hat die Absicht, eine Mauer zu errichten"}, 100.0}};
  for (const auto& [h, r, want] : eps_cases) {
    INFO(h[0]);
    CHECK(std::abs(chrf(h, r, 3, true) - want) < 1e-4);
  }
  // ... and with the effective-order average, sacreBLEU's default (test_cases_effective_order).
  const std::vector<std::tuple<std::vector<std::string>, std::vector<std::string>, double>> effective = {
      {{"a"}, {"a"}, 100.0}, {{""}, {"reference"}, 0.0}, {{"a b c"}, {"a b c"}, 100.0}, {{"a b c"}, {"abc"}, 100.0},
      {{""}, {"c"}, 0.0}, {{"a", "b"}, {"a", "c"}, 50.0}, {{"aa"}, {"ab"}, 25.0}};
  for (const auto& [h, r, want] : effective) {
    INFO(h[0]);
    CHECK(std::abs(chrf(h, r, 3, false) - want) < 1e-4);
  }
  // Sentence level, beta 2 with eps smoothing, Czech (multi-byte characters).
  CHECK(std::abs(chrf({"Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře."},
                      {"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."}, 2, true) -
                 39.14078509) < 1e-4);
  CHECK(std::abs(chrf({"Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři."},
                      {"A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."}, 2, true) -
                 31.22557079) < 1e-4);
  CHECK(std::abs(chrf({"Lapali po dechu, jejich životy skončily dřív, než skutečně začaly."},
                      {"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."}, 2, true) -
                 57.15704367) < 1e-4);
}

TEST_CASE("chrF++ and chrF equal the plain reimplementation", "[translation][chrf]") {
  const std::string h1 = "Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.";
  const std::string r1 = "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.";
  CHECK(chrf({h1}, {r1}, 2, false, 2) == Approx(61.5872324563).epsilon(1e-9));
  CHECK(chrf({h1}, {r1}, 2, false) == Approx(64.8181237261).epsilon(1e-9));
  // Punctuation split off a word's end, else its start.
  CHECK(chrf({"(hi) it's a test, isn't it?"}, {"hi, it is a test -- isn't it?"}, 2, false, 2) == Approx(49.3848207259).epsilon(1e-9));
  CHECK(chrf({"(hi) it's a test, isn't it?"}, {"hi, it is a test -- isn't it?"}, 2, false) == Approx(51.1267026747).epsilon(1e-9));
  std::vector<std::string> refs, a;
  for (int k = 0; k < 40; ++k) refs.push_back(sentence(k, 4 + k % 9, 0)), a.push_back(sentence(k, 4 + k % 9, k % 4 ? 1 : 0));
  CHECK(chrf(a, refs, 2, false, 2) == Approx(61.2558844964).epsilon(1e-9));
  // Two references: each sentence takes the one with the better F.
  ChrfOptions o;
  CHECK(corpus_chrf({"a b c"}, {{"x y z"}, {"a b c"}}, o) == Approx(100.0));
}

TEST_CASE("bootstrap intervals and the paired bootstrap equal the plain reimplementation", "[translation][bootstrap]") {
  std::vector<std::string> refs, a, b;
  for (int k = 0; k < 40; ++k) {
    refs.push_back(sentence(k, 4 + k % 9, 0));
    a.push_back(sentence(k, 4 + k % 9, k % 4 ? 1 : 0));
    b.push_back(sentence(k, 4 + (k + 1) % 9, k % 3 ? 2 : 0));
  }
  const CorpusScore bleu = [](const int64_t* s) { return bleu_from_statistics(s).score; };
  const CorpusScore chrf_score = [](const int64_t* s) { return chrf_from_statistics(s); };
  const auto sa = bleu_statistics(a, {refs}, BleuTokenize::None), sb = bleu_statistics(b, {refs}, BleuTokenize::None);
  const BootstrapInterval ia = bootstrap_interval(sa, bleu);
  CHECK(ia.score == Approx(38.0451397864).epsilon(1e-9));
  CHECK(ia.mean == Approx(37.5035971956).epsilon(1e-9));
  CHECK(ia.lo == Approx(23.1272056809).epsilon(1e-9));
  CHECK(ia.hi == Approx(50.1874106065).epsilon(1e-9));
  const BootstrapInterval ib = bootstrap_interval(sb, bleu);
  CHECK(ib.score == Approx(41.1736475381).epsilon(1e-9));
  CHECK(ib.lo == Approx(25.8375036232).epsilon(1e-9));
  CHECK(ib.hi == Approx(52.3536150447).epsilon(1e-9));
  const BootstrapInterval ca = bootstrap_interval(chrf_statistics(a, {refs}), chrf_score);
  CHECK(ca.score == Approx(61.4674039423).epsilon(1e-9));
  CHECK(ca.mean == Approx(61.3152193063).epsilon(1e-9));
  CHECK(ca.lo == Approx(54.4932079658).epsilon(1e-9));
  CHECK(ca.hi == Approx(68.0853886416).epsilon(1e-9));
  const PairedBootstrap p = paired_bootstrap(sa, sb, bleu);
  CHECK(p.p_value == Approx(0.2687312687).epsilon(1e-9));
  CHECK(p.baseline.lo == ia.lo);
  // Seeded: the same seed gives the same interval, another seed another.
  CHECK(bootstrap_interval(sa, bleu, 1000, 7).lo == bootstrap_interval(sa, bleu, 1000, 7).lo);
  CHECK(bootstrap_interval(sa, bleu, 1000, 7).lo != ia.lo);
  CHECK_THROWS_WITH(paired_bootstrap(sa, sa.subset({0, 1}), bleu), Catch::Matchers::Contains("40 and 2 sentences"));
}
