#pragma once
/// \file
/// Seeded random numbers. std::mt19937_64 is specified bit-exactly by the standard; the
/// distributions are written here because the standard library's are not, and results must
/// not change with the compiler.
#include <cstdint>
#include <random>

namespace xg {

/// A seeded random stream (mt19937_64 with distributions written here, so a seed gives the same
/// numbers with every compiler and standard library).
class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) : engine_(seed) {}  ///< a stream from `seed`
  void seed(uint64_t s) { engine_.seed(s); has_spare_ = false; }  ///< restarts the stream from `s`
  uint64_t next_u64() { return engine_(); }  ///< 64 random bits
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }  ///< uniform in [lo, hi)
  /// Uniform integer in [0, n).
  uint64_t below(uint64_t n);
  double normal();  ///< Box-Muller, standard normal

  /// The underlying engine (its state is saved in training checkpoints).
  ///@{
  std::mt19937_64& engine() { return engine_; }
  const std::mt19937_64& engine() const { return engine_; }
  ///@}

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// The generator used when an op is not given one explicitly: the process's, or on a thread
/// inside a GeneratorGuard, the guard's.
Generator& default_generator();
/// Reseeds the process's default generator, like torch.manual_seed.
void manual_seed(uint64_t seed);

/// Makes `gen` this thread's default generator while the guard lives: threads that run dropout
/// at the same time (parallel_backward's parts) each draw from their own, seeded in a fixed order.
class GeneratorGuard {
 public:
  explicit GeneratorGuard(Generator& gen);  ///< makes `gen` the default until destroyed
  ~GeneratorGuard();
  GeneratorGuard(const GeneratorGuard&) = delete;
  GeneratorGuard& operator=(const GeneratorGuard&) = delete;

 private:
  Generator* previous_;
};

}  // namespace xg
