// libFuzzer target: the vocabulary loader must reject bad files with xg::Error, never crash,
// and a vocabulary it accepts must round-trip through encode and decode.
#include <string>

#include <xgrad/core/errors.hpp>
#include "fuzz_input.hpp"
#include <xgrad/data/vocab.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_input_file("vocab", data, size);
  try {
    const auto v = xg::data::Vocabulary::load(path);
    for (int64_t i = 4; i < v.size(); ++i)
      if (v.id(v.word(i)) != i) __builtin_trap();
  } catch (const xg::Error&) {
  }
  return 0;
}
