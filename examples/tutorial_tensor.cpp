// The tutorial loss J(w) = sum((z - w x)^2) written with tensor operators,
// and its gradient at w = 0. It gives the value and gradient of the loop of
// scalar nodes in tutorial_loss.cpp up to rounding: the sum adds its terms
// in another order. Twelve digits hide that difference.
#include <fmt/core.h>

#include "autodiff/autodiff.hpp"

int main() {
  adjoint::Tensor<double> x{0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  adjoint::Tensor<double> z = 2.0 * x;  // data: no gradient
  adjoint::Var<double> w{0.0};          // a parameter that broadcasts

  adjoint::Var<double> loss = sum(square(z - w * x));  // a reduction is a Var
  loss.backward();

  fmt::print("J(w) = {:.12g}\n", loss.value());  // 3.64 = 4 * sum(x^2)
  fmt::print("dJ/dw = {:.12g}\n", w.grad());     // -3.64 = -2 * sum(x z)
}
