#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

/// Settings of RMSProp, named and defaulted as torch.optim.RMSprop's.
template <class T>
struct RMSPropOptions {
  T learning_rate = T(1e-2);
  T alpha = T(0.99);
  T eps = T(1e-8);
  T weight_decay = T(0);
  T momentum = T(0);
  bool centered = false;
};

/// RMSProp (Hinton, 2012), as torch.optim.RMSprop. At each step, for each
/// parameter p with gradient g:
///
///     g <- g + lambda p                          if lambda != 0
///     v <- alpha v + (1 - alpha) g^2
///     a <- alpha a + (1 - alpha) g,  s = v - a^2 if centered (else s = v)
///     b <- mu b + g / (sqrt(s) + eps),  p <- p - lr b    if mu > 0
///     p <- p - lr g / (sqrt(s) + eps)                    otherwise
///
/// v, a and b start at 0.
template <class T>
class RMSProp : public Optimizer<T> {
 public:
  using Options = RMSPropOptions<T>;

  RMSProp(ParameterList<T> parameters, Options options = {})
      : Optimizer<T>("RMSProp", std::move(parameters), options.learning_rate),
        options_(std::move(options)) {
    initialize();
  }

  const Options& options() const { return options_; }

 protected:
  void update() override {
    using std::sqrt;
    const T& alpha = options_.alpha;
    const T& lambda = options_.weight_decay;
    const T& mu = options_.momentum;
    for (std::size_t i = 0; i < this->parameters().size(); ++i) {
      Parameter<T>& p = this->mutable_parameters()[i];
      const std::span<T> values = p.values();
      const std::span<const T> grad = p.grad();
      const T& lr = this->learning_rate(this->group_of(i));
      const std::span<T> v = this->buffer(square_avg_, i);
      const std::span<T> a =
          options_.centered ? this->buffer(grad_avg_, i) : std::span<T>{};
      const std::span<T> b =
          mu > T(0) ? this->buffer(momentum_, i) : std::span<T>{};
      for (std::size_t k = 0; k < values.size(); ++k) {
        T g = grad[k];
        if (lambda != T(0)) g += lambda * values[k];
        v[k] = alpha * v[k] + (T(1) - alpha) * g * g;
        T s = v[k];
        if (options_.centered) {
          a[k] = alpha * a[k] + (T(1) - alpha) * g;
          s -= a[k] * a[k];
        }
        const T denominator = sqrt(s) + options_.eps;
        if (mu > T(0)) {
          b[k] = mu * b[k] + g / denominator;
          values[k] -= lr * b[k];
        } else {
          values[k] -= lr * g / denominator;
        }
      }
    }
  }

 private:
  void initialize() {
    const std::string& name = this->name();
    check_unit_interval(name, "alpha", options_.alpha);
    check_non_negative(name, "eps", options_.eps);
    check_non_negative(name, "weight_decay", options_.weight_decay);
    check_non_negative(name, "momentum", options_.momentum);
    square_avg_ =
        this->add_buffer("square_avg", T(0), BufferValues::non_negative);
    if (options_.centered) grad_avg_ = this->add_buffer("grad_avg");
    if (options_.momentum > T(0)) {
      momentum_ = this->add_buffer("momentum_buffer");
    }
  }

  Options options_;
  std::size_t square_avg_ = 0;  // buffer indices
  std::size_t grad_avg_ = 0;
  std::size_t momentum_ = 0;
};

}  // namespace adjoint::optim
