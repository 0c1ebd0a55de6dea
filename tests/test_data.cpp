// Vocabulary, tokenizer, TSV reader errors, the toy generator's rules, batches and the loader.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "helpers.hpp"

using namespace xg;
using namespace xg::data;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
std::string scratch_file(const std::string& name, const std::string& content) {
  fs::path dir = fs::path(XGRAD_BINARY_DIR) / "test_scratch";
  fs::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}
std::vector<std::string> words(const std::string& s) { return WhitespaceTokenizer().tokenize(s); }
}  // namespace

TEST_CASE("whitespace tokenizer", "[data]") {
  CHECK(words("  a\tb  c \r") == std::vector<std::string>{"a", "b", "c"});
  CHECK(WhitespaceTokenizer().detokenize({"x", "y"}) == "x y");
  CHECK(words("   ").empty());
}

TEST_CASE("real-text hygiene: BOM, CRLF, Unicode spaces, typographic quotes and accents", "[data][corpus]") {
  // A BOM on the first line, CRLF ends, a no-break space before "?" and a narrow one inside a
  // number (French typography), an ideographic space, a zero-width no-break space mid-word.
  const std::string nbsp = "\xc2\xa0", narrow_nbsp = "\xe2\x80\xaf", ideographic = "\xe3\x80\x80", bom = "\xef\xbb\xbf";
  const std::string text = bom + "“Hello”, café" + nbsp + "?\t«Bonjour»" + nbsp + "?\r\n" +  //
                           "10" + narrow_nbsp + "000 m\tdix" + ideographic + "mille mètres\r\n" +  //
                           "wo" + bom + "rd\tmot\r\n";
  const ParallelCorpus c = read_parallel_tsv(scratch_file("real.tsv", text));
  REQUIRE(c.pairs.size() == 3);
  CHECK(c.pairs[0].source == "“Hello”, café ?");  // BOM gone, quotes and accents kept
  CHECK(c.pairs[0].target == "«Bonjour» ?");      // no CR at the end
  CHECK(words(c.pairs[1].source) == std::vector<std::string>{"10", "000", "m"});
  CHECK(words(c.pairs[1].target) == std::vector<std::string>{"dix", "mille", "mètres"});
  CHECK(c.pairs[2].source == "word");
  CHECK(c.normalized_spaces == 3);
  CorpusReadOptions keep;
  keep.normalize_spaces = false;
  const ParallelCorpus k = read_parallel_tsv(scratch_file("real.tsv", text), keep);
  CHECK(k.normalized_spaces == 0);
  CHECK(words(k.pairs[1].source).size() == 2);  // "10 000" (narrow no-break space) stays one word
  CHECK(normalize_spaces(std::string("a\xe2\x80\x8a") + "b\xe1\x9a\x80" + "c\xe2\x81\x9f" + "d") == "a b c d");
  CHECK(normalize_spaces("\xe2\x80\x8b") == "\xe2\x80\x8b");  // U+200B is not a space separator
}

TEST_CASE("vocabulary: specials, frequency order, unknowns, save and load", "[data][vocab]") {
  const Vocabulary v = Vocabulary::build({words("b a b c"), words("b a d")}, 2);
  CHECK(v.size() == 6);
  CHECK(v.word(0) == "<pad>");
  CHECK(v.word(3) == "<eos>");
  CHECK(v.word(4) == "b");  // 3 occurrences
  CHECK(v.word(5) == "a");
  CHECK(v.id("c") == Vocabulary::kUnk);  // below min_freq
  CHECK(v.decode({4, 5, Vocabulary::kEos, 4}) == std::vector<std::string>{"b", "a"});
  CHECK(Vocabulary::build({words("b a b c")}, 1, 5).size() == 5);
  const auto path = scratch_file("vocab.txt", "");
  v.save(path);
  const Vocabulary w = Vocabulary::load(path);
  CHECK(w.size() == v.size());
  CHECK(w.id("a") == v.id("a"));
  CHECK_THROWS_WITH(Vocabulary::load(scratch_file("v2.txt", "<pad>\n<unk>\n<bos>\n<eos>\nx\nx\n")),
                    Contains("v2.txt:6") && Contains("duplicate"));
  CHECK_THROWS_WITH(Vocabulary::load(scratch_file("v3.txt", "<pad>\n<eos>\n")), Contains("v3.txt:2"));
  CHECK_THROWS_WITH(Vocabulary::load(scratch_file("v4.txt", "<pad>\n<unk>\n<bos>\n<eos>\n\xff\n")),
                    Contains("v4.txt:5") && Contains("UTF-8"));
  CHECK_THROWS_AS(v.word(99), IndexError);
}

TEST_CASE("TSV reader: malformed lines name file and line, or are skipped and counted", "[data][corpus]") {
  const auto good = scratch_file("good.tsv", "a b\tx y\r\nc\tz\n");
  const ParallelCorpus c = read_parallel_tsv(good);
  REQUIRE(c.pairs.size() == 2);
  CHECK(c.pairs[0].target == "x y");
  CHECK(c.pairs[1].source == "c");
  const std::map<std::string, std::string> bad = {
      {"no tab between source and target", "a\tb\nno tab here\n"},
      {"more than one tab", "a\tb\nx\ty\tz\n"},
      {"empty source side", "a\tb\n  \ty\n"},
      {"empty target side", "a\tb\nx\t\n"},
      {"invalid UTF-8", "a\tb\nx\xc3\x28\ty\n"}};
  for (const auto& [what, content] : bad) {
    const auto path = scratch_file("bad.tsv", content);
    CHECK_THROWS_WITH(read_parallel_tsv(path), Contains("bad.tsv:2: " + what));
    CorpusReadOptions skip;
    skip.skip_bad_lines = true;
    const ParallelCorpus s = read_parallel_tsv(path, skip);
    CHECK(s.skipped_bad == 1);
    CHECK(s.pairs.size() == 1);
    CHECK_THAT(s.first_error, Contains(":2:"));
  }
  CorpusReadOptions limit;
  limit.max_tokens = 2;
  const ParallelCorpus f = read_parallel_tsv(scratch_file("long.tsv", "a b c\tx\na\tx\n"), limit);
  CHECK(f.filtered_long == 1);
  CHECK(f.pairs.size() == 1);
  CHECK_THROWS_WITH(read_parallel_tsv(scratch_file("empty.tsv", "")), Contains("empty"));
  CHECK_THROWS_WITH(read_parallel_tsv(XGRAD_BINARY_DIR), Contains("directory"));
  CHECK_THROWS_WITH(read_parallel_tsv("/nonexistent/file.tsv"), Contains("/nonexistent/file.tsv") && Contains("cannot open"));
  const std::string big_line = std::string(1 << 20, 'a') + "\tb\n";
  CHECK(read_parallel_tsv(scratch_file("big.tsv", big_line)).pairs.size() == 1);
  limit.max_tokens = 10;
  std::string many;
  for (int i = 0; i < 20; ++i) many += "a ";
  CHECK_THROWS_WITH(read_parallel_tsv(scratch_file("big2.tsv", many + "\tb\n"), limit), Contains("1 too long"));
}

TEST_CASE("toy generator: determinism, exact lengths, agreement and alignment", "[data][toy]") {
  Generator g1(7), g2(7);
  for (int64_t len = kToyMinLength; len <= 50; ++len) {
    const ToyPair a = generate_toy_pair(g1, len), b = generate_toy_pair(g2, len);
    CHECK(a.pair.source == b.pair.source);
    const auto src = words(a.pair.source), tgt = words(a.pair.target);
    CHECK(static_cast<int64_t>(src.size()) == len);
    CHECK(tgt.size() == src.size());  // word for word, reordered
    REQUIRE(a.alignment.size() == tgt.size());
    CHECK(src.back() == ".");
    std::set<int64_t> aligned(a.alignment.begin(), a.alignment.end());
    CHECK(aligned.size() == src.size());  // a permutation
  }
  // Agreement: the determiner after the gender of its noun; adjectives agree and follow.
  const std::set<std::string> feminine_nouns = {"maison", "voiture", "table", "fleur", "riviere", "fille",
                                                "pomme", "ville", "porte", "lune", "montagne"};
  Generator g(3);
  for (int i = 0; i < 200; ++i) {
    const auto tgt = words(generate_toy_pair(g, 6 + i % 45).pair.target);
    for (std::size_t t = 0; t + 1 < tgt.size(); ++t) {
      const std::string& w = tgt[t];
      if (w != "le" && w != "la" && w != "un" && w != "une") continue;
      const bool fem = feminine_nouns.count(tgt[t + 1]) > 0;
      INFO(tgt[t] << " " << tgt[t + 1]);
      CHECK(fem == (w == "la" || w == "une"));
      if (t + 2 < tgt.size() && (tgt[t + 2] == "petite" || tgt[t + 2] == "petit")) CHECK((tgt[t + 2] == "petite") == fem);
    }
  }
  CHECK_THROWS_AS(generate_toy_pair(g, 5), Error);
}

TEST_CASE("toy generator, order sov: verb-final clauses, postpositions, plural markers, every source word aligned", "[data][toy]") {
  const std::set<std::string> verbs = {"voit", "mange", "aime", "prend", "trouve", "suit", "regarde", "transporte",
                                       "pousse", "entend", "appelle", "peint"};
  const std::set<std::string> prepositions = {"avec", "pres", "sous", "derriere", "sur", "sans"};
  Generator g(5);
  int64_t plurals = 0, postpositions = 0;
  for (int64_t len = kToyMinLength; len <= 100; ++len) {
    const ToyPair p = generate_toy_pair(g, len, "sov");
    const auto src = words(p.pair.source), tgt = words(p.pair.target);
    INFO(p.pair.source << " -> " << p.pair.target);
    REQUIRE(static_cast<int64_t>(src.size()) == len);
    REQUIRE(p.alignment.size() == tgt.size());
    std::set<int64_t> aligned(p.alignment.begin(), p.alignment.end());
    CHECK(aligned.size() == src.size());  // every source word translated
    for (std::size_t t = 0; t < tgt.size(); ++t) {
      const std::string& w = tgt[t];
      const std::string& s = src[static_cast<std::size_t>(p.alignment[t])];
      // A verb ends its clause: the next word is a conjunction or the period.
      if (verbs.count(w)) CHECK((tgt[t + 1] == "et" || tgt[t + 1] == "mais" || tgt[t + 1] == "pendant" || tgt[t + 1] == "."));
      // A postposition follows its noun phrase, whose first word its source preposition precedes.
      if (prepositions.count(w)) {
        ++postpositions;
        CHECK(p.alignment[t - 1] > p.alignment[t]);
      }
      // "ler" marks a plural noun ("cats", "cities"), the word it is aligned to.
      if (w == "ler") {
        ++plurals;
        CHECK(s.back() == 's');
      }
      if (w == "les" || w == "des") CHECK((s == "the" || s == "some"));
    }
  }
  CHECK(plurals > 20);
  CHECK(postpositions > 20);
  Generator same(5), other(5);
  CHECK(generate_toy_pair(same, 20, "svo").pair.source == generate_toy_pair(other, 20).pair.source);
  CHECK_THROWS_WITH(generate_toy_pair(same, 20, "vso"), Catch::Matchers::Contains("order 'vso'"));
}

TEST_CASE("toy corpus: disjoint splits and a stratified test set", "[data][toy]") {
  ToyConfig c;
  c.train_size = 3000, c.valid_size = 100, c.test_per_bucket = 40;
  const ToyCorpus a = generate_toy_corpus(c), b = generate_toy_corpus(c);
  CHECK(a.train.size() == 3000);
  CHECK(a.test.size() == 200);
  CHECK(a.train[123].pair.target == b.train[123].pair.target);
  std::set<std::string> test_src;
  std::map<int, int> per_bucket;
  for (const auto& p : a.test) {
    test_src.insert(p.pair.source);
    per_bucket[static_cast<int>((words(p.pair.source).size() - 1) / 10)]++;
  }
  for (int k = 0; k < 5; ++k) CHECK(per_bucket[k] == 40);
  for (const auto& p : a.train) CHECK(test_src.count(p.pair.source) == 0);
  for (const auto& p : a.valid) CHECK(test_src.count(p.pair.source) == 0);
  int64_t lo = 100, hi = 0;
  for (const auto& p : a.train) {
    const auto n = static_cast<int64_t>(words(p.pair.source).size());
    lo = std::min(lo, n), hi = std::max(hi, n);
  }
  CHECK(lo == kToyMinLength);
  CHECK(hi == 50);
}

TEST_CASE("toy corpus: train short, test long", "[data][toy]") {
  ToyConfig c;
  c.train_size = 2000, c.valid_size = 100, c.test_per_bucket = 10, c.max_len = 100, c.train_max_len = 30;
  const ToyCorpus split = generate_toy_corpus(c);
  for (const auto* part : {&split.train, &split.valid})
    for (const auto& p : *part) CHECK(words(p.pair.source).size() <= 30);
  std::map<int, int> per_bucket;
  for (const auto& p : split.test) {
    const auto n = words(p.pair.source).size();
    per_bucket[static_cast<int>((n - 1) / 10)]++;
    CHECK(p.alignment.size() == words(p.pair.target).size());  // gold alignments at every length
    for (int64_t s : p.alignment) CHECK(s < static_cast<int64_t>(n));
  }
  for (int k = 0; k < 10; ++k) CHECK(per_bucket[k] == 10);
  // The test split does not depend on the training lengths: the same seed, the same test set.
  c.train_max_len = 0, c.train_size = 50;
  const ToyCorpus all_lengths = generate_toy_corpus(c);
  REQUIRE(all_lengths.test.size() == split.test.size());
  for (std::size_t i = 0; i < split.test.size(); ++i) CHECK(all_lengths.test[i].pair.source == split.test[i].pair.source);
  c.train_max_len = 120;
  CHECK_THROWS_WITH(generate_toy_corpus(c), Catch::Contains("train_max_len 120"));
}

TEST_CASE("sources_up_to keeps the pairs with short enough sources, in order", "[data]") {
  const std::vector<SentencePair> pairs = {{"a b c", "x"}, {"a", "x y z w"}, {"a b c d", "x"}, {"a  b", "x"}};
  const auto kept = sources_up_to(pairs, 3);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].source == "a b c");
  CHECK(kept[1].source == "a");
  CHECK(kept[2].source == "a  b");
  CHECK(sources_up_to(pairs, 0).empty());
}

TEST_CASE("collate pads and shifts targets and masks mark padding", "[data][batch]") {
  const std::vector<Example> ex = {{{5, 6, 7}, {8, 9}}, {{5}, {8, 9, 10}}};
  const Batch b = collate(ex, {0, 1});
  CHECK(b.size == 2);
  CHECK(b.src_len == 3);
  CHECK(b.tgt_len == 4);
  CHECK(b.src == std::vector<int64_t>{5, 6, 7, 5, 0, 0});
  CHECK(b.tgt_in == std::vector<int64_t>{2, 8, 9, 0, 2, 8, 9, 10});
  CHECK(b.tgt_out == std::vector<int64_t>{8, 9, 3, 0, 8, 9, 10, 3});
  CHECK(b.src_lengths == std::vector<int64_t>{3, 1});
  CHECK(b.target_tokens() == 7);
  xgtest::require_close(b.src_padding_mask(), {0, 0, 0, 0, 1, 1});
  xgtest::require_close(b.tgt_padding_mask(), {0, 0, 0, 1, 0, 0, 0, 0});
}

TEST_CASE("slice_rows: a part of a batch, padded to its own longest sentences", "[data][batch]") {
  const std::vector<Example> ex = {{{5, 6, 7, 8}, {9}}, {{5}, {8, 9, 10}}, {{6, 7}, {8}}};
  const Batch b = collate(ex, {2, 0, 1});  // source 4 long, target 4 long
  const Batch tail = slice_rows(b, 1, 3);
  CHECK(tail.size == 2);
  CHECK(tail.src_len == 4);
  CHECK(tail.tgt_len == 4);
  CHECK(tail.src == std::vector<int64_t>{5, 6, 7, 8, 5, 0, 0, 0});
  CHECK(tail.indices == std::vector<std::size_t>{0, 1});
  const Batch one = slice_rows(b, 2, 3);  // trimmed: one source word, a 4-token target
  CHECK(one.src_len == 1);
  CHECK(one.src == std::vector<int64_t>{5});
  CHECK(one.tgt_in == std::vector<int64_t>{2, 8, 9, 10});
  CHECK(one.tgt_out == std::vector<int64_t>{8, 9, 10, 3});
  CHECK(one.src_lengths == std::vector<int64_t>{1});
  CHECK(one.tgt_lengths == std::vector<int64_t>{4});
  const Batch first = slice_rows(b, 0, 1);  // source 2, target 2 (8, <eos>)
  CHECK(first.src == std::vector<int64_t>{6, 7});
  CHECK(first.tgt_in == std::vector<int64_t>{2, 8});
  CHECK(first.tgt_out == std::vector<int64_t>{8, 3});
  CHECK(slice_rows(b, 0, 3).src == b.src);
  CHECK_THROWS_WITH(slice_rows(b, 2, 2), Catch::Contains("rows [2, 2) of a batch of 3"));
  CHECK_THROWS_WITH(slice_rows(b, 1, 4), Catch::Contains("rows [1, 4) of a batch of 3"));
  Batch broken = b;
  broken.src_lengths.pop_back();
  CHECK_THROWS_WITH(slice_rows(broken, 0, 1), Catch::Contains("2 source lengths"));
}

TEST_CASE("make_batches: every example once, within budget, similar lengths together", "[data][batch]") {
  Generator g(1);
  std::vector<Example> ex;
  for (int i = 0; i < 1000; ++i) {
    const auto n = static_cast<std::size_t>(1 + g.below(50));
    ex.push_back({std::vector<int64_t>(n, 5), std::vector<int64_t>(n, 6)});
  }
  BatchingOptions o;
  o.max_tokens = 400;
  const auto batches = make_batches(ex, o, 9, 0);
  std::vector<int> seen(ex.size(), 0);
  double spread = 0;
  for (const auto& b : batches) {
    std::size_t mx = 0, mn = 1000;
    for (auto i : b) ++seen[i], mx = std::max(mx, ex[i].src.size() + 1), mn = std::min(mn, ex[i].src.size() + 1);
    const bool within = static_cast<int64_t>(mx * b.size()) <= std::max<int64_t>(o.max_tokens, static_cast<int64_t>(mx));
    CHECK(within);
    spread += static_cast<double>(mx - mn);
  }
  for (int s : seen) CHECK(s == 1);
  CHECK(spread / static_cast<double>(batches.size()) < 3.0);  // bucketed: unbucketed batches span ~45
  CHECK(make_batches(ex, o, 9, 0) == batches);
  CHECK(make_batches(ex, o, 9, 1) != batches);
}

TEST_CASE("DataLoader yields every example exactly once per epoch and resumes mid-epoch", "[data][loader]") {
  std::vector<Example> ex;
  for (int i = 0; i < 300; ++i) ex.push_back({std::vector<int64_t>(static_cast<std::size_t>(1 + i % 17), 5), {6, 7}});
  BatchingOptions o;
  o.max_tokens = 64;
  const auto epoch0 = make_batches(ex, o, 4, 0);
  DataLoader loader(ex, o, 4);
  std::vector<int> seen(ex.size(), 0);
  std::vector<std::vector<std::size_t>> got;
  for (std::size_t i = 0; i < epoch0.size(); ++i) {
    const Batch b = loader.next();
    got.push_back(b.indices);
    for (auto k : b.indices) ++seen[k];
  }
  for (int s : seen) CHECK(s == 1);
  CHECK(got == epoch0);
  CHECK(loader.epoch() == 1);
  CHECK(loader.batch_in_epoch() == 0);
  const Batch first_of_1 = loader.next();
  CHECK(first_of_1.indices == make_batches(ex, o, 4, 1)[0]);
  DataLoader resumed(ex, o, 4, 0, 5);
  CHECK(resumed.next().indices == epoch0[5]);
}

TEST_CASE("DataLoader abandoned mid-epoch many times neither hangs nor leaks", "[data][loader]") {
  std::vector<Example> ex;
  for (int i = 0; i < 2000; ++i) ex.push_back({std::vector<int64_t>(static_cast<std::size_t>(1 + i % 40), 5), {6}});
  BatchingOptions o;
  o.max_tokens = 128;
  for (int round = 0; round < 200; ++round) {
    DataLoader loader(ex, o, static_cast<uint64_t>(round), 0, 0, 2);
    for (int k = 0; k < round % 5; ++k) loader.next();
  }
  SUCCEED("200 loaders destroyed mid-epoch");
}

TEST_CASE("make_batches: a max_batch near 2^62 neither wraps nor hangs", "[data][batch][reliability]") {
  // max_batch * 100 once wrapped to 0 and the sorting loop never advanced.
  std::vector<Example> ex;
  for (int i = 0; i < 50; ++i) ex.push_back({std::vector<int64_t>(static_cast<std::size_t>(1 + i % 7), 5), {6}});
  BatchingOptions o;
  o.max_tokens = 64;
  o.max_batch = int64_t{1} << 62;
  std::size_t total = 0;
  for (const auto& b : make_batches(ex, o, 3, 0)) total += b.size();
  CHECK(total == ex.size());
}
