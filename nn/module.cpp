#include <xgrad/nn/module.hpp>

#include <fmt/format.h>

#include <xgrad/core/detail/tensor_impl.hpp>

namespace xg::nn {

void Module::check_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw Error(fmt::format("{}: invalid name '{}' (non-empty, no dots)", type_name_, name));
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  if (taken(parameters_) || taken(buffers_) || taken(children_))
    throw Error(fmt::format("{}: the name '{}' is already registered", type_name_, name));
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_name(name);
  if (!t.defined()) throw Error(fmt::format("{}: parameter '{}' is undefined", type_name_, name));
  if (!t.is_leaf()) t = t.detach();
  t.requires_grad_(true);
  parameters_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name);
  if (!t.defined()) throw Error(fmt::format("{}: buffer '{}' is undefined", type_name_, name));
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name);
  if (!m) throw Error(fmt::format("{}: submodule '{}' is null", type_name_, name));
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, bool buffers,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  if (params)
    for (const auto& [n, t] : parameters_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, child] : children_) child->collect(prefix + n + ".", params, buffers, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, false, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, true, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& t : parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.zero_grad();
}

void Module::to(DType dtype) {
  for (auto& [_, t] : state()) {
    if (t.dtype() == dtype) continue;
    Tensor converted = Tensor::uninitialized(t.shape(), dtype);
    converted.copy_(t);
    TensorImpl* impl = t.impl();
    impl->storage = converted.impl()->storage;
    impl->dtype = dtype;
    impl->grad = Tensor();
  }
}

static std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

void Module::summary_lines(const std::string& name, int depth, std::string& out) const {
  if (depth == 0)  // the root has no name of its own
    out += fmt::format("{}({})  {} params\n", type_name_, extra_repr(), with_commas(num_parameters()));
  else
    out += fmt::format("{:<{}}{:<28} {}({})  {} params\n", "", depth * 2, name, type_name_, extra_repr(),
                       with_commas(num_parameters()));
  for (const auto& [n, child] : children_) child->summary_lines(n, depth + 1, out);
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child);
    for (auto& [below, m] : child->named_modules()) out.emplace_back(name + "." + below, m);
  }
  return out;
}

std::string Module::summary() const {
  std::string out;
  summary_lines("", 0, out);
  return out;
}

}  // namespace xg::nn
