#include <xgrad/nn/checkpoint.hpp>

#include <fmt/format.h>
#include <set>

namespace xg::nn {

void save_checkpoint(const Module& module, const std::string& path, const NamedTensors& extra,
                     const std::map<std::string, std::string>& metadata) {
  NamedTensors all = module.state();
  all.insert(all.end(), extra.begin(), extra.end());
  save_safetensors(path, all, metadata);
}

SafetensorsFile load_checkpoint(Module& module, const std::string& path,
                                const std::vector<std::string>& extra_prefixes) {
  SafetensorsFile file = load_safetensors(path);
  std::map<std::string, Tensor> in_file;
  for (auto& [n, t] : file.tensors) in_file[n] = t;
  std::vector<std::string> problems;
  std::set<std::string> used;
  const auto state = module.state();
  for (const auto& [name, t] : state) {
    auto it = in_file.find(name);
    if (it == in_file.end()) {
      problems.push_back(fmt::format("missing '{}' {}", name, shape_str(t.shape())));
      continue;
    }
    used.insert(name);
    const Tensor& f = it->second;
    if (f.shape() != t.shape() || f.dtype() != t.dtype())
      problems.push_back(fmt::format("'{}' is {} {} in the file but {} {} in the model", name,
                                     shape_str(f.shape()), dtype_name(f.dtype()), shape_str(t.shape()),
                                     dtype_name(t.dtype())));
  }
  SafetensorsFile rest;
  rest.metadata = file.metadata;
  for (const auto& [name, t] : file.tensors) {
    if (used.count(name)) continue;
    bool extra = false;
    for (const auto& p : extra_prefixes) extra = extra || name.rfind(p, 0) == 0;
    if (extra) rest.tensors.emplace_back(name, t);
    else problems.push_back(fmt::format("unexpected '{}' {}", name, shape_str(t.shape())));
  }
  if (!problems.empty()) {
    std::string msg = fmt::format("{}: checkpoint does not match the {} model:", path, module.type_name());
    for (const auto& p : problems) msg += "\n  " + p;
    throw FormatError(msg);
  }
  for (const auto& [name, t] : state) Tensor(t).copy_(in_file[name]);
  return rest;
}

}  // namespace xg::nn
