#include "explain.hpp"

#include <cmath>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/softmax.hpp>
#include <xgrad/data/batch.hpp>
#include <xgrad/data/tokenizer.hpp>
#include "evaluate.hpp"
#include "html.hpp"
#include <xgrad/nn/attention_recorder.hpp>

namespace xg::translation {

namespace {
using nlohmann::json;

// Rounded to `digits` significant digits: the page shows three, and the file stays small.
double significant(double x, int digits = 3) {
  if (x == 0 || !std::isfinite(x)) return std::isfinite(x) ? 0.0 : x;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::abs(x)))));
  return std::round(x * scale) / scale;
}

// A (rows, cols) slice starting at `offset` of a flat vector as {"c": cols, "s": scale, "d": ints}:
// value = int * scale, ints within +-999 (three digits relative to the slice's largest value; about
// half the characters of decimals, which keeps a 60-token page of a 3-layer model under 2 MB).
json matrix_json(const std::vector<double>& flat, std::size_t offset, int64_t rows, int64_t cols) {
  double largest = 0;
  for (int64_t i = 0; i < rows * cols; ++i) largest = std::max(largest, std::abs(flat[offset + static_cast<std::size_t>(i)]));
  const double scale = largest > 0 ? largest / 999.0 : 1.0;
  json ints = json::array();
  for (int64_t i = 0; i < rows * cols; ++i) ints.push_back(std::lround(flat[offset + static_cast<std::size_t>(i)] / scale));
  return {{"c", cols}, {"s", scale}, {"d", ints}};
}

// One (layer, head): weights in 1/10000 (Tq, Tk), and the head's q (Tq, dh), k and v (Tk, dh) as matrix_json.
json head_json(const nn::AttentionRecord& r, int64_t h) {
  const auto& qs = r.query.shape();
  const int64_t Tq = qs[2], dh = qs[3], Tk = r.key.shape()[2];
  const auto w = r.weights.to_vector();
  json weights = json::array();
  for (int64_t i = 0; i < Tq * Tk; ++i) weights.push_back(std::lround(w[static_cast<std::size_t>(h * Tq * Tk + i)] * 10000));
  const auto q = r.query.to_vector(), k = r.key.to_vector(), v = r.value.to_vector();
  return {{"w", weights},
          {"q", matrix_json(q, static_cast<std::size_t>(h * Tq * dh), Tq, dh)},
          {"k", matrix_json(k, static_cast<std::size_t>(h * Tk * dh), Tk, dh)},
          {"v", matrix_json(v, static_cast<std::size_t>(h * Tk * dh), Tk, dh)}};
}

// The transformer's groups, in the order the page shows them; layers in call order.
json transformer_groups(const Seq2Seq& model, const nn::AttentionRecorder& recorder, const std::vector<std::string>& source,
                        const std::vector<std::string>& decoder_input) {
  std::map<const nn::Module*, std::string> path_of;
  for (const auto& [path, module] : model.named_modules()) path_of[module.get()] = path;
  struct Group {
    Group(const char* i, const char* t, const std::vector<std::string>* q, const std::vector<std::string>* k)
        : id(i), title(t), queries(q), keys(k) {}
    const char* id;
    const char* title;
    const std::vector<std::string>* queries;
    const std::vector<std::string>* keys;
    json layers = json::array();
    json bias, layer_paths = json::array();
    bool causal = false;
  };
  Group groups[3] = {{"encoder", "Encoder self-attention", &source, &source},
                     {"decoder", "Decoder self-attention", &decoder_input, &decoder_input},
                     {"cross", "Cross-attention (decoder reads the source)", &decoder_input, &source}};
  for (const auto& r : recorder.records()) {
    const std::string& path = path_of.at(r.module);
    const bool cross = path.find("cross_attn") != std::string::npos;
    Group& g = cross ? groups[2] : path.rfind("decoder", 0) == 0 ? groups[1] : groups[0];
    if (!r.weights.defined())
      throw Error(fmt::format("explain: {} forms no attention weights (window or linear attention)", path));
    json heads = json::array();
    for (int64_t h = 0; h < r.weights.shape()[1]; ++h) heads.push_back(head_json(r, h));
    g.layers.push_back({{"heads", heads}});
    g.layer_paths.push_back(path);
    g.causal = r.mask.defined();
    if (r.bias.defined() && g.bias.is_null()) {  // one bias per stack, shared by its layers
      const auto b = r.bias.to_vector();
      const int64_t H = r.bias.shape()[0], Tq = r.bias.shape()[1], Tk = r.bias.shape()[2];
      g.bias = json::array();
      for (int64_t h = 0; h < H; ++h) g.bias.push_back(matrix_json(b, static_cast<std::size_t>(h * Tq * Tk), Tq, Tk));
    }
  }
  json out = json::array();
  for (auto& g : groups)
    out.push_back({{"id", g.id}, {"title", g.title}, {"queries", *g.queries}, {"keys", *g.keys}, {"causal", g.causal},
                   {"bias", g.bias}, {"paths", g.layer_paths}, {"layers", g.layers}});
  return out;
}

// Bahdanau / local-p: the weights of each step (T, S), the energies, and local-p's centres.
json recurrent_attention(const nn::AttentionRecorder& recorder) {
  json steps = json::array();
  for (const auto& r : recorder.source_records()) {
    const auto w = r.weights.to_vector(), e = r.scores.to_vector();
    json weights = json::array(), scores = json::array();
    for (std::size_t s = 0; s < w.size(); ++s) weights.push_back(std::lround(w[s] * 10000)), scores.push_back(significant(e[s]));
    json step = {{"w", weights}, {"scores", scores}};
    if (r.centres.defined()) step["centre"] = significant(r.centres.to_vector()[0], 4), step["window"] = r.window;
    steps.push_back(step);
  }
  return steps;
}

std::string describe(const ModelConfig& c) {
  if (c.model == "rnn") return fmt::format("GRU encoder-decoder without attention, hidden {}", c.hidden);
  if (c.model == "bahdanau")
    return c.attention_kind == "local" ? fmt::format("GRU encoder-decoder with Luong local-p attention (D = {})", c.window)
                                       : fmt::format("GRU encoder-decoder with Bahdanau's additive attention, hidden {}", c.hidden);
  return fmt::format("transformer: {} encoder and {} decoder layers, {} heads, d_model {}, {} positions, {}", c.encoder_layers,
                     c.decoder_layers, c.heads, c.d_model, c.positions, c.pre_ln ? "pre-LN" : "post-LN");
}
}  // namespace

std::string explain_sentence(const LoadedModel& m, const std::string& source, const SearchOptions& search_options,
                             const std::string& target) {
  const std::vector<std::string> words = m.codec.source_tokens(source);
  if (words.empty()) throw Error("explain: the sentence is empty");
  if (static_cast<int64_t>(words.size()) > std::min(search_options.max_source_tokens, m.model->longest_sequence()))
    throw Error(fmt::format("explain: the sentence has {} tokens, over the model's limit of {}", words.size(),
                            std::min(search_options.max_source_tokens, m.model->longest_sequence())));
  std::vector<int64_t> output_ids;
  if (target.empty()) {
    SearchOptions search = search_options;
    search.keep_attention = false;
    output_ids = translate_sentences(*m.model, m.codec, {source}, search)[0].tokens;
  } else {
    output_ids = m.codec.encode_target(target);
    if (static_cast<int64_t>(output_ids.size()) + 1 > m.model->longest_sequence())
      throw Error(fmt::format("explain: the target has {} tokens, over the model's limit of {}", output_ids.size(),
                              m.model->longest_sequence() - 1));
  }
  // Read back teacher-forced: the decoder input is <bos> + the translation, the labels it + <eos>.
  const data::Example example{m.codec.src_vocab.encode(words), output_ids};
  const data::Batch batch = data::collate({example}, {0});
  std::vector<std::string> source_tokens, decoder_input{"<bos>"}, output = m.codec.tgt_vocab.decode(output_ids);
  for (int64_t id : example.src) source_tokens.push_back(m.codec.src_vocab.word(id));  // <unk> shows as such
  for (const auto& w : output) decoder_input.push_back(w);
  output.push_back("<eos>");

  NoGradGuard no_grad;
  const bool was_training = m.model->is_training();
  m.model->eval();
  nn::AttentionRecorder recorder;
  const auto log_probs = log_softmax(m.model->forward(batch), -1).to_vector();  // (1, T, V)
  if (was_training) m.model->train();
  double log_probability = 0;
  const auto V = static_cast<std::size_t>(m.codec.tgt_vocab.size());
  for (std::size_t t = 0; t < batch.tgt_out.size(); ++t) log_probability += log_probs[t * V + static_cast<std::size_t>(batch.tgt_out[t])];

  json data = {{"model", m.config.model},
               {"description", describe(m.config)},
               {"input", source},
               {"translation", m.codec.target_text(output_ids)},
               {"given_target", !target.empty()},
               {"source", source_tokens},
               {"decoder_input", decoder_input},
               {"output", output},
               {"log_probability", significant(log_probability, 5)}};
  if (m.config.model == "transformer") data["groups"] = transformer_groups(*m.model, recorder, source_tokens, decoder_input);
  else if (m.config.model == "bahdanau") data["steps"] = recurrent_attention(recorder);
  return data.dump();
}

std::string explorer_page(const std::string& data_json) {
  const std::string body = "<script type=\"application/json\" id=\"data\">" + json_for_script(data_json) +
                           "</script>\n<div id=\"app\"></div>";
  return html_page("xgrad attention explorer", asset("common.css") + asset("explorer.css"), body,
                   asset("common.js") + asset("explorer.js"));
}

}  // namespace xg::translation
