// W3: the tutorial loss of W1 written with tensor operations,
// L(w) = sum(square(z - w * x)) with x and z constant tensors of 10^6
// doubles, forward and backward in each iteration.
//
//   W3/a_adjoint_var     w is a Var<double> parameter
//   W3/b_adjoint_tensor  w is a 0-dimensional parameter tensor
//   W3/c_libtorch        the same program in libtorch (libtorch_peers.cpp)
//
// The plain double loop over the same points is W1/a_plain. Each benchmark
// checks its loss and gradient against a hand-written loop before timing.
// The page_faults counter is the minor page faults per iteration, which
// libtorch pays when glibc hands its freed 8 MB arrays back to the kernel.

#include <benchmark/benchmark.h>

#include <string>

#include "autodiff/autodiff.hpp"
#include "data.hpp"
#include "setup.hpp"
#include "steps.hpp"

namespace {

using adjoint_bench::check_tutorial;
using adjoint_bench::tutorial_loss;

void set_point_rate(benchmark::State& state) {
  state.counters["time_per_point"] = benchmark::Counter(
      static_cast<double>(adjoint_bench::kTutorialPoints),
      benchmark::Counter::kIsIterationInvariantRate |
          benchmark::Counter::kInvert);
}

void w3_adjoint_var(benchmark::State& state) {
  const adjoint_bench::TutorialTensors& data = adjoint_bench::tutorial_tensors();
  adjoint::Var<double> w{adjoint_bench::kTutorialStartW};

  {
    adjoint::Var<double> loss = tutorial_loss(data, w);
    loss.backward();
    const std::string error = check_tutorial(loss.value(), w.grad());
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }

  const double faults = adjoint_bench::minor_page_faults();
  for (auto _ : state) {
    w.zero_grad();
    adjoint::Var<double> loss = tutorial_loss(data, w);
    loss.backward();
    benchmark::DoNotOptimize(w.grad());
  }
  adjoint_bench::set_page_faults(state, faults);
  set_point_rate(state);
}

void w3_adjoint_tensor(benchmark::State& state) {
  const adjoint_bench::TutorialTensors& data = adjoint_bench::tutorial_tensors();
  adjoint::Tensor<double> w = adjoint::parameter(
      adjoint::scalar_tensor(adjoint_bench::kTutorialStartW));

  {
    adjoint::Var<double> loss = tutorial_loss(data, w);
    loss.backward();
    const std::string error = check_tutorial(loss.value(), w.grad_values()[0]);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }

  const double faults = adjoint_bench::minor_page_faults();
  for (auto _ : state) {
    w.zero_grad();
    adjoint::Var<double> loss = tutorial_loss(data, w);
    loss.backward();
    benchmark::DoNotOptimize(w.grad_values()[0]);
  }
  adjoint_bench::set_page_faults(state, faults);
  set_point_rate(state);
}

BENCHMARK(w3_adjoint_var)
    ->Name("W3/a_adjoint_var")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w3_adjoint_tensor)
    ->Name("W3/b_adjoint_tensor")
    ->Unit(benchmark::kMillisecond);

}  // namespace
