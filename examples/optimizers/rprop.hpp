#pragma once

// Rprop (resilient backpropagation), written in the example rather than in
// the library to show how an application adds its own optimizer.
//
// Deriving from adjoint::optim::Optimizer<T> takes three things: pass a name
// and the learning rate to the base constructor, create the per-parameter
// state with add_buffer(), and implement update(). The base class then
// supplies parameter groups, zero_grad(), step(), state() and load_state(),
// and adjoint::optim::minimize() runs the optimizer like any other.
//
// The update follows torch.optim.Rprop (torch/optim/rprop.py). Each element
// of a parameter p has its own step size s, which starts at the learning
// rate lr of its group.
// At each step, with gradient g and g_prev from the step before (0 at
// first):
//
//     if g * g_prev > 0:  s <- min(s * eta_plus, step_size_max)
//     if g * g_prev < 0:  s <- max(s * eta_minus, step_size_min),  g <- 0
//     p <- p - sign(g) * s
//     g_prev <- g
//
// So s grows while the gradient keeps its sign and shrinks after it flips,
// and only the sign of the gradient matters, never its size. A flip skips
// the move for that step. PyTorch also clamps s to [step_size_min,
// step_size_max] when g * g_prev = 0, which changes nothing unless lr lies
// outside that range.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "optim/optimizer.hpp"

namespace optimizers {

/// Settings of Rprop, named and defaulted as torch.optim.Rprop's (etas are
/// eta_minus and eta_plus, step_sizes are step_size_min and step_size_max).
template <class T>
struct RpropOptions {
  T learning_rate = T(1e-2);  // the initial step size
  T eta_minus = T(0.5);
  T eta_plus = T(1.2);
  T step_size_min = T(1e-6);
  T step_size_max = T(50);
};

/// Resilient backpropagation: a step size per element that adapts to the
/// sign of the gradient. See the formula at the top of this file.
template <class T>
class Rprop : public adjoint::optim::Optimizer<T> {
 public:
  using Options = RpropOptions<T>;

  Rprop(adjoint::optim::ParameterList<T> parameters, Options options = {})
      : adjoint::optim::Optimizer<T>("Rprop", std::move(parameters),
                                     options.learning_rate),
        options_(std::move(options)) {
    initialize();
  }

  const Options& options() const { return options_; }

 protected:
  void update() override {
    for (std::size_t i = 0; i < this->parameters().size(); ++i) {
      adjoint::optim::Parameter<T>& p = this->mutable_parameters()[i];
      const std::span<T> values = p.values();
      const std::span<const T> grad = p.grad();
      const std::span<T> previous = this->buffer(previous_gradient_, i);
      const std::span<T> step_size = this->buffer(step_size_, i);
      // The step sizes start at the group's learning rate, which is known
      // only per group, so they are set here rather than by add_buffer().
      // A state loaded with load_state() has steps() > 1 and keeps its own.
      if (this->steps() == 1) {
        std::fill(step_size.begin(), step_size.end(),
                  this->learning_rate(this->group_of(i)));
      }
      for (std::size_t k = 0; k < values.size(); ++k) {
        T g = grad[k];
        const T product = g * previous[k];
        if (product > T(0)) {
          step_size[k] = std::min(T(step_size[k] * options_.eta_plus),
                                  options_.step_size_max);
        } else if (product < T(0)) {
          step_size[k] = std::max(T(step_size[k] * options_.eta_minus),
                                  options_.step_size_min);
          g = T(0);
        }
        if (g > T(0)) {
          values[k] -= step_size[k];
        } else if (g < T(0)) {
          values[k] += step_size[k];
        }
        previous[k] = g;
      }
    }
  }

 private:
  void initialize() {
    using adjoint::optim::check_non_negative;
    using adjoint::optim::check_setting;
    using std::isfinite;
    const std::string& name = this->name();
    const Options& o = options_;
    check_setting(o.eta_minus > T(0) && o.eta_minus < T(1), name, "eta_minus",
                  o.eta_minus, "in (0, 1)");
    check_setting(isfinite(o.eta_plus) && o.eta_plus > T(1), name, "eta_plus",
                  o.eta_plus, "a finite number > 1");
    check_non_negative(name, "step_size_min", o.step_size_min);
    check_setting(
        isfinite(o.step_size_max) && o.step_size_max >= o.step_size_min, name,
        "step_size_max", o.step_size_max, "a finite number >= step_size_min");
    previous_gradient_ = this->add_buffer("prev");
    step_size_ = this->add_buffer("step_size", T(0),
                                  adjoint::optim::BufferValues::non_negative);
  }

  Options options_;
  std::size_t previous_gradient_ = 0;  // buffer indices
  std::size_t step_size_ = 0;
};

}  // namespace optimizers
