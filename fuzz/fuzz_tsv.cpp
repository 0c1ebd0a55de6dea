// libFuzzer target: the TSV corpus reader must reject bad input with xg::Error, never crash.
#include <cstdio>
#include <string>
#include <unistd.h>

#include "core/errors.hpp"
#include "data/corpus.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/xgrad_fuzz_tsv_" + std::to_string(::getpid());
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data, 1, size, f);
  std::fclose(f);
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
