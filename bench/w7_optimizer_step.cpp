// W7: one Adam step on a parameter of 10^6 doubles, gradient given. Only the
// update is timed: the gradient is set once and stays, as zero_grad() and
// backward() are not called in the loop.
//
//   W7/a_loop       Adam written as one loop over std::vector, the floor
//   W7/b_adjoint    adjoint::optim::Adam on a Tensor parameter
//   W7/c_libtorch   torch::optim::Adam (libtorch_peers.cpp)
//
// Each variant checks its first step against the loop's before timing.

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "data.hpp"
#include "optim/adam.hpp"

namespace {

using adjoint_bench::kOptimizerLearningRate;

struct LoopAdam {
  std::vector<double> m;
  std::vector<double> v;
  long step = 0;

  void update(std::vector<double>& p, const std::vector<double>& g) {
    const double beta1 = 0.9;
    const double beta2 = 0.999;
    ++step;
    const double correction1 = 1 - std::pow(beta1, step);
    const double correction2_sqrt = std::sqrt(1 - std::pow(beta2, step));
    const double step_size = kOptimizerLearningRate / correction1;
    for (std::size_t i = 0; i < p.size(); ++i) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) / correction2_sqrt + 1e-8);
    }
  }
};

void w7_loop(benchmark::State& state) {
  std::vector<double> p = adjoint_bench::optimizer_start();
  const std::vector<double> g = adjoint_bench::optimizer_gradient();
  LoopAdam adam{std::vector<double>(p.size()), std::vector<double>(p.size())};
  adam.update(p, g);
  if (const std::string error = adjoint_bench::check_optimizer_step(p.data());
      !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    adam.update(p, g);
    benchmark::DoNotOptimize(p.data());
  }
}

void w7_adjoint(benchmark::State& state) {
  const std::vector<double> start = adjoint_bench::optimizer_start();
  const std::vector<double> gradient = adjoint_bench::optimizer_gradient();
  const adjoint::Shape shape{start.size()};
  adjoint::Tensor<double> p = adjoint::parameter(
      adjoint::Tensor<double>(shape, std::span<const double>(start)));
  {
    // Sets the gradient: d/dp sum(p * g) = g.
    const adjoint::Tensor<double> g(shape, std::span<const double>(gradient));
    sum(p * g).backward();
  }
  adjoint::optim::Adam<double> adam({p},
                                    {.learning_rate = kOptimizerLearningRate});
  adam.step();
  if (const std::string error =
          adjoint_bench::check_optimizer_step(p.values().data());
      !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    adam.step();
    benchmark::DoNotOptimize(p.values().data());
  }
}

}  // namespace

BENCHMARK(w7_loop)->Name("W7/a_loop")->Unit(benchmark::kMillisecond);
BENCHMARK(w7_adjoint)->Name("W7/b_adjoint")->Unit(benchmark::kMillisecond);
