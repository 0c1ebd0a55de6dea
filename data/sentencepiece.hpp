#pragma once
/// \file
/// Subword units with SentencePiece (Kudo & Richardson 2018), through Debian's libsentencepiece:
/// a unigram or BPE model learnt from the training text, so that rare and unseen words are split
/// into known pieces instead of becoming `<unk>`. With byte fallback (the default) a character
/// the model never saw is spelt as UTF-8 byte pieces `<0xNN>`, so no input is ever unknown.
/// Text is normalised as SentencePiece does (NFKC plus its whitespace rules, "nmt_nfkc");
/// detokenize() returns the normalised text, without the `▁` word-boundary marks.
#include <memory>
#include <string>
#include <vector>

#include <xgrad/data/tokenizer.hpp>
#include <xgrad/data/vocab.hpp>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace xg::data {

/// How a SentencePiece model is learnt.
struct SentencePieceOptions {
  int64_t vocab_size = 8000;           ///< pieces, including `<unk>` and the 256 byte pieces
  std::string model_type = "unigram";  ///< "unigram" or "bpe"
  bool byte_fallback = true;           ///< unseen characters as byte pieces, never `<unk>`
  double character_coverage = 1.0;     ///< share of characters given pieces of their own
  std::string normalization = "nmt_nfkc";  ///< SentencePiece's normalisation rule
  /// Lines sampled for training (0: all); SentencePiece's own default is 1M.
  int64_t input_sentence_size = 0;
};

/// A Tokenizer whose tokens are the pieces of a SentencePiece model.
class SentencePieceTokenizer : public Tokenizer {
 public:
  /// Learns a model from `lines` and writes it to `model_path` (atomically). Errors (a vocabulary
  /// larger than the text allows, an unknown model type) name the option and SentencePiece's reason.
  static void train(const std::vector<std::string>& lines, const std::string& model_path,
                    const SentencePieceOptions& options = {});
  /// Loads a model file (FormatError naming the path if it is not one).
  explicit SentencePieceTokenizer(const std::string& model_path);
  ~SentencePieceTokenizer() override;

  std::vector<std::string> tokenize(const std::string& line) const override;  ///< line -> pieces
  std::string detokenize(const std::vector<std::string>& pieces) const override;  ///< pieces -> text
  /// The text as the model sees it (normalised): decode(encode(line)) == normalize(line).
  std::string normalize(const std::string& line) const;
  /// Every piece of the model in id order, without its control symbols (`<unk>`, `<s>`, `</s>`).
  std::vector<std::string> pieces() const;
  /// A Vocabulary of xgrad's four specials followed by pieces(): every piece has an id, so a
  /// model with byte fallback never produces `<unk>`.
  Vocabulary vocabulary() const;
  const std::string& path() const { return path_; }  ///< the model file

 private:
  std::string path_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace xg::data
