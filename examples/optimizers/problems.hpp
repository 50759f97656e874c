#pragma once

// The two functions that the optimizers example minimizes, written as
// ordinary adjoint expressions on Var<double> parameters.

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace optimizers {

enum class Function { tutorial, rosenbrock };

inline constexpr std::array<Function, 2> all_functions = {Function::tutorial,
                                                          Function::rosenbrock};

/// A function to minimize: its name for --function, its parameters with
/// their CSV column names, the default start and the known minimizer.
struct Problem {
  Function function;
  std::string name;
  std::vector<std::string> parameter_names;
  std::vector<double> start;
  std::vector<double> minimum;  // the minimizer, where the loss is 0
};

inline Problem make_problem(Function function) {
  if (function == Function::tutorial) {
    return {function, "tutorial", {"w"}, {0.0}, {2.0}};
  }
  return {function, "rosenbrock", {"a", "b"}, {-1.5, 2.0}, {1.0, 1.0}};
}

/// J(w) = sum((z - w*x)^2) on the sample of examples/gradient_descent:
/// x = 0.1, 0.2, ..., 0.6 and z = 2x, so J(2) = 0 exactly.
inline adjoint::Var<double> tutorial_loss(const adjoint::Var<double>& w) {
  adjoint::Var<double> loss;
  for (const double x : {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}) {
    loss += square(2 * x - w * x);
  }
  return loss;
}

/// The Rosenbrock function (1 - a)^2 + 100 (b - a^2)^2, with its minimum 0
/// at (1, 1) at the end of a long, curved, flat valley.
inline adjoint::Var<double> rosenbrock_loss(const adjoint::Var<double>& a,
                                            const adjoint::Var<double>& b) {
  return square(1.0 - a) + 100.0 * square(b - square(a));
}

/// Builds the loss of `function` at `parameters`, which has one Var per
/// entry of Problem::parameter_names.
inline adjoint::Var<double> loss_of(
    Function function, const std::vector<adjoint::Var<double>>& parameters) {
  if (function == Function::tutorial) return tutorial_loss(parameters[0]);
  return rosenbrock_loss(parameters[0], parameters[1]);
}

}  // namespace optimizers
