// The translation example's pieces: sacreBLEU-compatible BLEU, buckets, search, and tiny
// end-to-end training runs of each model.
#include <filesystem>
#include <map>

#include "alignment.hpp"
#include "bleu.hpp"
#include "evaluate.hpp"
#include "plot.hpp"
#include "helpers.hpp"
#include "search.hpp"
#include "trainer.hpp"

using namespace xg;
using namespace xg::translation;
namespace fs = std::filesystem;

TEST_CASE("BLEU equals sacreBLEU's published values", "[translation][bleu]") {
  const std::vector<std::string> hyps = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
  const std::vector<std::vector<std::string>> refs = {
      {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
      {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};
  CHECK(corpus_bleu(hyps, refs).score == Approx(48.530827).epsilon(1e-7));
  CHECK(corpus_bleu(hyps, refs, BleuTokenize::None).score == Approx(49.1919566).epsilon(1e-7));
  CHECK(corpus_bleu({"this is a fest"}, {{"this is a test"}}).score == Approx(59.460356).epsilon(1e-7));
  CHECK(corpus_bleu({"a b c d e f g h"}, {{"a b c d e f g h i j"}}).score == Approx(77.880078).epsilon(1e-7));
  CHECK(corpus_bleu({"", ""}, {{"a b c", "d e f"}}).score == 0.0);
  CHECK(corpus_bleu({"a b c d"}, {{"a b c d"}}).score == Approx(100.0));
  CHECK_THROWS_AS(corpus_bleu({"a"}, {{"a", "b"}}), Error);
}

TEST_CASE("13a tokenisation splits punctuation like mteval-v13a", "[translation][bleu]") {
  CHECK(tokenize_13a("It wasn't surprising.") == "It wasn't surprising .");
  CHECK(tokenize_13a("costs $3.50, or 4-5 euros!") == "costs $ 3.50 , or 4 - 5 euros !");
  CHECK(tokenize_13a("a &amp; b &lt;c&gt;") == "a & b < c >");
  CHECK(tokenize_13a("(x)") == "( x )");
}

TEST_CASE("length buckets at their edges", "[translation]") {
  CHECK(bucket_of(1) == 0);
  CHECK(bucket_of(10) == 0);
  CHECK(bucket_of(11) == 1);
  CHECK(bucket_of(50) == 4);
  CHECK(bucket_of(51) == 5);
  CHECK(bucket_of(80) == 7);
  CHECK(bucket_of(81) == 8);
  CHECK(bucket_of(400) == 39);
  CHECK(bucket_count(80) == 8);
  CHECK(bucket_count(81) == 9);
}

TEST_CASE("evaluate's buckets run to the longest test source, empty ones included", "[translation]") {
  const auto sentence = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? " " : "") + std::string(i % 2 ? "b" : "a");
    return s;
  };
  const std::vector<data::SentencePair> pairs = {{sentence(3), "a"}, {sentence(25), "b"}, {sentence(73), "a b"}};
  const data::Vocabulary vocab = data::Vocabulary::build({{"a", "b"}});
  ModelConfig c = ModelConfig::defaults("rnn");
  c.src_vocab = c.tgt_vocab = vocab.size(), c.embedding = 8, c.hidden = 8;
  const auto model = make_model(c);
  SearchOptions greedy;
  const EvalResult e = evaluate(*model, word_codec(vocab, vocab), pairs, greedy);
  REQUIRE(e.buckets.size() == 8);
  CHECK(e.buckets[7].lo == 71);
  CHECK(e.buckets[7].hi == 80);
  CHECK(e.buckets[7].n == 1);
  CHECK(e.buckets[2].n == 1);
  CHECK(e.buckets[5].n == 0);
  CHECK(longest_source(pairs) == 73);
}

TEST_CASE("keep_training_length (--train-max-len) keeps short training and validation pairs and refuses an empty split", "[translation]") {
  TrainData d{{{"a b c", "x"}, {"a b c d e", "x"}}, {{"a b", "x"}, {"a b c d", "x"}}};
  const TrainData kept = keep_training_length(d, 3);
  CHECK(kept.train.size() == 1);
  CHECK(kept.valid.size() == 1);
  CHECK(keep_training_length(d, 0).train.size() == 2);
  CHECK_THROWS_WITH(keep_training_length(d, 2), Catch::Contains("--train-max-len 2") && Catch::Contains("training"));
}

namespace {
TrainData tiny_data(int64_t n, uint64_t seed) {
  data::ToyConfig toy;
  toy.seed = seed, toy.train_size = n, toy.valid_size = 16, toy.test_per_bucket = 0, toy.max_len = 12;
  const data::ToyCorpus c = data::generate_toy_corpus(toy);
  TrainData d;
  for (const auto& p : c.train) d.train.push_back(p.pair);
  for (const auto& p : c.valid) d.valid.push_back(p.pair);
  return d;
}

// `rows` sentences of ids 4-11, 1 to max_src words each, collated in order; targets of 1 to
// max_tgt words, or the one word 4 when max_tgt is 0.
data::Batch random_batch(int64_t rows, int64_t max_src, int64_t max_tgt, uint64_t seed) {
  std::vector<data::Example> ex;
  Generator gen(seed);
  for (int64_t i = 0; i < rows; ++i) {
    data::Example e;
    for (int64_t j = 0, n = 1 + static_cast<int64_t>(gen.below(max_src)); j < n; ++j)
      e.src.push_back(4 + static_cast<int64_t>(gen.below(8)));
    if (max_tgt == 0) e.tgt = {4};
    for (int64_t j = 0, n = max_tgt ? 1 + static_cast<int64_t>(gen.below(max_tgt)) : 0; j < n; ++j)
      e.tgt.push_back(4 + static_cast<int64_t>(gen.below(8)));
    ex.push_back(e);
  }
  std::vector<std::size_t> order(ex.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  return data::collate(ex, order);
}

// A model of each kind at test size: vocabularies of 12, one layer, no dropout.
ModelConfig tiny_model_config(const std::string& name) {
  ModelConfig c = ModelConfig::defaults(name);
  c.src_vocab = c.tgt_vocab = 12;
  c.embedding = 16, c.hidden = 32, c.attention = 16, c.d_model = 16, c.ff = 32, c.heads = 2;
  c.encoder_layers = c.decoder_layers = 1, c.dropout = 0;
  return c;
}

std::string scratch_dir(const std::string& name, bool empty = true) {
  const auto dir = fs::path(XGRAD_BINARY_DIR) / "test_scratch" / name;
  if (empty) fs::remove_all(dir);
  return dir.string();
}

// The final training states of `steps` steps in one run (NAME_full) and of `first` steps, then
// --resume to `steps` (NAME_half).
std::pair<SafetensorsFile, SafetensorsFile> uninterrupted_and_resumed(TrainOptions o, const TrainData& d, int64_t steps,
                                                                      int64_t first, const std::string& name) {
  const std::string full = scratch_dir(name + "_full"), half = scratch_dir(name + "_half");
  o.out_dir = full;
  o.train.steps = steps;
  train_model(o, d);
  o.out_dir = half;
  o.train.steps = first;
  train_model(o, d);
  o.train.steps = steps;
  o.resume = true;
  CHECK(train_model(o, d).steps == steps);
  return {load_safetensors(full + "/state.safetensors"), load_safetensors(half + "/state.safetensors")};
}
}  // namespace

TEST_CASE("each model overfits a handful of pairs to exact match and beam 1 equals greedy", "[translation][e2e]") {
  for (const std::string model : {"rnn", "bahdanau", "transformer"}) {
    INFO(model);
    TrainData d = tiny_data(8, 3);
    d.valid = d.train;
    TrainOptions o;
    o.model = ModelConfig::defaults(model);
    o.model.embedding = 32, o.model.hidden = 64, o.model.attention = 32;
    o.model.d_model = 32, o.model.ff = 64, o.model.encoder_layers = 1, o.model.decoder_layers = 1, o.model.dropout = 0;
    o.train.steps = model == "transformer" ? 300 : 200;
    o.train.lr = model == "transformer" ? 3e-3 : 1e-2;
    o.train.warmup = 30;
    o.train.valid_every = 100;
    o.train.save_every = 100;
    o.out_dir = scratch_dir("overfit_" + model);
    o.quiet = true;
    const TrainResult r = train_model(o, d);
    CHECK(r.last_train_loss < 0.1);
    LoadedModel m = load_trained(o.out_dir);
    SearchOptions greedy, beam1, beam4;
    beam1.beam = 1;
    beam4.beam = 4;
    const EvalResult e = evaluate(*m.model, m.codec, d.train, greedy);
    CHECK(e.exact == 100.0);
    CHECK(e.bleu == Approx(100.0));
    std::vector<std::string> src;
    for (const auto& p : d.train) src.push_back(p.source);
    const auto g = translate_sentences(*m.model, m.codec, src, greedy);
    const auto b1 = translate_sentences(*m.model, m.codec, src, beam1);
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i].tokens == b1[i].tokens);
    // Forced decoding of the references (which greedy search reproduces) gives greedy's scores.
    const auto forced = score_references(*m.model, m.codec, d.train);
    for (std::size_t i = 0; i < g.size(); ++i) {
      CHECK(forced[i].logprob == Approx(g[i].score).epsilon(1e-5));
      CHECK(forced[i].tokens.size() == g[i].tokens.size() + 1);
    }
    CHECK(evaluate(*m.model, m.codec, d.train, beam4).exact == 100.0);
    for (const char* f : {"config.json", "src.vocab", "tgt.vocab", "model.safetensors", "state.safetensors", "log.csv"})
      CHECK(fs::exists(o.out_dir + "/" + f));
  }
}

TEST_CASE("each position encoding's transformer overfits a handful of pairs to exact match", "[translation][e2e]") {
  for (const std::string model : {"transformer-learned", "transformer-alibi", "transformer-t5", "transformer-nope",
                                  "decoder-only", "decoder-only-rotary", "decoder-only-t5", "decoder-only-nope"}) {
    INFO(model);
    TrainData d = tiny_data(8, 3);
    d.valid = d.train;
    TrainOptions o;
    o.model = ModelConfig::defaults(model);
    o.model.d_model = 32, o.model.ff = 64, o.model.encoder_layers = 1, o.model.decoder_layers = 1, o.model.dropout = 0;
    o.train.steps = 300, o.train.lr = 3e-3, o.train.warmup = 30, o.train.valid_every = 100, o.train.save_every = 300;
    o.out_dir = scratch_dir("overfit_" + model);
    o.quiet = true;
    CHECK(train_model(o, d).last_train_loss < 0.1);
    LoadedModel m = load_trained(o.out_dir);
    CHECK(evaluate(*m.model, m.codec, d.train, SearchOptions{}).exact == 100.0);
  }
}

TEST_CASE("each model's decoding steps give the log-probabilities of its teacher-forced forward", "[translation][decode]") {
  // The step path (encode once, then cached state) is written separately from forward for
  // speed; both must compute the same function.
  data::Batch b;
  b.size = 3, b.src_len = 6, b.tgt_len = 5;
  b.src_lengths = {6, 4, 2}, b.tgt_lengths = {5, 5, 5};
  Generator gen(11);
  for (int64_t i = 0; i < b.size; ++i) {
    for (int64_t j = 0; j < b.src_len; ++j)
      b.src.push_back(j < b.src_lengths[i] ? 4 + static_cast<int64_t>(gen.next_u64() % 8) : data::Vocabulary::kPad);
    for (int64_t j = 0; j < b.tgt_len; ++j) b.tgt_in.push_back(4 + static_cast<int64_t>(gen.next_u64() % 8));
  }
  b.tgt_out = b.tgt_in;
  for (const std::string name : {"rnn", "bahdanau", "transformer", "transformer-learned", "transformer-alibi",
                                 "transformer-t5", "transformer-nope", "decoder-only", "decoder-only-rotary",
                                 "decoder-only-t5", "decoder-only-nope"}) {
    INFO(name);
    ModelConfig c = ModelConfig::defaults(name);
    c.src_vocab = c.tgt_vocab = 12;  // fewer words than tokens: Embedding::project looks up projected rows
    c.embedding = 16, c.hidden = 32, c.attention = 16, c.d_model = 16, c.ff = 32, c.heads = 2;
    c.encoder_layers = c.decoder_layers = 2, c.dropout = 0;
    manual_seed(5);
    const auto model = make_model(c);
    model->eval();
    NoGradGuard no_grad;
    const std::vector<double> forward = log_softmax(model->forward(b), -1).to_vector();  // (B, T, V)
    const auto state = model->start(b);
    for (int64_t t = 0; t < b.tgt_len; ++t) {
      std::vector<int64_t> previous;
      for (int64_t i = 0; i < b.size; ++i) previous.push_back(b.tgt_in[i * b.tgt_len + t]);
      const std::vector<double> step = model->step(*state, previous).to_vector();  // (B, V)
      for (int64_t i = 0; i < b.size; ++i)
        for (int64_t v = 0; v < c.tgt_vocab; ++v)
          REQUIRE(step[i * c.tgt_vocab + v] ==
                  Approx(forward[(i * b.tgt_len + t) * c.tgt_vocab + v]).margin(2e-5));
    }
  }
}

TEST_CASE("decoding in one part per thread gives the translations of the whole batch", "[translation][decode][threads]") {
  // 50 sentences of 1-12 words: 2 threads decode rows [0, 32) and [32, 50), 3 threads [0, 24),
  // [24, 48) and [48, 50), each part padded to its own longest source.
  const data::Batch batch = random_batch(50, 12, 0, 23);
  const int saved_threads = num_threads();
  for (const std::string name : {"rnn", "bahdanau", "transformer", "decoder-only"}) {
    const ModelConfig c = tiny_model_config(name);
    manual_seed(7);
    const auto model = make_model(c);
    for (const int64_t beam : {1, 3}) {
      INFO(name << ", beam " << beam);
      SearchOptions o;
      o.beam = beam;
      o.keep_attention = true;
      set_num_threads(1);
      const std::vector<Hypothesis> whole = translate_batch(*model, batch, o);
      int64_t tokens = 0;
      for (const auto& h : whole) tokens += static_cast<int64_t>(h.tokens.size());
      CHECK(tokens > 100);  // an untrained model, but not one that stops at once
      for (const int threads : {2, 3}) {
        set_num_threads(threads);
        const std::vector<Hypothesis> parts = translate_batch(*model, batch, o);
        REQUIRE(parts.size() == whole.size());
        for (std::size_t i = 0; i < whole.size(); ++i) {
          REQUIRE(parts[i].tokens == whole[i].tokens);
          CHECK(parts[i].score == Approx(whole[i].score).margin(1e-4));
          REQUIRE(parts[i].attention.size() == whole[i].attention.size());
          for (std::size_t t = 0; t < whole[i].attention.size(); ++t) {
            // each part's attention rows are as long as its own sources; the rest was padding (0)
            const auto& a = parts[i].attention[t];
            const auto& w = whole[i].attention[t];
            REQUIRE(a.size() <= w.size());
            for (std::size_t s = 0; s < w.size(); ++s) CHECK(w[s] == Approx(s < a.size() ? a[s] : 0.0).margin(1e-5));
          }
        }
      }
    }
    // An error inside a part (a source word outside the vocabulary) reaches the caller.
    data::Batch bad = batch;
    bad.src[static_cast<std::size_t>(40 * bad.src_len)] = 99;
    set_num_threads(2);
    model->train();
    CHECK_THROWS_AS(translate_batch(*model, bad, SearchOptions{}), IndexError);
    CHECK(model->is_training());
  }
  set_num_threads(saved_threads);
}

TEST_CASE("a model's fused loss equals cross_entropy of its logits, tied embeddings share one table", "[translation][loss]") {
  const data::Batch batch = random_batch(6, 7, 7, 41);
  for (const std::string name : {"transformer", "decoder-only"})
  for (const std::string tie : {"none", "decoder", "all"}) {
    INFO(name << ", tie " << tie);
    ModelConfig c = tiny_model_config(name);
    c.tie_embeddings = tie;
    c.tokenizer = "spm";  // "all" needs one shared vocabulary
    c.validate();
    manual_seed(5);
    const auto model = make_model(c);
    std::map<std::string, Tensor> params;
    for (const auto& [name, p] : model->named_parameters()) params[name] = p;
    CHECK(params.count("output.weight") == (tie == "none" ? 1u : 0u));
    CHECK(params.count("output_bias") == (tie == "none" ? 0u : 1u));
    CHECK(params.count("src_embedding.weight") == (tie == "all" ? 0u : 1u));
    const auto grads_of = [&](const Tensor& loss) {
      for (auto p : model->parameters()) p.zero_grad();
      loss.backward();
      std::vector<std::vector<double>> g;
      for (const auto& p : model->parameters()) g.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<double>{});
      return g;
    };
    const Tensor fused = model->loss(batch, 0.1);
    const double fused_value = fused.item();
    const auto fused_grads = grads_of(fused);
    const Tensor composed = cross_entropy(model->forward(batch), batch.tgt_out, data::Vocabulary::kPad, 0.1);
    CHECK(fused_value == Approx(composed.item()).epsilon(1e-5));
    const auto composed_grads = grads_of(composed);
    REQUIRE(fused_grads.size() == composed_grads.size());
    for (std::size_t i = 0; i < fused_grads.size(); ++i)
      for (std::size_t j = 0; j < fused_grads[i].size(); ++j)
        REQUIRE(fused_grads[i][j] == Approx(composed_grads[i][j]).margin(2e-6));
  }
  for (const std::string name : {"rnn", "bahdanau"}) {  // their fused losses too
    INFO(name);
    manual_seed(5);
    const auto model = make_model(tiny_model_config(name));
    const Tensor fused = model->loss(batch, 0.1);
    const Tensor composed = cross_entropy(model->forward(batch), batch.tgt_out, data::Vocabulary::kPad, 0.1);
    CHECK(fused.item() == Approx(composed.item()).epsilon(1e-5));
    fused.backward();
    std::vector<std::vector<double>> g;
    for (auto p : model->parameters()) g.push_back(p.grad().to_vector()), p.zero_grad();
    composed.backward();
    const auto params = model->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto composed_grad = params[i].grad().to_vector();
      for (std::size_t j = 0; j < g[i].size(); ++j) REQUIRE(g[i][j] == Approx(composed_grad[j]).margin(2e-6));
    }
  }
  ModelConfig word = tiny_model_config("transformer");
  word.tie_embeddings = "all";
  CHECK_THROWS_WITH(word.validate(), Catch::Matchers::Contains("one vocabulary for both languages"));
  ModelConfig rnn = tiny_model_config("rnn");
  rnn.tie_embeddings = "decoder";
  CHECK_THROWS_WITH(rnn.validate(), Catch::Matchers::Contains("applies to the transformer"));
}

TEST_CASE("forward_backward in one part per thread gives the whole batch's loss and gradients", "[translation][threads]") {
  const data::Batch batch = random_batch(40, 9, 9, 29);  // 2 threads: rows [0, 24) and [24, 40)
  const int saved_threads = num_threads();
  for (const std::string name : {"rnn", "bahdanau", "transformer", "decoder-only"}) {
    INFO(name);
    const ModelConfig c = tiny_model_config(name);
    manual_seed(3);
    const auto model = make_model(c);
    std::vector<std::vector<double>> grads[2];
    double losses[2];
    for (const int threads : {1, 2}) {
      set_num_threads(threads);
      for (auto p : model->parameters()) p.zero_grad();
      losses[threads - 1] = forward_backward(*model, batch, 0.1);
      for (const auto& p : model->parameters()) grads[threads - 1].push_back(p.grad().to_vector());
    }
    CHECK(losses[1] == Approx(losses[0]).epsilon(1e-6));
    for (std::size_t i = 0; i < grads[0].size(); ++i)
      for (std::size_t j = 0; j < grads[0][i].size(); ++j) REQUIRE(grads[1][i][j] == Approx(grads[0][i][j]).margin(1e-6));
  }
  set_num_threads(saved_threads);
}

TEST_CASE("resume continues from the same step with identical results", "[translation][resume]") {
  const TrainData d = tiny_data(64, 5);
  TrainOptions o;
  o.model = ModelConfig::defaults("bahdanau");
  o.model.embedding = 16, o.model.hidden = 32, o.model.attention = 16;
  o.train.valid_every = 10, o.train.save_every = 10, o.train.max_tokens = 200, o.train.max_batch = 8;
  o.quiet = true;
  const auto [a, b] = uninterrupted_and_resumed(o, d, 20, 10, "resume");
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].first);
    CHECK(a.tensors[i].first == b.tensors[i].first);
    CHECK(a.tensors[i].second.to_vector() == b.tensors[i].second.to_vector());  // bit-exact, one thread
  }
  CHECK(a.metadata.at("step") == "20");
  CHECK(b.metadata.at("step") == "20");
}

TEST_CASE("config.json with a missing or wrong-typed field is a clear error", "[translation][config]") {
  const ModelConfig c = ModelConfig::defaults("transformer");
  const ModelConfig back = ModelConfig::from_json(c.to_json(), "config.json");
  CHECK(back.d_model == c.d_model);
  CHECK(back.pre_ln == c.pre_ln);
  using Catch::Matchers::Contains;
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string s = c.to_json();
    const auto p = s.find(from);
    REQUIRE(p != std::string::npos);
    return s.replace(p, from.size(), to);
  };
  CHECK_THROWS_WITH(ModelConfig::from_json(edited("\"heads\": 4,", ""), "dir/config.json"),
                    Contains("dir/config.json") && Contains("missing field 'heads'"));
  CHECK_THROWS_WITH(ModelConfig::from_json(edited("\"heads\": 4", "\"heads\": \"four\""), "config.json"),
                    Contains("'heads' must be a non-negative integer"));
  CHECK_THROWS_WITH(ModelConfig::from_json(edited("\"pre_ln\": true", "\"pre_ln\": 1"), "config.json"), Contains("'pre_ln'"));
  CHECK_THROWS_WITH(ModelConfig::from_json(edited("\"model\": \"transformer\"", "\"model\": \"lstm\""), "config.json"),
                    Contains("unknown model 'lstm'"));
  CHECK_THROWS_WITH(ModelConfig::from_json("{", "config.json"), Contains("not valid JSON"));
  CHECK_THROWS_WITH(ModelConfig::from_json(edited("\"dropout\": 0.1", "\"dropout\": 1.5"), "config.json"), Contains("'dropout'"));
  // The attention-family fields: optional (older checkpoints), typed, and checked against the model.
  CHECK(ModelConfig::from_json(edited("\"attention_kind\": \"standard\",", ""), "config.json").attention_kind == "standard");
  CHECK_THROWS_WITH(ModelConfig::from_json(edited("\"positions\": \"sinusoidal\"", "\"positions\": 3"), "config.json"),
                    Contains("'positions' must be a string"));
  CHECK_THROWS_WITH(ModelConfig::from_json(edited("\"attention_kind\": \"standard\"", "\"attention_kind\": \"local\""), "config.json"),
                    Contains("config.json") && Contains("does not apply to the transformer"));
  const ModelConfig window = ModelConfig::defaults("transformer-window");
  CHECK(window.model == "transformer");
  CHECK(ModelConfig::from_json(window.to_json(), "config.json").attention_kind == "window");
  CHECK(ModelConfig::defaults("transformer-mqa").kv_heads == 1);
  CHECK(ModelConfig::defaults("transformer-rotary+sinusoidal").positions == "both");
  for (const char* p : {"learned", "alibi", "t5", "nope"}) CHECK(ModelConfig::defaults(std::string("transformer-") + p).positions == p);
  ModelConfig biased_window = ModelConfig::defaults("transformer-alibi");
  biased_window.attention_kind = "window";
  CHECK_THROWS_WITH(biased_window.validate(), Contains("positions 'alibi'") && Contains("'window'"));
  ModelConfig rnn_t5 = ModelConfig::defaults("rnn");
  rnn_t5.positions = "t5";
  CHECK_THROWS_WITH(rnn_t5.validate(), Contains("positions 't5' do not apply to the rnn"));
  CHECK_THROWS_WITH(ModelConfig::defaults("rnn-window"), Contains("unknown model variant"));
}

namespace {
// A "model" whose attention is given: source_attention returns attention to source position
// (t + shift) for target row t, so its alignment error rate is known in advance.
class FixedAttention : public Seq2Seq {
 public:
  explicit FixedAttention(int64_t shift) : Seq2Seq("FixedAttention"), shift_(shift) {}
  Tensor forward(const data::Batch&) override { throw Error("unused"); }
  std::unique_ptr<DecoderState> start(const data::Batch&) override { throw Error("unused"); }
  Tensor step(DecoderState&, const std::vector<int64_t>&) override { throw Error("unused"); }
  std::vector<std::pair<std::string, Tensor>> source_attention(const data::Batch& b) override {
    std::vector<double> w(static_cast<std::size_t>(b.size * b.tgt_len * b.src_len), 0.0);
    for (int64_t r = 0; r < b.size; ++r)
      for (int64_t t = 0; t < b.tgt_len; ++t)
        w[static_cast<std::size_t>((r * b.tgt_len + t) * b.src_len + std::min(t + shift_, b.src_lengths[r] - 1))] = 1.0;
    return {{"fixed", Tensor::from_vector(w, {b.size, b.tgt_len, b.src_len})}};
  }

 private:
  int64_t shift_;
};
}  // namespace

TEST_CASE("alignment error rate of known attention, and Pharaoh alignment files", "[translation][alignment]") {
  const data::Vocabulary vocab = data::Vocabulary::build({{"a", "b", "c", "d"}});
  const TextCodec codec = word_codec(vocab, vocab);
  const std::vector<data::SentencePair> pairs = {{"a b c d", "a b c d"}, {"a b", "b a"}};
  const std::vector<std::vector<int64_t>> diagonal = {{0, 1, 2, 3}, {0, 1}}, swapped = {{0, 1, 2, 3}, {1, 0}};
  FixedAttention exact(0), shifted(1);
  CHECK(evaluate_alignment(exact, codec, pairs, diagonal).best_head.aer == Approx(0.0));
  // Against `swapped`, the diagonal misses both words of the second pair: 2 of 6 links.
  const AlignmentResult r = evaluate_alignment(exact, codec, pairs, swapped);
  CHECK(r.best_head.aer == Approx(100.0 * 2 / 6));
  CHECK(r.best_head.by_bucket[0] == Approx(100.0 * 2 / 6));
  CHECK(r.best_head.by_bucket.size() == 1);  // buckets up to the longest source (4 words)
  // Shifted by one (clamped at the last word): right only on the last word of each sentence.
  CHECK(evaluate_alignment(shifted, codec, pairs, diagonal).best_head.aer == Approx(100.0 * 4 / 6));
  CHECK_THROWS_AS(evaluate_alignment(exact, codec, pairs, {{0, 1, 2}, {0, 1}}), Error);  // 3 links for 4 words
  CHECK_THROWS_AS(evaluate_alignment(exact, codec, pairs, {{0, 1, 2, 9}, {0, 1}}), Error);

  CHECK(format_alignment({0, 2, 1}) == "0-0 2-1 1-2");
  const std::string dir = scratch_dir("alignment");
  fs::create_directories(dir);
  write_text_file(dir + "/good.align", "0-0 2-1 1-2\n1-1 0-0\n");
  CHECK(read_alignments(dir + "/good.align") == std::vector<std::vector<int64_t>>{{0, 2, 1}, {0, 1}});
  write_text_file(dir + "/gap.align", "0-0 1-2\n");
  CHECK_THROWS_WITH(read_alignments(dir + "/gap.align"), Catch::Contains("gap.align:1") && Catch::Contains("target word 1"));
  // The toy corpus's gold alignments are permutations: every source word is translated once.
  data::ToyConfig toy;
  toy.train_size = 50, toy.valid_size = 5, toy.test_per_bucket = 0;
  for (const auto& p : data::generate_toy_corpus(toy).train) {
    std::vector<int64_t> sorted = p.alignment;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) REQUIRE(sorted[i] == static_cast<int64_t>(i));
  }
}

namespace {
// Log-probability of emitting `tokens` then <eos> for the one sentence of `b`, step by step.
double sequence_logprob(Seq2Seq& model, const data::Batch& b, const std::vector<int64_t>& tokens) {
  auto state = model.start(b);
  int64_t prev = data::Vocabulary::kBos;
  double total = 0;
  for (std::size_t i = 0; i <= tokens.size(); ++i) {
    const int64_t tok = i < tokens.size() ? tokens[i] : data::Vocabulary::kEos;
    const auto lp = model.step(*state, {prev}).to_vector();
    total += lp[static_cast<std::size_t>(tok)];
    prev = tok;
  }
  return total;
}
}  // namespace

TEST_CASE("beam search finds the exhaustive search's best normalised hypothesis for every length penalty",
          "[translation][beam]") {
  // Tiny random models with a target vocabulary of 6 and outputs of at most 3 words plus <eos>:
  // every output (156 of them) scored exhaustively. A beam of 216 keeps every prefix, so only the
  // stopping rule can make beam search miss the best. (A beam of the vocabulary's size prunes:
  // with it, 10 of these 72 cases differ from the exhaustive search.) With
  // alpha > 0 a live beam's normalised score can still rise as it grows: bounding live beams by
  // their current normalised score, the rule before, returns a worse hypothesis for the
  // transformer, source 2, alpha 2.
  NoGradGuard no_grad;
  for (const std::string name : {"rnn", "bahdanau", "transformer"}) {
    ModelConfig c = tiny_model_config(name);
    c.tgt_vocab = 6;
    manual_seed(11);
    auto model = make_model(c);
    model->eval();
    for (auto& [pname, p] : model->named_parameters())  // peaked distributions: fewer near-ties
      if (pname.rfind("output.", 0) == 0) p.copy_(p * 6.0);
    std::vector<std::vector<int64_t>> outputs = {{}};
    for (std::size_t from = 0; outputs.back().size() < 3;) {
      const std::size_t to = outputs.size();
      for (std::size_t i = from; i < to; ++i)
        for (int64_t w = 0; w < 6; ++w)
          if (w != data::Vocabulary::kEos) {
            auto longer = outputs[i];
            longer.push_back(w);
            outputs.push_back(longer);
          }
      from = to;
    }
    REQUIRE(outputs.size() == 156);
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      const data::Batch b = random_batch(1, 6, 0, seed);
      std::vector<double> logp;
      for (const auto& out : outputs) logp.push_back(sequence_logprob(*model, b, out));
      for (double alpha : {0.0, 0.6, 1.0, 2.0}) {
        SearchOptions o;
        o.beam = 216, o.length_penalty = alpha, o.max_len_a = 0, o.max_len_b = 4;
        std::size_t best = 0;
        auto normalized = [&](std::size_t i) { return logp[i] / std::pow(static_cast<double>(outputs[i].size() + 1), alpha); };
        for (std::size_t i = 1; i < outputs.size(); ++i)
          if (normalized(i) > normalized(best)) best = i;
        const Hypothesis h = translate_batch(*model, b, o)[0];
        INFO(name << " source seed " << seed << " alpha " << alpha);
        CHECK(h.tokens == outputs[best]);
        CHECK(h.normalized_score == Approx(normalized(best)).epsilon(1e-9));
        CHECK(h.score == Approx(logp[best]).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("n-best lists come in order of normalised score, the first being the 1-best", "[translation][beam]") {
  NoGradGuard no_grad;
  ModelConfig c = tiny_model_config("bahdanau");
  manual_seed(5);
  auto model = make_model(c);
  const data::Batch b = random_batch(3, 6, 0, 9);
  SearchOptions one, five;
  one.beam = five.beam = 5;
  five.nbest = 5;
  const auto best = translate_batch(*model, b, one), lists = translate_batch(*model, b, five);
  for (std::size_t r = 0; r < 3; ++r) {
    CHECK(lists[r].tokens == best[r].tokens);
    REQUIRE(lists[r].alternatives.size() == 4);
    double previous = lists[r].normalized_score;
    for (const auto& h : lists[r].alternatives) {
      CHECK(h.normalized_score <= previous);
      CHECK(h.tokens != lists[r].tokens);
      previous = h.normalized_score;
    }
  }
  SearchOptions too_many;
  too_many.beam = 2, too_many.nbest = 3;
  CHECK_THROWS_WITH(translate_batch(*model, b, too_many), Catch::Matchers::Contains("beam of at least 3"));
}

namespace {
// A quiet RNN of embedding 16 and hidden 32: small enough for a run of tens of steps per test.
TrainOptions small_rnn_options() {
  TrainOptions o;
  o.model = ModelConfig::defaults("rnn");
  o.model.embedding = 16, o.model.hidden = 32;
  o.quiet = true;
  return o;
}
}  // namespace

TEST_CASE("EMA, reduce-on-plateau, patience and kept checkpoints resume exactly", "[translation][resume]") {
  const TrainData d = tiny_data(64, 5);
  TrainOptions o = small_rnn_options();
  o.train.valid_every = 5, o.train.save_every = 10, o.train.max_tokens = 200, o.train.max_batch = 8;
  o.train.valid_sentences = 8;
  o.train.ema_decay = 0.9, o.train.keep_last = 2, o.train.plateau_factor = 0.5, o.train.plateau_patience = 1;
  o.train.lr = 0.3;  // too high to keep improving: the plateau rule fires
  const auto [a, b] = uninterrupted_and_resumed(o, d, 30, 10, "extras");
  const std::string full = scratch_dir("extras_full", false);
  REQUIRE(a.tensors.size() == b.tensors.size());
  int ema_tensors = 0;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].first);
    ema_tensors += a.tensors[i].first.rfind("ema.", 0) == 0;
    CHECK(a.tensors[i].second.to_vector() == b.tensors[i].second.to_vector());  // bit-exact, one thread
  }
  CHECK(ema_tensors > 0);
  CHECK(a.metadata.at("lr_scale") == b.metadata.at("lr_scale"));
  CHECK(std::stod(a.metadata.at("lr_scale")) < 1.0);  // the plateau rule lowered the rate
  CHECK(a.metadata.at("validations_since_best") == b.metadata.at("validations_since_best"));
  // --keep-last 2: the saves of steps 30 and 20, and averaging them is their mean.
  const auto kept = recent_checkpoints(full);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].first == 30);
  CHECK(kept[1].first == 20);
  const std::string averaged = scratch_dir("extras_average");
  CHECK(average_checkpoints(full, 2, averaged) == std::vector<int64_t>{30, 20});
  const SafetensorsFile c30 = load_safetensors(kept[0].second), c20 = load_safetensors(kept[1].second);
  const SafetensorsFile avg = load_safetensors(averaged + "/model.safetensors");
  for (std::size_t i = 0; i < avg.tensors.size(); ++i) {
    const auto x = c30.tensors[i].second.to_vector(), y = c20.tensors[i].second.to_vector(), m = avg.tensors[i].second.to_vector();
    for (std::size_t k = 0; k < m.size(); ++k) CHECK(m[k] == Approx((x[k] + y[k]) / 2).epsilon(1e-6));
  }
  CHECK(load_trained(averaged).model != nullptr);
  CHECK_THROWS_WITH(average_checkpoints(full, 3, averaged), Catch::Matchers::Contains("2 checkpoints to average but --last 3"));
}

TEST_CASE("patience stops a run that no longer improves", "[translation][patience]") {
  const TrainData d = tiny_data(32, 6);
  TrainOptions o = small_rnn_options();
  o.train.valid_every = 2, o.train.save_every = 100, o.train.valid_sentences = 4, o.train.max_batch = 8;
  o.train.lr = 1e-7;  // nothing changes: BLEU never improves after the first validation
  o.train.patience = 3;
  o.train.steps = 100;
  o.out_dir = scratch_dir("patience");
  const TrainResult r = train_model(o, d);
  CHECK(r.steps == 8);  // validations at 2 (the best), 4, 6, 8: three without improvement
}
