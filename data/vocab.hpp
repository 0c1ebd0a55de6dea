#pragma once
/// \file
/// Vocabulary with fixed special tokens: `<pad>` = 0, `<unk>` = 1, `<bos>` = 2, `<eos>` = 3.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace xg::data {

/// Words and their ids; ids 0-3 are the specials `<pad>`, `<unk>`, `<bos>`, `<eos>`.
class Vocabulary {
 public:
  static constexpr int64_t kPad = 0;  ///< padding
  static constexpr int64_t kUnk = 1;  ///< a word not in the vocabulary
  static constexpr int64_t kBos = 2;  ///< start of a sentence (decoder input)
  static constexpr int64_t kEos = 3;  ///< end of a sentence

  Vocabulary();  ///< just the four specials
  /// Words seen at least min_freq times, most frequent first (ties alphabetical, so the result is
  /// deterministic), at most max_size entries including the specials (0: no limit).
  static Vocabulary build(const std::vector<std::vector<std::string>>& sentences, int64_t min_freq = 1,
                          int64_t max_size = 0);

  /// The four specials followed by `words` in the order given (a subword model's pieces); a word
  /// that repeats or names a special is an Error.
  static Vocabulary from_words(const std::vector<std::string>& words);

  int64_t size() const { return static_cast<int64_t>(words_.size()); }  ///< number of entries, specials included
  int64_t id(const std::string& word) const;  ///< kUnk for unknown words
  const std::string& word(int64_t id) const;  ///< IndexError outside [0, size)
  std::vector<int64_t> encode(const std::vector<std::string>& tokens) const;  ///< ids of the tokens (kUnk for unknown ones)
  /// Stops at `<eos>`; skips `<pad>` and `<bos>`.
  std::vector<std::string> decode(const std::vector<int64_t>& ids) const;

  /// One word per line, line number = id (the specials first). load() checks that the file
  /// starts with the four specials and has no duplicate or empty lines, naming the line.
  void save(const std::string& path) const;
  static Vocabulary load(const std::string& path);  ///< reads a file written by save()

 private:
  void add(const std::string& word);
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace xg::data
