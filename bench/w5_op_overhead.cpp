// W5: the fixed cost of one operation. A chain of 100 operations on
// one-element values, t <- t + p and t <- t * p in turn with a parameter p,
// then sum(t) and backward() in each iteration. The time_per_op counter is
// the iteration time divided by the 100 operations, so it includes each
// operation's share of the sweep.
//
//   W5/a_adjoint_var     scalar Var nodes, for comparison with the tensors
//   W5/b_adjoint_tensor  tensors of shape [1] and a parameter of shape [1]
//   W5/c_libtorch        the same chain in libtorch (libtorch_peers.cpp)
//
// Each variant checks the chain's value and dt/dp before timing.

#include <benchmark/benchmark.h>

#include <string>

#include "autodiff/autodiff.hpp"
#include "data.hpp"
#include "steps.hpp"

namespace {

using adjoint_bench::kChainOperations;
using adjoint_bench::tensor_chain;
using adjoint_bench::var_chain;

void set_op_rate(benchmark::State& state) {
  state.counters["time_per_op"] = benchmark::Counter(
      kChainOperations, benchmark::Counter::kIsIterationInvariantRate |
                            benchmark::Counter::kInvert);
}

void w5_adjoint_var(benchmark::State& state) {
  adjoint::Var<double> p{adjoint_bench::kChainParameter};

  {
    adjoint::Var<double> t = var_chain(p);
    t.backward();
    const std::string error = adjoint_bench::check_chain(t.value(), p.grad());
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }

  for (auto _ : state) {
    p.zero_grad();
    adjoint::Var<double> t = var_chain(p);
    t.backward();
    benchmark::DoNotOptimize(p.grad());
  }
  set_op_rate(state);
}

void w5_adjoint_tensor(benchmark::State& state) {
  const adjoint::Tensor<double> start{adjoint_bench::kChainStart};
  adjoint::Tensor<double> p =
      adjoint::parameter(adjoint::Tensor<double>{adjoint_bench::kChainParameter});

  {
    adjoint::Var<double> loss = tensor_chain(start, p);
    loss.backward();
    const std::string error =
        adjoint_bench::check_chain(loss.value(), p.grad_values()[0]);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }

  for (auto _ : state) {
    p.zero_grad();
    adjoint::Var<double> loss = tensor_chain(start, p);
    loss.backward();
    benchmark::DoNotOptimize(p.grad_values()[0]);
  }
  set_op_rate(state);
}

BENCHMARK(w5_adjoint_var)
    ->Name("W5/a_adjoint_var")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(w5_adjoint_tensor)
    ->Name("W5/b_adjoint_tensor")
    ->Unit(benchmark::kMicrosecond);

}  // namespace
