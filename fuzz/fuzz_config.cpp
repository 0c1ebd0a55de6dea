// libFuzzer target: config.json. The reader must reject bad input with xg::Error and never crash;
// a configuration it accepts must pass the same validation train applies, and build (sizes
// permitting) no model it could not also write back and read again.
#include <string>

#include "config.hpp"
#include <xgrad/core/errors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = xg::translation::ModelConfig::from_json(text, "config.json");
    c.validate();  // accepted by the reader: accepted by train too
    const auto again = xg::translation::ModelConfig::from_json(c.to_json(), "config.json");
    if (again.to_json() != c.to_json()) __builtin_trap();
  } catch (const xg::Error&) {
  }
  return 0;
}
