#pragma once

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

/// Plain gradient descent: p <- p - learning_rate * dL/dp.
template <class T>
class GradientDescent : public Optimizer<T> {
 public:
  GradientDescent(std::vector<Parameter<T>> parameters, T learning_rate)
      : Optimizer<T>(std::move(parameters)),
        learning_rate_(std::move(learning_rate)) {
    check_learning_rate(learning_rate_);
  }

  const T& learning_rate() const { return learning_rate_; }

  void set_learning_rate(T learning_rate) {
    check_learning_rate(learning_rate);
    learning_rate_ = std::move(learning_rate);
  }

 protected:
  void update() override {
    for (Parameter<T>& p : this->mutable_parameters()) {
      const std::span<T> values = p.values();
      const std::span<const T> grad = p.grad();
      for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] -= learning_rate_ * grad[i];
      }
    }
  }

 private:
  static void check_learning_rate(const T& learning_rate) {
    using std::isfinite;
    if (isfinite(learning_rate) && learning_rate >= T(0)) return;
    throw std::invalid_argument(fmt::format(
        "GradientDescent: invalid learning rate {}; it must be a finite "
        "number >= 0",
        static_cast<double>(learning_rate)));
  }

  T learning_rate_;
};

}  // namespace adjoint::optim
