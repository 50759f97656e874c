#pragma once

// A training loop that stops on a tolerance, a step limit or divergence.

#include <cmath>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

/// When minimize() stops. An empty tolerance is not tested.
struct StopCriteria {
  // Converged once the loss is <= this.
  std::optional<double> loss_tolerance;
  // Converged once the Euclidean norm of the parameters' gradients is <=
  // this.
  std::optional<double> gradient_tolerance;
  // Converged once no parameter moved more than this in the last step.
  std::optional<double> step_tolerance;
  std::size_t max_steps = 1000;
  // Diverged once the loss grew this many steps in a row and ended above
  // the starting loss. The second condition keeps the overshoot of momentum
  // methods (Adam, Nesterov), whose loss rises for a while on its way down,
  // from counting. 0 turns the test off, so that only a non-finite loss
  // counts as divergence.
  std::size_t growth_limit = 5;
};

enum class StopReason {
  loss_below_tolerance,
  gradient_below_tolerance,
  step_below_tolerance,
  max_steps_reached,
  loss_not_finite,
  loss_growing,
};

constexpr bool converged(StopReason reason) {
  return reason == StopReason::loss_below_tolerance ||
         reason == StopReason::gradient_below_tolerance ||
         reason == StopReason::step_below_tolerance;
}

constexpr bool diverged(StopReason reason) {
  return reason == StopReason::loss_not_finite ||
         reason == StopReason::loss_growing;
}

constexpr std::string_view describe(StopReason reason) {
  switch (reason) {
    case StopReason::loss_below_tolerance:
      return "the loss reached the tolerance";
    case StopReason::gradient_below_tolerance:
      return "the gradient norm reached the tolerance";
    case StopReason::step_below_tolerance:
      return "the step size reached the tolerance";
    case StopReason::max_steps_reached:
      return "the step limit was reached";
    case StopReason::loss_not_finite:
      return "the loss is not finite";
    case StopReason::loss_growing:
      return "the loss kept growing past its starting value";
  }
  return "unknown";
}

template <class T>
struct MinimizeResult {
  StopReason reason;
  std::size_t steps;  // optimizer steps taken
  T loss;             // loss at the final parameters
};

/// Observer that does nothing.
struct IgnoreSteps {
  template <class T>
  void operator()(std::size_t, const T&) const {}
};

/// Returns the Euclidean norm of the gradients of the optimizer's
/// parameters, NaN if an element is NaN. The squares are taken relative to
/// the largest element, so that a gradient such as 1e-300 does not
/// underflow to a norm of 0 and pass any tolerance, and 1e300 does not
/// overflow.
template <class T>
T gradient_norm(const Optimizer<T>& optimizer) {
  using std::abs;
  using std::isfinite;
  using std::isnan;
  using std::sqrt;
  T largest(0);
  for (const Parameter<T>& p : optimizer.parameters()) {
    for (const T& g : p.grad()) {
      if (isnan(g)) return g;
      if (abs(g) > largest) largest = abs(g);
    }
  }
  if (largest == T(0) || !isfinite(largest)) return largest;
  T sum(0);
  for (const Parameter<T>& p : optimizer.parameters()) {
    for (const T& g : p.grad()) sum += T(g / largest) * T(g / largest);
  }
  return largest * sqrt(sum);
}

/// Minimizes `loss()` with `optimizer`.
///
/// Step k evaluates the loss at the parameters after k updates, runs
/// backward(), calls `observe(k, loss)` (gradients are set at that point),
/// then either stops or updates the parameters. So `observe` receives the
/// starting point as step 0 and the final parameters as the last step, and
/// it is the place to log, clip gradients or step a schedule. An optimizer
/// that needs a closure (LBFGS) gets `loss` as its closure, and the loss
/// and gradients of step k, so that it does not evaluate them again.
template <class T, class LossFunction, class Observer = IgnoreSteps>
MinimizeResult<T> minimize(Optimizer<T>& optimizer, LossFunction&& loss,
                           const StopCriteria& criteria,
                           Observer&& observe = {}) {
  using std::abs;
  using std::isfinite;
  std::vector<T> before;
  T first{0};  // the loss at the start
  T previous{0};
  T last_step_size{0};
  std::size_t growing = 0;
  for (std::size_t step = 0;; ++step) {
    optimizer.zero_grad();
    const Var<T> objective = loss();
    const T value = objective.value();
    if (!objective.requires_grad()) {
      throw std::invalid_argument(
          "minimize: the loss depends on no parameter (it was computed from "
          "constants or under NoGradGuard), so its gradient says nothing; "
          "compute it from the optimizer's parameters with recording on");
    }
    objective.backward();
    observe(step, value);

    if (!isfinite(value)) return {StopReason::loss_not_finite, step, value};
    if (criteria.loss_tolerance && value <= T(*criteria.loss_tolerance)) {
      return {StopReason::loss_below_tolerance, step, value};
    }
    if (criteria.gradient_tolerance &&
        gradient_norm(optimizer) <= T(*criteria.gradient_tolerance)) {
      return {StopReason::gradient_below_tolerance, step, value};
    }
    if (criteria.step_tolerance && step > 0 &&
        last_step_size <= T(*criteria.step_tolerance)) {
      return {StopReason::step_below_tolerance, step, value};
    }
    if (step == 0) first = value;
    growing = step > 0 && value > previous ? growing + 1 : 0;
    if (criteria.growth_limit > 0 && growing >= criteria.growth_limit &&
        value > first) {
      return {StopReason::loss_growing, step, value};
    }
    if (step >= criteria.max_steps) {
      return {StopReason::max_steps_reached, step, value};
    }

    // Only the step tolerance needs the step size, which costs a copy of
    // every parameter value.
    const bool measure_step = criteria.step_tolerance.has_value();
    if (measure_step) {
      before.clear();
      for (Parameter<T> p : optimizer.parameters()) {
        for (const T& v : p.values()) before.push_back(v);
      }
    }
    if (optimizer.needs_closure()) {
      optimizer.step([&loss] { return Var<T>(loss()); }, value);
    } else {
      optimizer.step();
    }
    if (measure_step) {
      last_step_size = T(0);
      std::size_t i = 0;
      for (Parameter<T> p : optimizer.parameters()) {
        for (const T& v : p.values()) {
          const T moved = abs(T(v - before[i++]));
          if (!(moved <= last_step_size)) last_step_size = moved;
        }
      }
    }
    previous = value;
  }
}

}  // namespace adjoint::optim
