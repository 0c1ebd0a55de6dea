#include "text_codec.hpp"

#include <fmt/format.h>

#include <xgrad/core/errors.hpp>
#include <xgrad/data/sentencepiece.hpp>

namespace xg::translation {

std::vector<data::Example> TextCodec::encode(const std::vector<data::SentencePair>& pairs) const {
  std::vector<data::Example> out;
  out.reserve(pairs.size());
  for (const auto& p : pairs) out.push_back({encode_source(p.source), encode_target(p.target)});
  return out;
}

std::string TextCodec::target_text(const std::vector<int64_t>& ids) const {
  std::string text = tgt_tokenizer->detokenize(tgt_vocab.decode(ids));
  // Byte pieces can spell control characters (a half-trained model emits them): a newline or a
  // tab would break the one-line-per-sentence and TSV outputs, so each becomes a space.
  if (subwords)
    for (char& c : text)
      if ((static_cast<unsigned char>(c) < 0x20) || c == 0x7f) c = ' ';
  return text;
}

std::string TextCodec::reference_text(const std::string& target) const {
  if (subwords) return target;
  return tgt_tokenizer->detokenize(tgt_tokenizer->tokenize(target));
}

TextCodec word_codec(data::Vocabulary src_vocab, data::Vocabulary tgt_vocab) {
  TextCodec c;
  c.src_vocab = std::move(src_vocab);
  c.tgt_vocab = std::move(tgt_vocab);
  c.src_tokenizer = c.tgt_tokenizer = std::make_shared<data::WhitespaceTokenizer>();
  return c;
}

std::vector<std::string> subword_model_files(const ModelConfig& config) {
  if (config.tokenizer != "spm") return {};
  if (config.shared_subwords) return {"spm.model"};
  return {"src.spm.model", "tgt.spm.model"};
}

TextCodec load_subword_codec(const std::string& dir, const ModelConfig& config) {
  const auto files = subword_model_files(config);
  TextCodec c;
  c.subwords = true;
  auto src = std::make_shared<data::SentencePieceTokenizer>(dir + "/" + files.front());
  auto tgt = files.size() == 1 ? src : std::make_shared<data::SentencePieceTokenizer>(dir + "/" + files.back());
  c.src_vocab = src->vocabulary();
  c.tgt_vocab = tgt->vocabulary();
  c.src_tokenizer = src;
  c.tgt_tokenizer = tgt;
  return c;
}

namespace {
// The vocabulary file must list exactly the model's pieces, in order.
void check_in_step(const data::Vocabulary& from_file, const data::Vocabulary& from_model, const std::string& vocab_path,
                   const std::string& model_path) {
  bool same = from_file.size() == from_model.size();
  int64_t first = -1;
  for (int64_t i = 0; same && i < from_file.size(); ++i)
    if (from_file.word(i) != from_model.word(i)) same = false, first = i;
  if (!same)
    throw FormatError(fmt::format("{} is not the vocabulary of {} ({} and {} entries{}): the files come from different "
                                  "runs", vocab_path, model_path, from_file.size(), from_model.size(),
                                  first >= 0 ? fmt::format(", first difference at id {}", first) : ""));
}
}  // namespace

TextCodec train_subword_codec(const std::vector<data::SentencePair>& train, const ModelConfig& config,
                              const TrainConfig& tc, const std::string& dir) {
  data::SentencePieceOptions o;
  o.vocab_size = tc.spm_vocab_size;
  o.model_type = tc.spm_model_type;
  std::vector<std::string> sources, targets;
  for (const auto& p : train) sources.push_back(p.source), targets.push_back(p.target);
  const auto files = subword_model_files(config);
  if (config.shared_subwords) {
    sources.insert(sources.end(), targets.begin(), targets.end());
    data::SentencePieceTokenizer::train(sources, dir + "/" + files[0], o);
  } else {
    data::SentencePieceTokenizer::train(sources, dir + "/" + files[0], o);
    data::SentencePieceTokenizer::train(targets, dir + "/" + files[1], o);
  }
  return load_subword_codec(dir, config);
}

TextCodec load_codec(const std::string& dir, const ModelConfig& config) {
  const std::string src_path = dir + "/src.vocab", tgt_path = dir + "/tgt.vocab";
  data::Vocabulary src = data::Vocabulary::load(src_path), tgt = data::Vocabulary::load(tgt_path);
  if (config.tokenizer != "spm") return word_codec(std::move(src), std::move(tgt));
  TextCodec c = load_subword_codec(dir, config);
  const auto files = subword_model_files(config);
  check_in_step(src, c.src_vocab, src_path, dir + "/" + files.front());
  check_in_step(tgt, c.tgt_vocab, tgt_path, dir + "/" + files.back());
  return c;
}

}  // namespace xg::translation
