#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

/// Settings of Adagrad, named and defaulted as torch.optim.Adagrad's.
template <class T>
struct AdagradOptions {
  T learning_rate = T(1e-2);
  T lr_decay = T(0);
  T weight_decay = T(0);
  T initial_accumulator_value = T(0);
  T eps = T(1e-10);
};

/// Adagrad (Duchi, Hazan and Singer, 2011), as torch.optim.Adagrad. At step
/// t, for each parameter p with gradient g:
///
///     lr_t = lr / (1 + (t - 1) lr_decay)
///     g <- g + lambda p                          if lambda != 0
///     s <- s + g^2
///     p <- p - lr_t g / (sqrt(s) + eps)
///
/// s starts at initial_accumulator_value.
template <class T>
class Adagrad : public Optimizer<T> {
 public:
  using Options = AdagradOptions<T>;

  Adagrad(ParameterList<T> parameters, Options options = {})
      : Optimizer<T>("Adagrad", std::move(parameters), options.learning_rate),
        options_(std::move(options)) {
    initialize();
  }

  const Options& options() const { return options_; }

 protected:
  void update() override {
    using std::sqrt;
    const T& lambda = options_.weight_decay;
    const T decay =
        T(1) + T(static_cast<double>(this->steps() - 1)) * options_.lr_decay;
    for (std::size_t i = 0; i < this->parameters().size(); ++i) {
      Parameter<T>& p = this->mutable_parameters()[i];
      const std::span<T> values = p.values();
      const std::span<const T> grad = p.grad();
      const T lr = this->learning_rate(this->group_of(i)) / decay;
      const std::span<T> s = this->buffer(sum_, i);
      for (std::size_t k = 0; k < values.size(); ++k) {
        T g = grad[k];
        if (lambda != T(0)) g += lambda * values[k];
        s[k] += g * g;
        values[k] -= lr * g / (sqrt(s[k]) + options_.eps);
      }
    }
  }

 private:
  void initialize() {
    const std::string& name = this->name();
    check_non_negative(name, "lr_decay", options_.lr_decay);
    check_non_negative(name, "weight_decay", options_.weight_decay);
    check_non_negative(name, "initial_accumulator_value",
                       options_.initial_accumulator_value);
    check_non_negative(name, "eps", options_.eps);
    sum_ = this->add_buffer("sum", options_.initial_accumulator_value,
                            BufferValues::non_negative);
  }

  Options options_;
  std::size_t sum_ = 0;  // buffer index
};

}  // namespace adjoint::optim
