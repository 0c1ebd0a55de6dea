#include "train_state.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <sstream>

#include <xgrad/core/errors.hpp>

namespace xg::translation {

namespace {
// Whole-string integer and number parsing for the state's metadata: a hand-edited "1e3" or
// "3.7" step is an error, not 1 or 3.
int64_t metadata_integer(const std::map<std::string, std::string>& meta, const std::string& key, int64_t lo, int64_t hi,
                         const std::string& file) {
  const auto it = meta.find(key);
  if (it == meta.end()) throw FormatError(fmt::format("{}: metadata '{}' is missing", file, key));
  int64_t v = 0;
  const std::string& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
    throw FormatError(fmt::format("{}: metadata '{}' is \"{}\", expected an integer in [{}, {}]", file, key, text, lo, hi));
  return v;
}

double metadata_number(const std::map<std::string, std::string>& meta, const std::string& key, double lo, double hi,
                       const std::string& file) {
  const auto it = meta.find(key);
  if (it == meta.end()) throw FormatError(fmt::format("{}: metadata '{}' is missing", file, key));
  const std::string& text = it->second;
  char* end = nullptr;
  const double v = text.empty() ? std::nan("") : std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < lo || v > hi)
    throw FormatError(fmt::format("{}: metadata '{}' is \"{}\", expected a number in [{}, {}]", file, key, text, lo, hi));
  return v;
}

}  // namespace

ResumePoint read_resume_point(const std::map<std::string, std::string>& meta, const std::string& file, int world,
                              const std::string& model_kind) {
  constexpr int64_t kMaxCount = int64_t{1} << 40;
  const int64_t written_by = meta.count("world_size") ? metadata_integer(meta, "world_size", 1, 1 << 20, file) : 1;
  if (written_by != world)
    throw Error(fmt::format("train --resume: {} was written by a run of {} rank(s); resume it with mpirun -np {} (this "
                            "run has {})", file, written_by, written_by, world));
  if (meta.count("model") && meta.at("model") != model_kind)
    throw FormatError(fmt::format("{}: metadata 'model' is \"{}\" but config.json says {}", file, meta.at("model"), model_kind));
  ResumePoint r;
  r.step = metadata_integer(meta, "step", 0, kMaxCount, file);
  r.epoch = metadata_integer(meta, "epoch", 0, kMaxCount, file);
  r.batch = metadata_integer(meta, "batch", 0, kMaxCount, file);
  r.seconds = metadata_number(meta, "seconds", 0, 1e12, file);
  r.best_bleu = metadata_number(meta, "best_bleu", -1, 100, file);
  // Written since reduce-on-plateau and patience exist; older states have neither.
  if (meta.count("validations_since_best"))
    r.validations_since_best = metadata_integer(meta, "validations_since_best", 0, kMaxCount, file);
  if (meta.count("lr_scale")) r.lr_scale = metadata_number(meta, "lr_scale", 1e-300, 1, file);
  const auto rng = meta.find("rng");
  if (rng == meta.end()) throw FormatError(fmt::format("{}: metadata 'rng' is missing", file));
  std::istringstream in(rng->second);
  in >> r.rng;
  if (in.fail() || !(in >> std::ws).eof())
    throw FormatError(fmt::format("{}: metadata 'rng' is not a saved generator state (resume would not be exact)", file));
  return r;
}

}  // namespace xg::translation
