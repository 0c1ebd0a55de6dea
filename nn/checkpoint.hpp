#pragma once
/// \file
/// Module checkpoints as safetensors files: parameters and buffers under their dotted names.
#include <map>
#include <string>

#include <xgrad/core/safetensors.hpp>
#include <xgrad/nn/module.hpp>

namespace xg::nn {

/// Saves module.state() (plus `extra` tensors such as optimiser state, and metadata) atomically.
void save_checkpoint(const Module& module, const std::string& path, const NamedTensors& extra = {},
                     const std::map<std::string, std::string>& metadata = {});

/// Loads into the module's existing tensors, in place. Every missing, unexpected, or mismatched
/// (shape or dtype) tensor is listed by name in one FormatError, and nothing is changed unless
/// everything matches. Tensors whose names start with one of `extra_prefixes` are not treated
/// as unexpected; they are returned for the caller (e.g. "optim.").
SafetensorsFile load_checkpoint(Module& module, const std::string& path,
                                const std::vector<std::string>& extra_prefixes = {});

}  // namespace xg::nn
