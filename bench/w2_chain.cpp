// W2: a chain of transcendental functions over 10^5 parameters,
// L(x) = sum_i log(1 + exp(sin(x_i) x_i)), with the full gradient.
//
//   W2/a_plain             the loss as a double loop
//   W2/b_hand_gradient     the loss and all 10^5 partials, hand-written
//   W2/c_adjoint_record    adjoint records the graph, then clears the tape
//   W2/d_adjoint_gradient  adjoint zeroes the gradients, records the graph
//                          and runs backward()
//
// The 10^5 parameters are made once, outside the timing, as a training
// loop keeps its parameters across steps.

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace {

constexpr std::size_t kInputs = 100'000;
// Scalar operations per input: the parameter, sin, multiply, exp, add 1,
// log and the add into the sum.
constexpr double kOperations = 7.0 * kInputs;

/// Returns the inputs, uniform in [-2, 2) from a fixed seed.
const std::vector<double>& inputs() {
  static const std::vector<double> data = [] {
    std::vector<double> result;
    result.reserve(kInputs);
    std::mt19937_64 engine(7);
    std::uniform_real_distribution<double> uniform(-2.0, 2.0);
    for (std::size_t i = 0; i < kInputs; ++i) result.push_back(uniform(engine));
    return result;
  }();
  return data;
}

double plain_loss(const std::vector<double>& x) {
  double loss = 0;
  for (const double v : x) loss += std::log(1.0 + std::exp(std::sin(v) * v));
  return loss;
}

/// Returns the loss and writes dL/dx_i to gradient[i]:
/// dL/dx = e / (1 + e) (cos(x) x + sin(x)) with e = exp(sin(x) x).
double hand_gradient(const std::vector<double>& x,
                     std::vector<double>& gradient) {
  double loss = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double s = std::sin(v);
    const double c = std::cos(v);
    const double e = std::exp(s * v);
    const double one_plus_e = 1.0 + e;
    loss += std::log(one_plus_e);
    gradient[i] = e / one_plus_e * (c * v + s);
  }
  return loss;
}

/// Records the loss on this thread's tape.
adjoint::Var<double> record_loss(const std::vector<adjoint::Var<double>>& x) {
  adjoint::Var<double> loss;
  for (const adjoint::Var<double>& v : x) {
    loss += log(1.0 + exp(sin(v) * v));
  }
  return loss;
}

std::vector<adjoint::Var<double>> make_parameters() {
  std::vector<adjoint::Var<double>> parameters;
  parameters.reserve(kInputs);
  for (const double v : inputs()) parameters.emplace_back(v);
  return parameters;
}

void set_input_rate(benchmark::State& state) {
  // Shown as seconds per input because of kInvert.
  state.counters["time_per_input"] =
      benchmark::Counter(static_cast<double>(kInputs),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

void w2_plain(benchmark::State& state) {
  const std::vector<double>& x = inputs();
  for (auto _ : state) {
    double loss = plain_loss(x);
    benchmark::DoNotOptimize(loss);
  }
  set_input_rate(state);
}

void w2_hand_gradient(benchmark::State& state) {
  const std::vector<double>& x = inputs();
  std::vector<double> gradient(x.size());
  for (auto _ : state) {
    double loss = hand_gradient(x, gradient);
    benchmark::DoNotOptimize(loss);
    benchmark::DoNotOptimize(gradient.data());
    benchmark::ClobberMemory();
  }
  set_input_rate(state);
}

void w2_adjoint_record(benchmark::State& state) {
  const std::vector<adjoint::Var<double>> parameters = make_parameters();
  adjoint::Tape<double>& tape = adjoint::Tape<double>::active();

  double nodes = 0;
  double tape_bytes = 0;
  {
    adjoint::Var<double> loss = record_loss(parameters);
    nodes = static_cast<double>(tape.size());
    tape_bytes = static_cast<double>(tape.memory_bytes());
    const double expected = plain_loss(inputs());
    const double recorded = loss.value();
    tape.clear();
    if (recorded != expected) {
      state.SkipWithError(fmt::format("recorded loss {} differs from the plain "
                                      "loop's {}",
                                      recorded, expected)
                              .c_str());
      return;
    }
  }

  for (auto _ : state) {
    adjoint::Var<double> loss = record_loss(parameters);
    benchmark::DoNotOptimize(loss.value());
    tape.clear();
  }
  set_input_rate(state);
  state.counters["nodes_per_input"] = nodes / kInputs;
  state.counters["tape_bytes_per_node"] = tape_bytes / nodes;
  state.counters["tape_bytes_per_op"] = tape_bytes / kOperations;
}

void w2_adjoint_gradient(benchmark::State& state) {
  std::vector<adjoint::Var<double>> parameters = make_parameters();

  {
    adjoint::Var<double> loss = record_loss(parameters);
    loss.backward();
    std::vector<double> expected(kInputs);
    hand_gradient(inputs(), expected);
    for (std::size_t i = 0; i < kInputs; ++i) {
      const double error = std::abs(parameters[i].grad() - expected[i]);
      if (error > 1e-12 * (1 + std::abs(expected[i]))) {
        state.SkipWithError(
            fmt::format("dL/dx[{}] = {} differs from the hand-written {}", i,
                        parameters[i].grad(), expected[i])
                .c_str());
        return;
      }
    }
  }

  for (auto _ : state) {
    for (adjoint::Var<double>& parameter : parameters) parameter.zero_grad();
    adjoint::Var<double> loss = record_loss(parameters);
    loss.backward();
    benchmark::DoNotOptimize(parameters.back().grad());
    benchmark::ClobberMemory();
  }
  set_input_rate(state);
}

BENCHMARK(w2_plain)->Name("W2/a_plain")->Unit(benchmark::kMillisecond);
BENCHMARK(w2_hand_gradient)
    ->Name("W2/b_hand_gradient")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w2_adjoint_record)
    ->Name("W2/c_adjoint_record")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w2_adjoint_gradient)
    ->Name("W2/d_adjoint_gradient")
    ->Unit(benchmark::kMillisecond);

}  // namespace
