// adjoint_profile: runs one adjoint workload of W3 or W5 in a loop, for
// valgrind's callgrind, or times its phases and the primitives its fixed
// costs are made of.
//
//   adjoint_profile WORKLOAD [ITERATIONS [single-threaded]]
//
//   w3_var, w3_tensor  one W3 iteration (zero_grad, loss, backward) with w
//                      a Var or a 0-dimensional tensor
//   w5_var, w5_tensor  one W5 iteration: a chain of 100 operations on
//                      scalar nodes or on one-element tensors
//   w3_phases          CPU time of each operation of W3 and of backward()
//   w5_phases          CPU time of W5 with backward() and with the graph
//                      released by Tape::clear() instead
//   primitives         CPU time of an atomic reference count update, a heap
//                      allocation and a tensor buffer from the cache
//
// The loop runs inside run_iterations(), so callgrind can count only it:
//
//   valgrind --tool=callgrind --toggle-collect='*run_iterations*' adjoint_profile w5_tensor 1000
//
// Before the loop, the program runs one untimed iteration, which fills the
// tape's and the buffer cache's capacity as a training loop's first step
// does. It also starts and joins a thread, unless the third argument is
// "single-threaded". libstdc++ makes shared_ptr reference counts atomic
// only once the process has started a thread (glibc 2.32 and later).
// adjoint_bench starts one too, so both measure atomic counts by default.

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "autodiff/autodiff.hpp"
#include "data.hpp"
#include "steps.hpp"

namespace {

using adjoint_bench::kChainOperations;

/// CPU time of the calling thread in seconds.
double thread_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

[[gnu::noinline]] void run_iterations(const std::function<void()>& iteration,
                                      long count) {
  for (long i = 0; i < count; ++i) iteration();
}

/// Runs `iteration` once untimed, then `count` times, and prints the CPU
/// time per iteration, and per operation when there are `operations` > 1.
void profile(const std::function<void()>& iteration, long count,
             int operations) {
  iteration();
  const double start = thread_seconds();
  run_iterations(iteration, count);
  const double seconds = (thread_seconds() - start) / static_cast<double>(count);
  fmt::print("{} iterations: {:.3f} us per iteration", count, seconds * 1e6);
  if (operations > 1) {
    fmt::print(", {:.4f} us per operation", seconds * 1e6 / operations);
  }
  fmt::print("\n");
}

/// Prints the CPU time per call of `body`, over `count` calls.
void time_primitive(const char* name, long count,
                    const std::function<void()>& body) {
  body();
  const double start = thread_seconds();
  run_iterations(body, count);
  const double seconds = (thread_seconds() - start) / static_cast<double>(count);
  fmt::print("  {:<58} {:7.2f} ns\n", name, seconds * 1e9);
}

void profile_primitives() {
  constexpr long kCount = 20'000'000;
  fmt::print("CPU time per call, including the std::function call around it:\n");
  time_primitive("empty call", kCount, [] { benchmark::ClobberMemory(); });
  const auto shared = std::make_shared<double>(0.0);
  time_primitive("shared_ptr copy and destroy (2 reference count updates)",
                 kCount, [&shared] {
                   std::shared_ptr<double> copy = shared;
                   benchmark::DoNotOptimize(copy);
                 });
  time_primitive("operator new and delete of 256 bytes", kCount, [] {
    void* block = ::operator new(256);
    benchmark::DoNotOptimize(block);
    ::operator delete(block);
  });
  time_primitive("Buffer<double>(1) from the cache and back", kCount, [] {
    adjoint::detail::Buffer<double> buffer(1);
    benchmark::DoNotOptimize(buffer.data());
  });
}

void profile_w3_phases(long count) {
  const adjoint_bench::TutorialTensors& data = adjoint_bench::tutorial_tensors();
  adjoint::Var<double> w{adjoint_bench::kTutorialStartW};
  constexpr int kPhases = 6;
  const char* names[kPhases] = {"w * x",        "z - (w * x)", "square",
                                "sum",          "backward()",  "destructors"};
  double seconds[kPhases] = {};
  for (long i = 0; i <= count; ++i) {
    double mark = thread_seconds();
    auto lap = [&](int phase) {
      const double now = thread_seconds();
      if (i > 0) seconds[phase] += now - mark;  // iteration 0 is untimed
      mark = now;
    };
    w.zero_grad();
    {
      adjoint::Tensor<double> product = w * data.x;
      lap(0);
      adjoint::Tensor<double> residual = data.z - product;
      lap(1);
      adjoint::Tensor<double> squared = square(residual);
      lap(2);
      adjoint::Var<double> loss = sum(squared);
      lap(3);
      loss.backward();
      lap(4);
    }
    lap(5);
  }
  double total = 0;
  for (const double s : seconds) total += s;
  fmt::print("W3 with a Var w, CPU time per iteration over {} iterations:\n",
             count);
  for (int phase = 0; phase < kPhases; ++phase) {
    fmt::print("  {:<14} {:8.3f} ms\n", names[phase],
               seconds[phase] / static_cast<double>(count) * 1e3);
  }
  fmt::print("  {:<14} {:8.3f} ms\n", "total",
             total / static_cast<double>(count) * 1e3);
}

void profile_w5_phases(long count) {
  const adjoint::Tensor<double> start{adjoint_bench::kChainStart};
  adjoint::Tensor<double> p = adjoint::parameter(
      adjoint::Tensor<double>{adjoint_bench::kChainParameter});
  adjoint::Tape<double>& tape = adjoint::Tape<double>::active();
  // One timer pair around each loop: reading the thread's CPU clock is a
  // system call that costs about as much as a few operations.
  auto time_loop = [&](bool sweep) {
    auto iteration = [&] {
      p.zero_grad();
      adjoint::Var<double> loss = adjoint_bench::tensor_chain(start, p);
      if (sweep) {
        loss.backward();
      } else {
        tape.clear();
      }
    };
    iteration();
    const double begin = thread_seconds();
    for (long i = 0; i < count; ++i) iteration();
    return (thread_seconds() - begin) / static_cast<double>(count) /
           kChainOperations * 1e9;
  };
  const double record = time_loop(false);
  const double full = time_loop(true);
  fmt::print("W5 with tensors, CPU time per operation over {} iterations:\n",
             count);
  fmt::print("  {:<40} {:7.1f} ns\n", "record, then Tape::clear()", record);
  fmt::print("  {:<40} {:7.1f} ns\n", "record, then backward()", full);
  fmt::print("  {:<40} {:7.1f} ns\n", "difference: the sweep", full - record);
}

int usage() {
  std::fputs(
      "usage: adjoint_profile WORKLOAD [ITERATIONS [single-threaded]]\n"
      "WORKLOAD: w3_var, w3_tensor, w5_var, w5_tensor, w3_phases, "
      "w5_phases or primitives\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) return usage();
  const std::string_view workload = argv[1];
  const long count = argc >= 3 ? std::atol(argv[2]) : 0;
  if (argc >= 3 && count <= 0) return usage();
  if (argc == 4 && std::string_view(argv[3]) != "single-threaded") {
    return usage();
  }
  if (argc < 4) std::thread([] {}).join();

  if (workload == "w3_var" || workload == "w3_tensor") {
    const adjoint_bench::TutorialTensors& data =
        adjoint_bench::tutorial_tensors();
    if (workload == "w3_var") {
      adjoint::Var<double> w{adjoint_bench::kTutorialStartW};
      profile(
          [&] {
            w.zero_grad();
            adjoint_bench::tutorial_loss(data, w).backward();
          },
          count > 0 ? count : 20, 1);
    } else {
      adjoint::Tensor<double> w = adjoint::parameter(
          adjoint::scalar_tensor(adjoint_bench::kTutorialStartW));
      profile(
          [&] {
            w.zero_grad();
            adjoint_bench::tutorial_loss(data, w).backward();
          },
          count > 0 ? count : 20, 1);
    }
  } else if (workload == "w5_var") {
    adjoint::Var<double> p{adjoint_bench::kChainParameter};
    profile(
        [&] {
          p.zero_grad();
          adjoint_bench::var_chain(p).backward();
        },
        count > 0 ? count : 100'000, kChainOperations);
  } else if (workload == "w5_tensor") {
    const adjoint::Tensor<double> start{adjoint_bench::kChainStart};
    adjoint::Tensor<double> p = adjoint::parameter(
        adjoint::Tensor<double>{adjoint_bench::kChainParameter});
    profile(
        [&] {
          p.zero_grad();
          adjoint_bench::tensor_chain(start, p).backward();
        },
        count > 0 ? count : 20'000, kChainOperations);
  } else if (workload == "w3_phases") {
    profile_w3_phases(count > 0 ? count : 50);
  } else if (workload == "w5_phases") {
    profile_w5_phases(count > 0 ? count : 20'000);
  } else if (workload == "primitives") {
    profile_primitives();
  } else {
    return usage();
  }
  return 0;
}
