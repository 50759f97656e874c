#include <fmt/core.h>

#include "autodiff/autodiff.hpp"
#include "optim/optim.hpp"

int main() {
  adjoint::Var<double> w{0.0};
  adjoint::optim::GradientDescent<double> optimizer({w}, 0.25);
  for (int step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    square(w - 2.0).backward();
    optimizer.step();
  }
  // Each step halves the distance to 2: 1, 1.5, 1.75.
  fmt::print("{}\n", w.value());
  return w.value() == 1.75 ? 0 : 1;
}
