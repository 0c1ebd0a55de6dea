#pragma once
// How a translation model's text becomes ids and back: a tokenizer per side (whitespace words
// for the toy task, or SentencePiece pieces for real text) and the vocabularies built on them.
// Every command that reads or writes text goes through one, so that the vocabulary, the
// tokenizer and the checkpoint stay in step.
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include <xgrad/data/batch.hpp>
#include <xgrad/data/corpus.hpp>
#include <xgrad/data/tokenizer.hpp>
#include <xgrad/data/vocab.hpp>

namespace xg::translation {

struct TextCodec {
  data::Vocabulary src_vocab, tgt_vocab;
  std::shared_ptr<const data::Tokenizer> src_tokenizer, tgt_tokenizer;
  bool subwords = false;  // SentencePiece pieces rather than words

  std::vector<std::string> source_tokens(const std::string& line) const { return src_tokenizer->tokenize(line); }
  std::vector<std::string> target_tokens(const std::string& line) const { return tgt_tokenizer->tokenize(line); }
  std::vector<int64_t> encode_source(const std::string& line) const { return src_vocab.encode(source_tokens(line)); }
  std::vector<int64_t> encode_target(const std::string& line) const { return tgt_vocab.encode(target_tokens(line)); }
  std::vector<data::Example> encode(const std::vector<data::SentencePair>& pairs) const;
  // A translation as text: ids decoded (up to <eos>) and detokenized (pieces joined, no ▁;
  // control characters spelt by byte pieces become spaces).
  std::string target_text(const std::vector<int64_t>& ids) const;
  // The reference a translation is scored against: word models compare whitespace-normalised
  // tokens (their output cannot reproduce spacing); subword models detokenized text against the
  // reference as written, as sacreBLEU scores real systems.
  std::string reference_text(const std::string& target) const;
};

// Whitespace words with the given vocabularies.
TextCodec word_codec(data::Vocabulary src_vocab, data::Vocabulary tgt_vocab);

// The SentencePiece model files of a training directory for `config` (shared: one file).
std::vector<std::string> subword_model_files(const ModelConfig& config);

// Learns SentencePiece model(s) on the training pairs (shared: sources and targets together),
// writes them into `dir`, and returns the codec whose vocabularies are the models' pieces.
TextCodec train_subword_codec(const std::vector<data::SentencePair>& train, const ModelConfig& config,
                              const TrainConfig& train_config, const std::string& dir);

// The codec of the SentencePiece model(s) in `dir` alone (vocabularies = their pieces).
TextCodec load_subword_codec(const std::string& dir, const ModelConfig& config);

// The codec of a training directory: its vocabularies, and its SentencePiece models when
// config.tokenizer is "spm" (checked against the vocabularies: a vocabulary that is not the
// model's pieces is a FormatError naming both files).
TextCodec load_codec(const std::string& dir, const ModelConfig& config);

}  // namespace xg::translation
