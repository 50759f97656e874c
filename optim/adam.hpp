#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

/// Settings of Adam, named and defaulted as torch.optim.Adam's (beta1 and
/// beta2 are PyTorch's betas).
template <class T>
struct AdamOptions {
  T learning_rate = T(1e-3);
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  T eps = T(1e-8);
  T weight_decay = T(0);
  bool amsgrad = false;
};

/// Settings of AdamW, as torch.optim.AdamW's: Adam's, with a weight decay
/// of 1e-2 that is applied to the parameters directly.
template <class T>
struct AdamWOptions {
  T learning_rate = T(1e-3);
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  T eps = T(1e-8);
  T weight_decay = T(1e-2);
  bool amsgrad = false;
};

/// Adam (Kingma and Ba, 2015), as torch.optim.Adam. At step t, for each
/// parameter p with gradient g:
///
///     g <- g + lambda p                       if lambda != 0
///     m <- beta1 m + (1 - beta1) g
///     v <- beta2 v + (1 - beta2) g^2
///     v_max <- max(v_max, v)                  if amsgrad (else v_max = v)
///     p <- p - lr (m / (1 - beta1^t)) / (sqrt(v_max / (1 - beta2^t)) + eps)
///
/// m, v and v_max start at 0. The library computes the last line as
/// PyTorch does, dividing sqrt(v_max) by sqrt(1 - beta2^t) before eps is
/// added.
template <class T>
class Adam : public Optimizer<T> {
 public:
  using Options = AdamOptions<T>;

  Adam(ParameterList<T> parameters, Options options = {})
      : Adam("Adam", std::move(parameters), std::move(options), false) {}

  const Options& options() const { return options_; }

 protected:
  Adam(std::string name, ParameterList<T> parameters, Options options,
       bool decoupled)
      : Optimizer<T>(std::move(name), std::move(parameters),
                     options.learning_rate),
        options_(std::move(options)),
        decoupled_(decoupled) {
    const std::string& optimizer = this->name();
    check_unit_interval(optimizer, "beta1", options_.beta1);
    check_unit_interval(optimizer, "beta2", options_.beta2);
    check_non_negative(optimizer, "eps", options_.eps);
    check_non_negative(optimizer, "weight_decay", options_.weight_decay);
    exp_avg_ = this->add_buffer("exp_avg");
    exp_avg_sq_ =
        this->add_buffer("exp_avg_sq", T(0), BufferValues::non_negative);
    if (options_.amsgrad)
      max_exp_avg_sq_ =
          this->add_buffer("max_exp_avg_sq", T(0), BufferValues::non_negative);
  }

  void update() override {
    using std::pow;
    using std::sqrt;
    const T& beta1 = options_.beta1;
    const T& beta2 = options_.beta2;
    const T& lambda = options_.weight_decay;
    const T t(static_cast<double>(this->steps()));
    const T correction1 = T(1) - T(pow(beta1, t));
    const T correction2_sqrt = sqrt(T(T(1) - T(pow(beta2, t))));
    for (std::size_t i = 0; i < this->parameters().size(); ++i) {
      Parameter<T>& p = this->mutable_parameters()[i];
      const std::span<T> values = p.values();
      const std::span<const T> grad = p.grad();
      const T& lr = this->learning_rate(this->group_of(i));
      const T step_size = lr / correction1;
      const T shrink = T(1) - lr * lambda;  // AdamW's decay factor
      const std::span<T> m = this->buffer(exp_avg_, i);
      const std::span<T> v = this->buffer(exp_avg_sq_, i);
      const std::span<T> v_max =
          options_.amsgrad ? this->buffer(max_exp_avg_sq_, i) : v;
      for (std::size_t k = 0; k < values.size(); ++k) {
        T g = grad[k];
        if (decoupled_) {
          values[k] *= shrink;
        } else if (lambda != T(0)) {
          g += lambda * values[k];
        }
        m[k] = beta1 * m[k] + (T(1) - beta1) * g;
        v[k] = beta2 * v[k] + (T(1) - beta2) * g * g;
        if (options_.amsgrad) v_max[k] = std::max(v_max[k], v[k]);
        const T denominator = sqrt(v_max[k]) / correction2_sqrt + options_.eps;
        values[k] -= step_size * m[k] / denominator;
      }
    }
  }

 private:
  Options options_;
  bool decoupled_;  // AdamW: weight decay scales the parameter directly
  std::size_t exp_avg_ = 0;  // buffer indices
  std::size_t exp_avg_sq_ = 0;
  std::size_t max_exp_avg_sq_ = 0;
};

/// AdamW (Loshchilov and Hutter, 2019), as torch.optim.AdamW: Adam with the
/// weight decay decoupled from the gradient. Each step first sets
/// p <- p (1 - lr lambda), then applies Adam's update without the
/// lambda p term.
template <class T>
class AdamW : public Adam<T> {
 public:
  using Options = AdamWOptions<T>;

  AdamW(ParameterList<T> parameters, Options options = {})
      : Adam<T>("AdamW", std::move(parameters), to_adam(options), true) {}

 private:
  static AdamOptions<T> to_adam(const Options& o) {
    return {o.learning_rate, o.beta1,        o.beta2,
            o.eps,           o.weight_decay, o.amsgrad};
  }
};

}  // namespace adjoint::optim
