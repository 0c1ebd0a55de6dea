#include <xgrad/data/sentencepiece.hpp>

#include <fmt/format.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <unordered_map>

#include <xgrad/core/atomic_file.hpp>
#include <xgrad/core/errors.hpp>

namespace xg::data {

namespace {
// Feeds our lines to the trainer without a temporary file.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::vector<std::string>& lines) : lines_(lines) {}
  bool done() const override { return i_ >= lines_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return lines_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& lines_;
  std::size_t i_ = 0;
};
}  // namespace

void SentencePieceTokenizer::train(const std::vector<std::string>& lines, const std::string& model_path,
                                   const SentencePieceOptions& o) {
  if (lines.empty()) throw Error("SentencePiece: no training lines");
  if (o.model_type != "unigram" && o.model_type != "bpe")
    throw Error(fmt::format("SentencePiece: model type '{}' (use unigram or bpe)", o.model_type));
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", o.model_type},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"byte_fallback", o.byte_fallback ? "true" : "false"},
      {"character_coverage", fmt::format("{}", o.character_coverage)},
      {"normalization_rule_name", o.normalization},
      {"input_sentence_size", std::to_string(o.input_sentence_size)},
      {"shuffle_input_sentence", "false"},  // deterministic: the lines in the order given
      {"num_threads", "1"},
      // xgrad's Vocabulary has its own <pad>, <bos>, <eos>; the model keeps only <unk> (id 0).
      {"unk_id", "0"}, {"bos_id", "-1"}, {"eos_id", "-1"}, {"pad_id", "-1"},
      {"minloglevel", "2"},
  };
  LineIterator it(lines);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
  if (!status.ok())
    throw Error(fmt::format("SentencePiece training ({} lines, {} model, vocabulary {}): {}", lines.size(),
                            o.model_type, o.vocab_size, status.ToString()));
  AtomicFile f(model_path);
  f.write(model);
  f.commit();
}

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path)
    : path_(model_path), processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = processor_->Load(model_path);
  if (!status.ok()) throw FormatError(fmt::format("{}: not a SentencePiece model ({})", model_path, status.ToString()));
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<std::string> SentencePieceTokenizer::tokenize(const std::string& line) const {
  std::vector<std::string> pieces;
  const auto status = processor_->Encode(line, &pieces);
  if (!status.ok()) throw Error(fmt::format("SentencePiece ({}): cannot encode a line: {}", path_, status.ToString()));
  return pieces;
}

std::string SentencePieceTokenizer::detokenize(const std::vector<std::string>& pieces) const {
  std::string text;
  const auto status = processor_->Decode(pieces, &text);
  if (!status.ok()) throw Error(fmt::format("SentencePiece ({}): cannot decode pieces: {}", path_, status.ToString()));
  return text;
}

std::string SentencePieceTokenizer::normalize(const std::string& line) const { return detokenize(tokenize(line)); }

std::vector<std::string> SentencePieceTokenizer::pieces() const {
  std::vector<std::string> out;
  for (int id = 0; id < processor_->GetPieceSize(); ++id)
    if (!processor_->IsControl(id) && !processor_->IsUnknown(id)) out.push_back(processor_->IdToPiece(id));
  return out;
}

Vocabulary SentencePieceTokenizer::vocabulary() const { return Vocabulary::from_words(pieces()); }

}  // namespace xg::data
