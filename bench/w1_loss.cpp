// W1: the tutorial loss L(w) = sum_i (z_i - w x_i)^2 over 10^6 points.
//
//   W1/a_plain             the loss as a double loop
//   W1/b_hand_gradient     the loss and dL/dw in one hand-written loop
//   W1/c_adjoint_record    adjoint records the graph, then clears the tape
//   W1/d_adjoint_gradient  adjoint records the graph and runs backward()
//   W1/memory              heap bytes the tape and the adjoint array use
//
// Every variant sums in the same order, so the adjoint variants compute the
// plain loop's loss bit for bit. Each adjoint benchmark checks its result
// once before timing.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <malloc.h>

#include <cmath>
#include <cstddef>
#include <thread>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "data.hpp"

namespace {

constexpr std::size_t kPoints = adjoint_bench::kTutorialPoints;
constexpr double kStartW = adjoint_bench::kTutorialStartW;
// Scalar operations in the loss: w * x, z - (w * x), square and the add
// into the sum for every point, plus the parameter w. The tape may group
// them into fewer nodes, so bytes per operation compare across tape designs.
constexpr double kOperations = 4.0 * kPoints + 1;

using Points = adjoint_bench::TutorialPoints;

/// Returns x uniform in [0, 1) and z = 2x plus noise with standard deviation
/// 0.01, from a fixed seed. W3 reads the same points.
const Points& points() { return adjoint_bench::tutorial_points(); }

// The two loops below stay in this file. Compiled out of line in another
// file, GCC 12 keeps hand_gradient's two sums in memory, and the loop took
// 2.4 times as long as plain_loss instead of about as long.
double plain_loss(const Points& data, double w) {
  double loss = 0;
  for (std::size_t i = 0; i < kPoints; ++i) {
    const double residual = data.z[i] - w * data.x[i];
    loss += residual * residual;
  }
  return loss;
}

struct LossAndGradient {
  double loss = 0;
  double gradient = 0;
};

LossAndGradient hand_gradient(const Points& data, double w) {
  LossAndGradient result;
  for (std::size_t i = 0; i < kPoints; ++i) {
    const double residual = data.z[i] - w * data.x[i];
    result.loss += residual * residual;
    result.gradient += -2 * residual * data.x[i];
  }
  return result;
}

/// Records the loss on this thread's tape.
adjoint::Var<double> record_loss(const Points& data,
                                 const adjoint::Var<double>& w) {
  adjoint::Var<double> loss;
  for (std::size_t i = 0; i < kPoints; ++i) {
    loss += square(data.z[i] - w * data.x[i]);
  }
  return loss;
}

void set_point_rate(benchmark::State& state) {
  // Shown as seconds per point because of kInvert.
  state.counters["time_per_point"] =
      benchmark::Counter(static_cast<double>(kPoints),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

void w1_plain(benchmark::State& state) {
  const Points& data = points();
  double w = kStartW;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w);  // keeps w from being a known constant
    double loss = plain_loss(data, w);
    benchmark::DoNotOptimize(loss);
  }
  set_point_rate(state);
}

void w1_hand_gradient(benchmark::State& state) {
  const Points& data = points();
  double w = kStartW;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w);
    LossAndGradient result = hand_gradient(data, w);
    benchmark::DoNotOptimize(result);
  }
  set_point_rate(state);
}

void w1_adjoint_record(benchmark::State& state) {
  const Points& data = points();
  adjoint::Tape<double>& tape = adjoint::Tape<double>::active();
  adjoint::Var<double> w{kStartW};

  // One untimed recording grows the tape to its final capacity, as the
  // first step of a training loop does, and checks the value.
  double nodes = 0;
  double tape_bytes = 0;
  {
    adjoint::Var<double> loss = record_loss(data, w);
    nodes = static_cast<double>(tape.size());
    tape_bytes = static_cast<double>(tape.memory_bytes());
    const double expected = plain_loss(data, kStartW);
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
    adjoint::Var<double> loss = record_loss(data, w);
    benchmark::DoNotOptimize(loss.value());
    tape.clear();
  }
  set_point_rate(state);
  state.counters["nodes_per_point"] = (nodes - 1) / kPoints;
  state.counters["tape_bytes_per_node"] = tape_bytes / nodes;
  state.counters["tape_bytes_per_op"] = tape_bytes / kOperations;
}

void w1_adjoint_gradient(benchmark::State& state) {
  const Points& data = points();
  adjoint::Var<double> w{kStartW};

  {
    adjoint::Var<double> loss = record_loss(data, w);
    loss.backward();
    const LossAndGradient expected = hand_gradient(data, kStartW);
    const double error = std::abs(w.grad() - expected.gradient);
    if (loss.value() != expected.loss ||
        error > 1e-9 * std::abs(expected.gradient)) {
      state.SkipWithError(
          fmt::format("loss {} and dL/dw {} differ from the hand-written {} "
                      "and {}",
                      loss.value(), w.grad(), expected.loss, expected.gradient)
              .c_str());
      return;
    }
  }

  for (auto _ : state) {
    w.zero_grad();
    adjoint::Var<double> loss = record_loss(data, w);
    loss.backward();
    benchmark::DoNotOptimize(w.grad());
  }
  set_point_rate(state);
}

/// Heap in use by the whole process, in bytes, including mmap'ed blocks.
double heap_in_use() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

struct MemoryUse {
  double nodes = 0;
  double tape_bytes = 0;       // Tape::memory_bytes(), by size
  double tape_heap_bytes = 0;  // heap the tape's buffers hold, by capacity
  double adjoint_heap_bytes = 0;
};

/// Records and sweeps W1 on a fresh tape and measures the heap each step
/// adds. Runs on a new thread, whose thread-local tape starts empty.
MemoryUse measure_memory(const Points& data) {
  MemoryUse use;
  std::thread worker([&] {
    adjoint::Tape<double>& tape = adjoint::Tape<double>::active();
    adjoint::Var<double> w{kStartW};
    const double before = heap_in_use();
    adjoint::Var<double> loss = record_loss(data, w);
    const double recorded = heap_in_use();
    use.nodes = static_cast<double>(tape.size());
    use.tape_bytes = static_cast<double>(tape.memory_bytes());
    loss.backward();
    use.tape_heap_bytes = recorded - before;
    use.adjoint_heap_bytes = heap_in_use() - recorded;
  });
  worker.join();
  return use;
}

void w1_memory(benchmark::State& state) {
  const Points& data = points();
  MemoryUse use;
  for (auto _ : state) use = measure_memory(data);
  state.counters["nodes"] = use.nodes;
  state.counters["tape_bytes_per_op"] = use.tape_bytes / kOperations;
  state.counters["tape_heap_bytes_per_op"] = use.tape_heap_bytes / kOperations;
  state.counters["adjoint_heap_bytes_per_node"] =
      use.adjoint_heap_bytes / use.nodes;
}

BENCHMARK(w1_plain)->Name("W1/a_plain")->Unit(benchmark::kMillisecond);
BENCHMARK(w1_hand_gradient)
    ->Name("W1/b_hand_gradient")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w1_adjoint_record)
    ->Name("W1/c_adjoint_record")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w1_adjoint_gradient)
    ->Name("W1/d_adjoint_gradient")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w1_memory)
    ->Name("W1/memory")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->Repetitions(1);

}  // namespace
