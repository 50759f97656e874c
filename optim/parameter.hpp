#pragma once

#include <cstddef>
#include <span>
#include <utility>
#include <variant>

#include "autodiff/tensor.hpp"
#include "autodiff/var.hpp"

namespace adjoint::optim {

/// A trainable parameter in the form an optimizer updates: a scalar Var or
/// a Tensor, either way an array of values with an array of gradients of the
/// same length. The handle shares the caller's parameter, so updates through
/// values() are the caller's updates.
template <class T>
class Parameter {
 public:
  Parameter(Var<T> scalar) : handle_(std::move(scalar)) {}
  Parameter(Tensor<T> tensor) : handle_(std::move(tensor)) {}

  /// Returns whether the handle is a parameter rather than a constant or an
  /// intermediate result.
  bool is_leaf() const {
    return std::visit([](const auto& h) { return h.is_leaf(); }, handle_);
  }

  /// Identifies the parameter: copies of one parameter give the same
  /// address.
  const void* id() const {
    return std::visit([](const auto& h) { return h.parameter_id(); }, handle_);
  }

  /// Returns what the handle is, for error messages: "a constant" or "an
  /// intermediate result".
  const char* kind() const {
    const bool constant =
        std::visit([](const auto& h) { return h.is_constant(); }, handle_);
    return is_leaf()  ? "a parameter"
           : constant ? "a constant"
                      : "an intermediate result";
  }

  std::span<T> values() {
    return std::visit([](auto& h) { return h.mutable_values(); }, handle_);
  }

  std::span<const T> grad() const {
    return std::visit([](const auto& h) { return h.grad_values(); }, handle_);
  }

  /// Returns the gradient for a caller that changes it, for example to clip
  /// it.
  std::span<T> mutable_grad() {
    return std::visit([](auto& h) { return h.mutable_grad_values(); }, handle_);
  }

  void zero_grad() {
    std::visit([](auto& h) { h.zero_grad(); }, handle_);
  }

  std::size_t size() const { return grad().size(); }

 private:
  std::variant<Var<T>, Tensor<T>> handle_;
};

}  // namespace adjoint::optim
