// libFuzzer target: the vocabulary loader must reject bad files with xg::Error, never crash,
// and a vocabulary it accepts must round-trip through encode and decode.
#include <cstdio>
#include <string>
#include <unistd.h>

#include "core/errors.hpp"
#include "data/vocab.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/xgrad_fuzz_vocab_" + std::to_string(::getpid());
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    const auto v = xg::data::Vocabulary::load(path);
    for (int64_t i = 4; i < v.size(); ++i)
      if (v.id(v.word(i)) != i) __builtin_trap();
  } catch (const xg::Error&) {
  }
  return 0;
}
