#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "autodiff/error.hpp"
#include "optim/parameter.hpp"

namespace adjoint::optim {

/// Base of every optimizer. It stores the parameters and applies an update
/// computed from their gradients.
///
/// The optimizer keeps handles that share each parameter's values and
/// gradient, so the caller's Var and Tensor objects see every update. A
/// subclass implements update(), which reads gradients and sets values.
template <class T>
class Optimizer {
 public:
  explicit Optimizer(std::vector<Parameter<T>> parameters)
      : parameters_(std::move(parameters)) {
    if (parameters_.empty()) {
      throw std::invalid_argument(
          "optimizer: the parameter list is empty; pass the Var or Tensor "
          "parameters to optimize");
    }
    std::unordered_map<const void*, std::size_t> seen;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      check_parameter(i);
      const auto [first, inserted] =
          seen.emplace(parameters_[i].id(), i);
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
    for (Parameter<T>& parameter : parameters_) parameter.zero_grad();
  }

  const std::vector<Parameter<T>>& parameters() const { return parameters_; }

 protected:
  /// Applies one update to parameters(). Called by step().
  virtual void update() = 0;

  std::vector<Parameter<T>>& mutable_parameters() { return parameters_; }

 private:
  void check_parameter(std::size_t i) const {
    if (parameters_[i].is_leaf()) return;
    throw std::invalid_argument(fmt::format(
        "optimizer: parameter {} is {}, not a parameter; create it with "
        "Var<T>{{value}} or adjoint::parameter(tensor)",
        i, parameters_[i].kind()));
  }

  std::vector<Parameter<T>> parameters_;
};

}  // namespace adjoint::optim
