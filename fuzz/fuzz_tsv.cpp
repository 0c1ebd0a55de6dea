// libFuzzer target: the TSV corpus reader must reject bad input with xg::Error, never crash.
#include <string>

#include <xgrad/core/errors.hpp>
#include "fuzz_input.hpp"
#include <xgrad/data/corpus.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_input_file("tsv", data, size);
  for (bool skip : {false, true}) {
    xg::data::CorpusReadOptions o;
    o.skip_bad_lines = skip;
    o.max_tokens = 8;
    try {
      const auto c = xg::data::read_parallel_tsv(path, o);
      if (c.pairs.size() != c.line_numbers.size()) __builtin_trap();
    } catch (const xg::Error&) {
    }
  }
  return 0;
}
