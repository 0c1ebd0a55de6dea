#include <xgrad/core/random.hpp>

#include <cmath>

namespace xg {

uint64_t Generator::below(uint64_t n) {
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r;
  do {
    r = engine_();
  } while (r >= limit);
  return r % n;
}

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1;
  do {
    u1 = uniform();
  } while (u1 <= 0.0);
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * M_PI * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

namespace {
thread_local Generator* t_generator = nullptr;
}

Generator& default_generator() {
  static Generator g;
  return t_generator ? *t_generator : g;
}

GeneratorGuard::GeneratorGuard(Generator& gen) : previous_(t_generator) { t_generator = &gen; }
GeneratorGuard::~GeneratorGuard() { t_generator = previous_; }

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

}  // namespace xg
