#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

/// Settings of GradientDescent, named and defaulted as torch.optim.SGD's
/// (PyTorch 2, where lr defaults to 1e-3).
template <class T>
struct GradientDescentOptions {
  T learning_rate = T(1e-3);
  T momentum = T(0);
  T dampening = T(0);
  T weight_decay = T(0);
  bool nesterov = false;
};

/// Gradient descent with optional momentum, Nesterov momentum and weight
/// decay; torch.optim.SGD's update. At step t, for each parameter p with
/// gradient g, learning rate lr, momentum mu, dampening tau and weight decay
/// lambda:
///
///     g <- g + lambda p                          if lambda != 0
///     b <- g                                     if mu != 0 and t = 1
///     b <- mu b + (1 - tau) g                    if mu != 0 and t > 1
///     g <- g + mu b  (Nesterov)  or  g <- b      if mu != 0
///     p <- p - lr g
///
/// With the defaults this is p <- p - lr dL/dp. Nesterov momentum needs
/// mu > 0 and tau = 0.
template <class T>
class GradientDescent : public Optimizer<T> {
 public:
  using Options = GradientDescentOptions<T>;

  /// Plain gradient descent with the given learning rate.
  GradientDescent(ParameterList<T> parameters, const T& learning_rate)
      : GradientDescent(std::move(parameters),
                        Options{.learning_rate = learning_rate}) {}

  GradientDescent(ParameterList<T> parameters, Options options)
      : Optimizer<T>("GradientDescent", std::move(parameters),
                     options.learning_rate),
        options_(std::move(options)) {
    initialize();
  }

  const Options& options() const { return options_; }

 protected:
  void update() override {
    const T& mu = options_.momentum;
    const T& lambda = options_.weight_decay;
    const bool first = this->steps() == 1;
    const T keep = T(1) - options_.dampening;
    for (std::size_t i = 0; i < this->parameters().size(); ++i) {
      Parameter<T>& p = this->mutable_parameters()[i];
      const std::span<T> values = p.values();
      const std::span<const T> grad = p.grad();
      const T& lr = this->learning_rate(this->group_of(i));
      const std::span<T> momentum =
          mu != T(0) ? this->buffer(momentum_, i) : std::span<T>{};
      for (std::size_t k = 0; k < values.size(); ++k) {
        T g = grad[k];
        if (lambda != T(0)) g += lambda * values[k];
        if (mu != T(0)) {
          T& b = momentum[k];
          b = first ? g : T(mu * b + keep * g);
          g = options_.nesterov ? T(g + mu * b) : b;
        }
        values[k] -= lr * g;
      }
    }
  }

 private:
  void initialize() {
    const std::string& name = this->name();
    check_non_negative(name, "momentum", options_.momentum);
    check_non_negative(name, "dampening", options_.dampening);
    check_non_negative(name, "weight_decay", options_.weight_decay);
    if (options_.nesterov) {
      check_setting(options_.momentum > T(0), name, "momentum (with nesterov)",
                    options_.momentum, "> 0 for Nesterov momentum");
      check_setting(options_.dampening == T(0), name,
                    "dampening (with nesterov)", options_.dampening,
                    "0 for Nesterov momentum");
    }
    if (options_.momentum != T(0)) {
      momentum_ = this->add_buffer("momentum_buffer");
    }
  }

  Options options_;
  std::size_t momentum_ = 0;  // buffer index
};

}  // namespace adjoint::optim
