#pragma once
// Seeded random numbers. std::mt19937_64 is specified bit-exactly by the standard; the
// distributions are written here because the standard library's are not, and results must
// not change with the compiler.
#include <cstdint>
#include <random>

namespace xg {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) : engine_(seed) {}
  void seed(uint64_t s) { engine_.seed(s); has_spare_ = false; }
  uint64_t next_u64() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);
  double normal();  // Box-Muller, standard normal

  std::mt19937_64& engine() { return engine_; }
  const std::mt19937_64& engine() const { return engine_; }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The generator used when an op is not given one explicitly: the process's, or on a thread
// inside a GeneratorGuard, the guard's.
Generator& default_generator();
void manual_seed(uint64_t seed);

// Makes `gen` this thread's default generator while the guard lives: threads that run dropout
// at the same time (parallel_backward's parts) each draw from their own, seeded in a fixed order.
class GeneratorGuard {
 public:
  explicit GeneratorGuard(Generator& gen);
  ~GeneratorGuard();
  GeneratorGuard(const GeneratorGuard&) = delete;
  GeneratorGuard& operator=(const GeneratorGuard&) = delete;

 private:
  Generator* previous_;
};

}  // namespace xg
