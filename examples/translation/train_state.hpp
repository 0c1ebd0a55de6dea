#pragma once
// Where a training run resumes: the metadata that train writes into state.safetensors (step,
// data position, clock, best validation BLEU, random generator, world size, model kind), read
// back and checked. A hand-edited or corrupted value is an error that names the key, never a
// silent wrong resume (a step of "1e3" read as 1, an rng that does not parse, a best BLEU of NaN
// that no later score beats).
#include <cstdint>
#include <map>
#include <random>
#include <string>

namespace xg::translation {

struct ResumePoint {
  int64_t step = 0, epoch = 0, batch = 0;  // steps done; the data loader's epoch and batch in it
  double seconds = 0, best_bleu = -1;      // training time so far; -1: no validation yet
  std::mt19937_64 rng;                     // the default generator's state
  int64_t validations_since_best = 0;      // --patience and --plateau-factor count these
  double lr_scale = 1;                     // --plateau-factor's reductions so far
};

// `file` names the state in errors; `world` and `model_kind` are this run's, which the state's
// must equal.
ResumePoint read_resume_point(const std::map<std::string, std::string>& metadata, const std::string& file, int world,
                              const std::string& model_kind);

}  // namespace xg::translation
