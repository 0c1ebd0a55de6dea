#pragma once
/// \file
/// Containers of submodules, as libtorch's: ModuleList (registered as "0", "1", ...) for stacks whose
/// forward is not a plain chain (a Sequential is one), ModuleDict (registered by name) for layers
/// chosen by a key. Their parameters appear under those names in named_parameters() and checkpoints.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <xgrad/nn/module.hpp>

namespace xg::nn {

/// Submodules in a list, registered as "0", "1", ... (torch.nn.ModuleList); forward is the owner's
/// business.
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  explicit ModuleList(const std::vector<std::shared_ptr<Module>>& modules);  ///< appends each

  /// Appends `m` as submodule "<size>" and returns it, typed as given.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    register_module(std::to_string(modules_.size()), m);
    modules_.push_back(m);
    return m;
  }
  std::size_t size() const { return modules_.size(); }  ///< number of modules
  bool empty() const { return modules_.empty(); }  ///< no modules
  /// IndexError outside [0, size).
  const std::shared_ptr<Module>& operator[](std::size_t i) const;
  /// Element i as an M; an Error naming both types when it is not one.
  template <class M>
  std::shared_ptr<M> at(std::size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!typed) wrong_type(i);
    return typed;
  }
  /// Iteration over the modules in order.
  ///@{
  std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return modules_.begin(); }
  std::vector<std::shared_ptr<Module>>::const_iterator end() const { return modules_.end(); }
  ///@}

 private:
  [[noreturn]] void wrong_type(std::size_t i) const;
  std::vector<std::shared_ptr<Module>> modules_;
};

/// Submodules by name, in insertion order (torch.nn.ModuleDict).
class ModuleDict : public Module {
 public:
  ModuleDict() : Module("ModuleDict") {}
  /// Registers `m` under `name` (non-empty, no dots: it becomes part of checkpoint keys); a name
  /// already taken is an Error.
  template <class M>
  std::shared_ptr<M> insert(const std::string& name, std::shared_ptr<M> m) {
    register_module(name, m);  // checks the name and that it is new
    entries_.emplace_back(name, m);
    return m;
  }
  bool contains(const std::string& name) const;  ///< whether a module of that name is held
  /// IndexError naming the keys there are when `name` is not one of them.
  const std::shared_ptr<Module>& operator[](const std::string& name) const;
  std::vector<std::string> keys() const;  ///< in insertion order
  std::size_t size() const { return entries_.size(); }  ///< number of modules

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> entries_;
};

}  // namespace xg::nn
