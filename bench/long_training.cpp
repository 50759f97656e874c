// Trains a small tensor model for 10^5 optimizer steps and prints the
// resident memory along the way, which must stay flat. The tape is released
// by every backward(), tensor buffers return to the block cache, and the
// optimizers allocate their buffers once.
//
// Model: y = tanh(X W1 + b1) W2 + b2 on 64 rows of 8 features, mean squared
// error, with Adam (10^5 steps), then L-BFGS (10^3 steps of one iteration).
//
//   build/bench/bench/adjoint_long_training [steps]

#include <fmt/format.h>

#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <string>

#include "autodiff/autodiff.hpp"
#include "optim/optim.hpp"

namespace {

// Returns the resident set size of this process in KiB, from
// /proc/self/status.
long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const long steps = argc > 1 ? std::atol(argv[1]) : 100'000;
  adjoint::Generator generator(7);
  const adjoint::Tensor<double> x = adjoint::normal<double>({64, 8}, generator);
  const adjoint::Tensor<double> y =
      sum(sin(x), adjoint::Axes{1}, /*keepdim=*/true);
  adjoint::Tensor<double> w1 =
      adjoint::parameter(adjoint::normal<double>({8, 16}, generator) * 0.3);
  adjoint::Tensor<double> b1 = adjoint::parameter(adjoint::zeros<double>({16}));
  adjoint::Tensor<double> w2 =
      adjoint::parameter(adjoint::normal<double>({16, 1}, generator) * 0.3);
  adjoint::Tensor<double> b2 = adjoint::parameter(adjoint::zeros<double>({1}));
  const auto loss = [&] {
    const adjoint::Tensor<double> hidden = tanh(matmul(x, w1) + b1);
    return mean(square(matmul(hidden, w2) + b2 - y));
  };

  adjoint::optim::Adam<double> adam({w1, b1, w2, b2}, {.learning_rate = 1e-3});
  fmt::print("{:>8}  {:>12}  {:>10}\n", "step", "loss", "RSS KiB");
  for (long step = 1; step <= steps; ++step) {
    adam.zero_grad();
    const adjoint::Var<double> value = loss();
    value.backward();
    adam.step();
    if (step == 1 || step == 1000 || step % 20'000 == 0 || step == steps) {
      fmt::print("{:>8}  {:>12.6g}  {:>10}\n", step, value.value(),
                 resident_kib());
    }
  }

  adjoint::optim::LBFGS<double> lbfgs({w1, b1, w2, b2}, {.max_iter = 1});
  for (long step = 1; step <= 1000; ++step) {
    const double value = lbfgs.step(loss);
    if (step == 1 || step == 1000) {
      fmt::print("L-BFGS {:>4}  {:>12.6g}  {:>10}\n", step, value,
                 resident_kib());
    }
  }
}
