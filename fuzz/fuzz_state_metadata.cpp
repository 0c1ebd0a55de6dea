// libFuzzer target: the training state's metadata (state.safetensors' string map). Input lines
// "key=value" replace the values of a valid map; the reader must either refuse with xg::Error
// naming a key or return a resume point inside the documented ranges.
#include <cmath>
#include <map>
#include <sstream>
#include <string>

#include <xgrad/core/errors.hpp>
#include "train_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::ostringstream rng;
  rng << std::mt19937_64(1);
  std::map<std::string, std::string> meta = {{"step", "20"},      {"epoch", "1"},        {"batch", "3"},
                                             {"seconds", "4.5"},  {"best_bleu", "12.5"}, {"rng", rng.str()},
                                             {"model", "rnn"},    {"world_size", "1"}};
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) meta.erase(line);
    else meta[line.substr(0, eq)] = line.substr(eq + 1);
  }
  try {
    const auto r = xg::translation::read_resume_point(meta, "state.safetensors", 1, "rnn");
    if (r.step < 0 || r.epoch < 0 || r.batch < 0 || !std::isfinite(r.seconds) || r.seconds < 0 ||
        !std::isfinite(r.best_bleu) || r.best_bleu < -1 || r.best_bleu > 100)
      __builtin_trap();
  } catch (const xg::Error&) {
  }
  return 0;
}
