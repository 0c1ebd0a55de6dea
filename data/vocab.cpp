#include <xgrad/data/vocab.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <map>

#include <xgrad/core/atomic_file.hpp>
#include <xgrad/core/errors.hpp>
#include <xgrad/data/text_file.hpp>

namespace xg::data {

static const char* const kSpecials[] = {"<pad>", "<unk>", "<bos>", "<eos>"};

Vocabulary::Vocabulary() {
  for (const char* s : kSpecials) add(s);
}

void Vocabulary::add(const std::string& word) {
  ids_.emplace(word, static_cast<int64_t>(words_.size()));
  words_.push_back(word);
}

Vocabulary Vocabulary::build(const std::vector<std::vector<std::string>>& sentences, int64_t min_freq, int64_t max_size) {
  std::map<std::string, int64_t> counts;
  for (const auto& s : sentences)
    for (const auto& w : s) ++counts[w];
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  Vocabulary v;
  for (const auto& [w, c] : sorted) {
    if (c < min_freq) break;
    if (max_size > 0 && v.size() >= max_size) break;
    if (v.ids_.count(w)) continue;  // a corpus containing "<unk>" literally
    v.add(w);
  }
  return v;
}

Vocabulary Vocabulary::from_words(const std::vector<std::string>& words) {
  Vocabulary v;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (v.ids_.count(words[i]))
      throw Error(fmt::format("Vocabulary::from_words: word {} ('{}') is already in the vocabulary", i, words[i]));
    v.add(words[i]);
  }
  return v;
}

int64_t Vocabulary::id(const std::string& word) const {
  auto it = ids_.find(word);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& Vocabulary::word(int64_t id) const {
  if (id < 0 || id >= size()) throw IndexError(fmt::format("Vocabulary: id {} outside [0, {})", id, size()));
  return words_[static_cast<std::size_t>(id)];
}

std::vector<int64_t> Vocabulary::encode(const std::vector<std::string>& tokens) const {
  std::vector<int64_t> out;
  out.reserve(tokens.size());
  for (const auto& t : tokens) out.push_back(id(t));
  return out;
}

std::vector<std::string> Vocabulary::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> out;
  for (int64_t i : ids) {
    if (i == kEos) break;
    if (i == kPad || i == kBos) continue;
    out.push_back(word(i));
  }
  return out;
}

void Vocabulary::save(const std::string& path) const {
  std::string text;
  for (const auto& w : words_) text += w + "\n";
  write_file_atomically(path, text);
}

Vocabulary Vocabulary::load(const std::string& path) {
  const std::vector<std::string> lines = read_lines(path);
  Vocabulary v;
  v.words_.clear();
  v.ids_.clear();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& w = lines[i];
    const std::size_t line = i + 1;
    if (!valid_utf8(w)) throw FormatError(fmt::format("{}:{}: invalid UTF-8", path, line));
    if (w.empty() || w.find_first_of(" \t") != std::string::npos)
      throw FormatError(fmt::format("{}:{}: empty entry or entry with whitespace", path, line));
    if (i < 4 && w != kSpecials[i])
      throw FormatError(fmt::format("{}:{}: expected the special token {}, found '{}'", path, line, kSpecials[i], w));
    if (v.ids_.count(w)) throw FormatError(fmt::format("{}:{}: duplicate entry '{}'", path, line, w));
    v.add(w);
  }
  if (v.size() < 4) throw FormatError(fmt::format("{}: {} lines, fewer than the 4 special tokens", path, v.size()));
  return v;
}

}  // namespace xg::data
