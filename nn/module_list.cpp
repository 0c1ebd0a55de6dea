#include <xgrad/nn/module_list.hpp>

#include <fmt/format.h>

namespace xg::nn {

ModuleList::ModuleList(const std::vector<std::shared_ptr<Module>>& modules) : ModuleList() {
  for (const auto& m : modules) push_back(m);
}

const std::shared_ptr<Module>& ModuleList::operator[](std::size_t i) const {
  if (i >= modules_.size()) throw IndexError(fmt::format("ModuleList: index {} out of range for {} modules", i, modules_.size()));
  return modules_[i];
}

void ModuleList::wrong_type(std::size_t i) const {
  throw Error(fmt::format("ModuleList: element {} is a {}, not the type asked for", i, modules_[i]->type_name()));
}

bool ModuleDict::contains(const std::string& name) const {
  for (const auto& [key, _] : entries_)
    if (key == name) return true;
  return false;
}

const std::shared_ptr<Module>& ModuleDict::operator[](const std::string& name) const {
  for (const auto& [key, m] : entries_)
    if (key == name) return m;
  std::string known;
  for (const auto& [key, _] : entries_) known += (known.empty() ? "" : ", ") + key;
  throw IndexError(fmt::format("ModuleDict: no module '{}' (has: {})", name, known.empty() ? "none" : known));
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const auto& [key, _] : entries_) out.push_back(key);
  return out;
}

}  // namespace xg::nn
