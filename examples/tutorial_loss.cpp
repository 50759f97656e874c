// The tutorial loss J(w) = sum((z - w x)^2) written by hand with scalar
// nodes, and its gradient at w = 0.
#include <fmt/core.h>

#include "autodiff/autodiff.hpp"

int main() {
  const double x[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  const double z[] = {0.2, 0.4, 0.6, 0.8, 1.0, 1.2};  // z = 2x

  adjoint::Var<double> w{0.0};  // a parameter
  adjoint::Var<double> loss;    // a constant 0 to start the sum
  for (int i = 0; i < 6; ++i) loss += square(z[i] - w * x[i]);
  loss.backward();

  fmt::print("J(w) = {}\n", loss.value());  // 3.64 = 4 * sum(x^2)
  fmt::print("dJ/dw = {}\n", w.grad());     // -3.64 = -2 * sum(x z)
}
