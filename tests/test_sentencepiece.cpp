// SentencePiece subwords: learnt from synthetic text with a long-tailed vocabulary and Unicode,
// every training line encoded and decoded back, unseen characters spelt as bytes (never <unk>),
// and clear errors.
#include <filesystem>
#include <fstream>

#include "helpers.hpp"

using namespace xg;
using namespace xg::data;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
// Sentences over a Zipf-like vocabulary of 400 words, some with accents and typographic marks.
std::vector<std::string> synthetic_text(int lines) {
  const std::vector<std::string> stems = {"maison", "café", "élève", "naïve", "garçon", "Straße", "über", "“quote”",
                                          "l’hôtel", "déjà", "cœur", "smörgåsbord", "piñata", "Ærø", "fiancée"};
  std::vector<std::string> words;
  for (int i = 0; i < 400; ++i) words.push_back(stems[static_cast<std::size_t>(i) % stems.size()] + std::to_string(i));
  Generator gen(17);
  std::vector<std::string> out;
  for (int l = 0; l < lines; ++l) {
    std::string s;
    const int n = 3 + static_cast<int>(gen.below(12));
    for (int w = 0; w < n; ++w) {
      // rank ~ 1/u: a few words everywhere, most rare
      const double u = gen.uniform(0.0025, 1.0);
      const auto rank = std::min<std::size_t>(399, static_cast<std::size_t>(1.0 / u) - 1);
      s += (w ? " " : "") + words[rank];
    }
    out.push_back(s + (l % 3 == 0 ? " ?" : " ."));
  }
  return out;
}
std::string scratch(const std::string& name) {
  const fs::path dir = fs::path(XGRAD_BINARY_DIR) / "test_scratch";
  fs::create_directories(dir);
  return (dir / name).string();
}
}  // namespace

TEST_CASE("SentencePiece: every training line round-trips, unseen characters become bytes, not <unk>", "[data][spm]") {
  const auto lines = synthetic_text(600);
  for (const std::string type : {"unigram", "bpe"}) {
    INFO(type);
    SentencePieceOptions o;
    o.vocab_size = 330;
    o.model_type = type;
    const std::string path = scratch("spm_" + type + ".model");
    SentencePieceTokenizer::train(lines, path, o);
    const SentencePieceTokenizer spm(path);
    const Vocabulary vocab = spm.vocabulary();
    CHECK(vocab.size() == static_cast<int64_t>(spm.pieces().size()) + 4);
    CHECK(vocab.size() == 330 - 1 + 4);  // the model's <unk> is xgrad's
    std::size_t pieces = 0, words = 0;
    for (const auto& line : lines) {
      const auto p = spm.tokenize(line);
      pieces += p.size();
      words += WhitespaceTokenizer().tokenize(line).size();
      REQUIRE(spm.detokenize(p) == line);  // the synthetic lines are already in normal form
      for (auto id : vocab.encode(p)) REQUIRE(id != Vocabulary::kUnk);
    }
    CHECK(pieces > words);  // rare words are split
    // Words and characters never seen: spelt with known pieces and byte pieces.
    const std::string unseen = "Zürich ☃ 漢字 naïveté";
    const auto p = spm.tokenize(unseen);
    const auto ids = vocab.encode(p);
    CHECK(std::find(ids.begin(), ids.end(), Vocabulary::kUnk) == ids.end());
    CHECK(std::find(p.begin(), p.end(), "<0xE2>") != p.end());  // the snowman's first byte
    const std::string back = spm.detokenize(vocab.decode(ids));
    CHECK(back == unseen);
    CHECK(back.find("\xe2\x96\x81") == std::string::npos);  // no ▁
    // NFKC and whitespace: the fullwidth A becomes A, runs of spaces one, the ends trimmed
    CHECK(spm.normalize("  \xef\xbc\xa1  b ") == "A b");
  }
}

TEST_CASE("SentencePiece: a model trained twice on the same text is the same file", "[data][spm]") {
  const auto lines = synthetic_text(300);
  SentencePieceOptions o;
  o.vocab_size = 320;
  SentencePieceTokenizer::train(lines, scratch("spm_a.model"), o);
  SentencePieceTokenizer::train(lines, scratch("spm_b.model"), o);
  std::ifstream a(scratch("spm_a.model"), std::ios::binary), b(scratch("spm_b.model"), std::ios::binary);
  const std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
  CHECK(!sa.empty());
  CHECK(sa == sb);
}

TEST_CASE("SentencePiece: errors name the option or the file", "[data][spm]") {
  const auto lines = synthetic_text(50);
  SentencePieceOptions too_big;
  too_big.vocab_size = 100000;
  CHECK_THROWS_WITH(SentencePieceTokenizer::train(lines, scratch("spm_big.model"), too_big),
                    Contains("vocabulary 100000") && Contains("Vocabulary size"));
  SentencePieceOptions bad_type;
  bad_type.model_type = "word2vec";
  CHECK_THROWS_WITH(SentencePieceTokenizer::train(lines, scratch("spm_bad.model"), bad_type), Contains("word2vec"));
  CHECK_THROWS_WITH(SentencePieceTokenizer::train({}, scratch("spm_none.model")), Contains("no training lines"));
  const std::string junk = scratch("junk.model");
  std::ofstream(junk) << "not a model";
  CHECK_THROWS_AS(SentencePieceTokenizer(junk), FormatError);
  CHECK_THROWS_WITH(SentencePieceTokenizer(junk), Contains("junk.model"));
  CHECK_THROWS_WITH(Vocabulary::from_words({"a", "b", "a"}), Contains("word 2 ('a')"));
  CHECK_THROWS_WITH(Vocabulary::from_words({"<pad>"}), Contains("already"));
}
