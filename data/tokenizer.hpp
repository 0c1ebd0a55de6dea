#pragma once
/// \file
/// Tokenizers turn a line into tokens and back. Whitespace is all the toy languages need; a
/// subword tokenizer plugs in by implementing the same interface.
#include <string>
#include <vector>

namespace xg::data {

/// Splits a line into tokens and joins tokens back into text.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<std::string> tokenize(const std::string& line) const = 0;  ///< line -> tokens
  virtual std::string detokenize(const std::vector<std::string>& tokens) const = 0;  ///< tokens -> text
};

/// Splits on runs of ASCII whitespace (space, tab, CR, LF, FF, VT); joins with single spaces.
class WhitespaceTokenizer : public Tokenizer {
 public:
  std::vector<std::string> tokenize(const std::string& line) const override;
  std::string detokenize(const std::vector<std::string>& tokens) const override;
};

}  // namespace xg::data
