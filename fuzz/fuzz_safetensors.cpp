// libFuzzer target: the safetensors loader must reject bad files with xg::Error, never crash
// or read out of bounds, and a file it accepts must hold tensors whose data fits.
#include <string>

#include <xgrad/core/errors.hpp>
#include "fuzz_input.hpp"
#include <xgrad/core/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_input_file("st", data, size);
  try {
    const auto file = xg::load_safetensors(path);
    size_t bytes = 0;
    for (const auto& [name, t] : file.tensors) bytes += static_cast<size_t>(t.numel()) * xg::dtype_size(t.dtype());
    if (bytes > size) __builtin_trap();
  } catch (const xg::Error&) {
  }
  return 0;
}
