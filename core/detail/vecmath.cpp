#include <cstdlib>
#include <fmt/format.h>
#include <string>

#include <xgrad/core/detail/vecmath_isa.hpp>
#include <xgrad/core/errors.hpp>

namespace xg::vecmath {

bool cpu_runs(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("fma");
    case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Sse2:
    case Isa::Reference: return true;
  }
  return false;
}

const char* to_string(Isa isa) {
  switch (isa) {
    case Isa::Reference: return "reference";
    case Isa::Sse2: return "sse2";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

namespace {
Isa chosen_isa() {
  const char* name = std::getenv("XGRAD_KERNELS");
  if (!name || !*name)
    return cpu_runs(Isa::Avx512) ? Isa::Avx512 : cpu_runs(Isa::Avx2) ? Isa::Avx2 : Isa::Sse2;
  for (Isa isa : {Isa::Reference, Isa::Sse2, Isa::Avx2, Isa::Avx512})
    if (std::string(name) == to_string(isa)) {
      if (!cpu_runs(isa)) throw Error(fmt::format("XGRAD_KERNELS={}: this CPU does not run that instruction set", name));
      return isa;
    }
  throw Error(fmt::format("XGRAD_KERNELS={}: unknown (reference, sse2, avx2 or avx512)", name));
}

template <class T>
const Kernels<T>& table_for(Isa isa) {
  if (!cpu_runs(isa)) throw Error(fmt::format("vecmath: this CPU does not run {}", to_string(isa)));
  switch (isa) {
    case Isa::Reference: return reference::table(T());
    case Isa::Sse2: return sse2::table(T());
    case Isa::Avx2: return avx2::table(T());
    case Isa::Avx512: return avx512::table(T());
  }
  return reference::table(T());
}
}  // namespace

Isa active_isa() {
  static const Isa isa = chosen_isa();
  return isa;
}

const Kernels<float>& kernels_for(Isa isa, float) { return table_for<float>(isa); }
const Kernels<double>& kernels_for(Isa isa, double) { return table_for<double>(isa); }

}  // namespace xg::vecmath
