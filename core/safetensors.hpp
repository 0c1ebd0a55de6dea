#pragma once
/// \file
/// The safetensors format (8-byte little-endian header length, a JSON header with dtype, shape and
/// data_offsets per tensor, then raw little-endian data), readable by numpy and PyTorch users.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg {

/// Tensors by name, in order: what checkpoints and optimiser states hold.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// The contents of a safetensors file.
struct SafetensorsFile {
  NamedTensors tensors;                         ///< in file order of data offsets
  std::map<std::string, std::string> metadata;  ///< the "__metadata__" entry
};

/// Writes atomically: a temporary file beside `path`, flushed and fsync'ed, then renamed over
/// `path` (and the directory fsync'ed), so a crash leaves either the old file or the new one.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads and validates the whole file; any inconsistency (truncation, a header length beyond the
/// file, bad JSON, unknown dtype, offsets out of range, overlapping or of the wrong size) is a
/// FormatError naming the file and the tensor.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace xg
