#pragma once
// The loaders read files, so each fuzz input is written to a per-process scratch file first.
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

inline std::string fuzz_input_file(const char* tag, const uint8_t* data, size_t size) {
  const std::string path = "/tmp/xgrad_fuzz_" + std::string(tag) + "_" + std::to_string(::getpid());
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) __builtin_trap();
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}
