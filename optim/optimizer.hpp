#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "autodiff/error.hpp"
#include "autodiff/var.hpp"

namespace adjoint::optim {

/// Base of every optimizer. It stores the parameters and applies an update
/// computed from their gradients.
///
/// The optimizer keeps handles that share each parameter's value and
/// gradient, so the caller's Var objects see every update. A subclass
/// implements update(), which reads gradients and sets values.
template <class T>
class Optimizer {
 public:
  explicit Optimizer(std::vector<Var<T>> parameters)
      : parameters_(std::move(parameters)) {
    if (parameters_.empty()) {
      throw std::invalid_argument(
          "optimizer: the parameter list is empty; pass the Var parameters "
          "to optimize");
    }
    std::unordered_map<const void*, std::size_t> seen;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      check_parameter(i);
      const auto [first, inserted] =
          seen.emplace(parameters_[i].parameter_id(), i);
      if (!inserted) {
        throw std::invalid_argument(fmt::format(
            "optimizer: parameters {} and {} are the same parameter, which "
            "would be updated twice per step; pass each parameter once",
            first->second, i));
      }
    }
  }

  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  /// Updates every parameter from its gradient. Records nothing.
  void step() {
    for (std::size_t i = 0; i < parameters_.size(); ++i) check_parameter(i);
    NoGradGuard no_grad;
    update();
  }

  /// Sets the gradient of every parameter to zero.
  void zero_grad() {
    for (Var<T>& parameter : parameters_) parameter.zero_grad();
  }

  const std::vector<Var<T>>& parameters() const { return parameters_; }

 protected:
  /// Applies one update to parameters(). Called by step().
  virtual void update() = 0;

  std::vector<Var<T>>& mutable_parameters() { return parameters_; }

 private:
  void check_parameter(std::size_t i) const {
    if (parameters_[i].is_leaf()) return;
    throw std::invalid_argument(fmt::format(
        "optimizer: parameter {} is {}, not a parameter; create it with "
        "Var<T>{{value}}",
        i,
        parameters_[i].is_constant() ? "a constant" : "an intermediate node"));
  }

  std::vector<Var<T>> parameters_;
};

}  // namespace adjoint::optim
