// Guided alignment (Seq2Seq::guided_loss, Marian's --guided-alignment): the cost against hand
// computation, float64 gradient checks through every guided model, batches that carry and slice
// the gold alignment, and training that pulls the attention onto it.
#include <cmath>
#include <filesystem>

#include "alignment.hpp"
#include "helpers.hpp"
#include "trainer.hpp"
#include <xgrad/data/toy.hpp>

using namespace xg;
using namespace xg::translation;
using xgtest::require_gradcheck;
using Catch::Matchers::Contains;

namespace {
data::Batch aligned_batch() {
  // Two pairs: targets of 2 and 1 words (+ <eos>: T = 3, 5 target tokens), sources of 3 and 2.
  std::vector<data::Example> ex = {{{4, 5, 6}, {7, 8}, {2, 0}}, {{4, 5}, {7}, {1}}};
  return data::collate(ex, {0, 1});
}
}  // namespace

TEST_CASE("guided_alignment_cost: hand-computed values, column offsets, batches without gold", "[translation][guided]") {
  const data::Batch b = aligned_batch();
  REQUIRE(b.alignment == std::vector<int64_t>({2, 0, -1, 1, -1, -1}));  // -1: <eos> and padding
  std::vector<double> a(2 * 3 * 5);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = 0.01 + 0.03 * static_cast<double>(i % 7);
  const auto at = [&](int64_t r, int64_t t, int64_t k) { return a[static_cast<std::size_t>((r * 3 + t) * 5 + k)]; };
  const Tensor attention = Tensor::from_vector(a, {2, 3, 5}, DType::Float64);
  const double eps = 1e-6;
  const double plain = -(std::log(at(0, 0, 2) + eps) + std::log(at(0, 1, 0) + eps) + std::log(at(1, 0, 1) + eps)) / 5.0;
  CHECK(guided_alignment_cost(attention, b).item() == Approx(plain).epsilon(1e-12));
  // Source position 0 of row 0 at column 2, of row 1 at column 1 (a left-padded source).
  const double shifted = -(std::log(at(0, 0, 4) + eps) + std::log(at(0, 1, 2) + eps) + std::log(at(1, 0, 2) + eps)) / 5.0;
  CHECK(guided_alignment_cost(attention, b, {2, 1}).item() == Approx(shifted).epsilon(1e-12));
  require_gradcheck([&](const std::vector<Tensor>& in) { return guided_alignment_cost(in[0], b, {2, 1}); },
                    {xgtest::leaf(attention)});
  // Slicing a batch into parts keeps each row's gold.
  const data::Batch second = data::slice_rows(b, 1, 2);
  CHECK(second.alignment == std::vector<int64_t>({1, -1}));

  data::Batch unaligned = b;
  unaligned.alignment.clear();
  CHECK_THROWS_WITH(guided_alignment_cost(attention, unaligned), Contains("no gold alignment"));
  CHECK_THROWS_WITH(guided_alignment_cost(narrow(attention, 1, 0, 2), b), Contains("[2, 2, 5]") && Contains("3 labels"));
  std::vector<data::Example> bad = {{{4, 5}, {7, 8}, {0}}};
  CHECK_THROWS_WITH(data::collate(bad, {0}), Contains("2 target tokens and an alignment of 1"));
  bad[0].alignment = {0, 2};
  CHECK_THROWS_WITH(data::collate(bad, {0}), Contains("source position 2 of 2"));
}

TEST_CASE("gradcheck: each guided model's loss in float64, and models without attention refuse", "[translation][guided][gradcheck]") {
  const data::Batch b = aligned_batch();
  for (const std::string name : {"bahdanau", "bahdanau-local", "transformer", "decoder-only"}) {
    INFO(name);
    ModelConfig c = ModelConfig::defaults(name);
    c.src_vocab = c.tgt_vocab = 10;
    c.embedding = 6, c.hidden = 8, c.attention = 6, c.d_model = 8, c.ff = 8, c.heads = 2, c.window = 2;
    c.encoder_layers = c.decoder_layers = 1, c.dropout = 0;
    manual_seed(4);
    const auto model = make_model(c);
    model->to(DType::Float64);
    // The guided term alone (its gradient reaches everything under the attention), then with the loss.
    std::vector<Tensor> params;
    for (auto& [pname, p] : model->named_parameters())
      if (pname.find("embedding") == std::string::npos && pname.find("output") == std::string::npos) params.push_back(p);
    REQUIRE(!params.empty());
    require_gradcheck([&](const std::vector<Tensor>&) { return model->guided_loss(b, 0.0, 1.0) - model->loss(b, 0.0); },
                      params);
    require_gradcheck([&](const std::vector<Tensor>&) { return model->guided_loss(b, 0.1, 0.3); }, params);
  }
  manual_seed(4);
  ModelConfig rnn = ModelConfig::defaults("rnn");
  rnn.src_vocab = rnn.tgt_vocab = 10;
  CHECK_THROWS_WITH(make_model(rnn)->guided_loss(b, 0.0, 1.0), Contains("RnnSeq2Seq model has no attention"));
}

TEST_CASE("training with guided alignment puts the guided head on the gold alignment", "[translation][guided][e2e]") {
  data::ToyConfig toy;
  toy.seed = 3, toy.train_size = 48, toy.valid_size = 8, toy.test_per_bucket = 0, toy.max_len = 10;
  const data::ToyCorpus corpus = data::generate_toy_corpus(toy);
  TrainData d;
  for (const auto& p : corpus.train) d.train.push_back(p.pair), d.train_alignments.push_back(p.alignment);
  for (const auto& p : corpus.valid) d.valid.push_back(p.pair);
  for (const std::string name : {"transformer", "decoder-only"}) {
    double aer[2] = {0, 0};
    for (const double weight : {0.0, 1.0}) {
      INFO(name << ", weight " << weight);
      TrainOptions o;
      o.model = ModelConfig::defaults(name);
      o.model.d_model = 32, o.model.ff = 64, o.model.encoder_layers = 1, o.model.decoder_layers = name == "decoder-only" ? 2 : 1;
      o.model.dropout = 0;
      o.train.steps = 150, o.train.lr = 3e-3, o.train.warmup = 30, o.train.valid_every = 150, o.train.save_every = 150;
      o.train.guided_alignment = weight;
      o.out_dir = (std::filesystem::path(XGRAD_BINARY_DIR) / "test_scratch" / ("guided_" + name)).string();
      o.overwrite = true, o.quiet = true;
      train_model(o, d);
      const LoadedModel m = load_trained(o.out_dir);
      const AlignmentResult r = evaluate_alignment(*m.model, m.codec, d.train, d.train_alignments);
      // The guided map: the transformer's last layer head 0; the decoder-only model's likewise.
      for (const auto& map : r.maps)
        if (map.map.find("head0") != std::string::npos && map.map.find(name == "transformer" ? "layer0" : "layer1") == 0)
          aer[weight > 0] = map.aer;
    }
    INFO(name << ": AER of head 0 unguided " << aer[0] << "%, guided " << aer[1] << "%");
    CHECK(aer[1] < 5.0);
    CHECK(aer[1] < aer[0]);
  }
  TrainOptions o;
  o.model = ModelConfig::defaults("bahdanau");
  o.train.steps = 1, o.train.guided_alignment = 0.1;
  o.out_dir = (std::filesystem::path(XGRAD_BINARY_DIR) / "test_scratch" / "guided_missing").string();
  o.overwrite = true, o.quiet = true;
  TrainData none = d;
  none.train_alignments.clear();
  CHECK_THROWS_WITH(train_model(o, none), Contains("needs gold alignments"));
  TrainData short_gold = d;
  short_gold.train_alignments[3].pop_back();
  CHECK_THROWS_WITH(train_model(o, short_gold), Contains("training pair 4 has"));
}
