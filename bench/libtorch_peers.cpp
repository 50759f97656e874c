// The libtorch peers of W3 to W7: the same programs written with
// torch::Tensor, on the same arrays, which torch::from_blob wraps without
// copying. This file is compiled only when CMake finds libtorch
// (ADJOINT_BENCH_LIBTORCH). See the workload files for what each benchmark
// computes.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data.hpp"
#include "setup.hpp"

namespace adjoint_bench {

void set_libtorch_threads(int threads) { torch::set_num_threads(threads); }

std::string describe_libtorch() {
  // show_config() lists the build settings, among them BLAS_INFO.
  const std::string config = torch::show_config();
  std::string blas = "BLAS_INFO not reported";
  if (const std::size_t at = config.find("BLAS_INFO="); at != std::string::npos) {
    blas = config.substr(at, config.find(',', at) - at);
  }
  return fmt::format("libtorch {} ({}), {} intra-op thread(s)", TORCH_VERSION,
                     blas, torch::get_num_threads());
}

}  // namespace adjoint_bench

namespace {

/// A torch::Tensor over the values of `tensor`, without a copy. The peers
/// only read it.
template <class T>
torch::Tensor wrap(const adjoint::Tensor<T>& tensor) {
  std::vector<std::int64_t> sizes;
  for (const std::size_t extent : tensor.shape()) {
    sizes.push_back(static_cast<std::int64_t>(extent));
  }
  return torch::from_blob(const_cast<T*>(tensor.data()), sizes,
                          torch::CppTypeToScalarType<T>::value);
}

template <class T>
std::span<const T> values_of(const torch::Tensor& tensor) {
  return {tensor.data_ptr<T>(), static_cast<std::size_t>(tensor.numel())};
}

/// Sets the gradient of a parameter to zero in place, once it has one.
void zero_grad(torch::Tensor& parameter) {
  if (parameter.grad().defined()) parameter.mutable_grad().zero_();
}

void set_counter(benchmark::State& state, const char* name, double count) {
  state.counters[name] = benchmark::Counter(
      count, benchmark::Counter::kIsIterationInvariantRate |
                 benchmark::Counter::kInvert);
}

void w3_libtorch(benchmark::State& state) {
  const adjoint_bench::TutorialTensors& data = adjoint_bench::tutorial_tensors();
  const torch::Tensor x = wrap(data.x);
  const torch::Tensor z = wrap(data.z);
  torch::Tensor w = torch::full({}, adjoint_bench::kTutorialStartW,
                                torch::dtype(torch::kFloat64).requires_grad(true));
  {
    torch::Tensor loss = (z - w * x).square().sum();
    loss.backward();
    const std::string error = adjoint_bench::check_tutorial(
        loss.item<double>(), w.grad().item<double>());
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  const double faults = adjoint_bench::minor_page_faults();
  for (auto _ : state) {
    zero_grad(w);
    torch::Tensor loss = (z - w * x).square().sum();
    loss.backward();
    benchmark::DoNotOptimize(w.grad().data_ptr());
  }
  adjoint_bench::set_page_faults(state, faults);
  set_counter(state, "time_per_point",
              static_cast<double>(adjoint_bench::kTutorialPoints));
}

void w4_libtorch(benchmark::State& state) {
  const adjoint_bench::RegressionData& data = adjoint_bench::regression_data();
  const torch::Tensor features = wrap(data.features);
  const torch::Tensor targets = wrap(data.targets);
  const auto options = torch::dtype(torch::kFloat64).requires_grad(true);
  torch::Tensor weights = torch::zeros(
      {static_cast<std::int64_t>(adjoint_bench::kRegressionFeatures)}, options);
  torch::Tensor bias = torch::zeros({}, options);
  auto regression_loss = [&] {
    return (torch::matmul(features, weights) + bias - targets).square().mean();
  };

  {
    torch::Tensor loss = regression_loss();
    loss.backward();
    const std::string error = adjoint_bench::check_regression(
        loss.item<double>(), values_of<double>(weights.grad()),
        bias.grad().item<double>());
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }

  torch::optim::SGD optimizer(
      {weights, bias},
      torch::optim::SGDOptions(adjoint_bench::kRegressionLearningRate));
  const double faults = adjoint_bench::minor_page_faults();
  for (auto _ : state) {
    optimizer.zero_grad();
    torch::Tensor loss = regression_loss();
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.data_ptr());
  }
  adjoint_bench::set_page_faults(state, faults);
  set_counter(state, "time_per_row",
              static_cast<double>(adjoint_bench::kRegressionRows));
}

torch::Tensor chain(const torch::Tensor& start, const torch::Tensor& p) {
  torch::Tensor t = start;
  for (int i = 0; i < adjoint_bench::kChainOperations; ++i) {
    t = i % 2 == 0 ? t + p : t * p;
  }
  return t.sum();
}

void w5_libtorch(benchmark::State& state) {
  const auto options = torch::dtype(torch::kFloat64);
  const torch::Tensor start =
      torch::full({1}, adjoint_bench::kChainStart, options);
  torch::Tensor p = torch::full({1}, adjoint_bench::kChainParameter,
                                options.requires_grad(true));
  {
    torch::Tensor loss = chain(start, p);
    loss.backward();
    const std::string error = adjoint_bench::check_chain(
        loss.item<double>(), p.grad().item<double>());
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  for (auto _ : state) {
    zero_grad(p);
    torch::Tensor loss = chain(start, p);
    loss.backward();
    benchmark::DoNotOptimize(p.grad().data_ptr());
  }
  set_counter(state, "time_per_op", adjoint_bench::kChainOperations);
}

template <class T>
void w6_libtorch_forward(benchmark::State& state) {
  const adjoint_bench::MatmulOperands<T>& operands =
      adjoint_bench::matmul_operands<T>();
  const torch::Tensor a = wrap(operands.a);
  const torch::Tensor b = wrap(operands.b);
  {
    const torch::Tensor c = torch::mm(a, b);
    const std::string error =
        adjoint_bench::check_matmul_product(values_of<T>(c));
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  for (auto _ : state) {
    const torch::Tensor c = torch::mm(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
}

template <class T>
void w6_libtorch_gradient(benchmark::State& state) {
  const adjoint_bench::MatmulOperands<T>& operands =
      adjoint_bench::matmul_operands<T>();
  torch::Tensor a = wrap(operands.a).clone().requires_grad_(true);
  torch::Tensor b = wrap(operands.b).clone().requires_grad_(true);
  {
    torch::Tensor loss = torch::mm(a, b).sum();
    loss.backward();
    const std::string error = adjoint_bench::check_matmul_gradient(
        values_of<T>(a.grad()), values_of<T>(b.grad()));
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  for (auto _ : state) {
    zero_grad(a);
    zero_grad(b);
    torch::Tensor loss = torch::mm(a, b).sum();
    loss.backward();
    benchmark::DoNotOptimize(b.grad().data_ptr());
  }
}

void w7_libtorch(benchmark::State& state) {
  std::vector<double> start = adjoint_bench::optimizer_start();
  std::vector<double> gradient = adjoint_bench::optimizer_gradient();
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const auto size = static_cast<std::int64_t>(start.size());
  torch::Tensor p = torch::from_blob(start.data(), {size}, options).clone();
  p.set_requires_grad(true);
  p.mutable_grad() =
      torch::from_blob(gradient.data(), {size}, options).clone();
  torch::optim::Adam adam(
      {p}, torch::optim::AdamOptions(adjoint_bench::kOptimizerLearningRate));
  adam.step();
  const std::string error =
      adjoint_bench::check_optimizer_step(p.data_ptr<double>());
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    adam.step();
    benchmark::DoNotOptimize(p.data_ptr());
  }
}

BENCHMARK(w3_libtorch)->Name("W3/c_libtorch")->Unit(benchmark::kMillisecond);
BENCHMARK(w4_libtorch)->Name("W4/c_libtorch")->Unit(benchmark::kMillisecond);
BENCHMARK(w5_libtorch)->Name("W5/c_libtorch")->Unit(benchmark::kMicrosecond);
BENCHMARK(w7_libtorch)->Name("W7/c_libtorch")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_libtorch_forward, float)
    ->Name("W6/float/c_libtorch_forward")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_libtorch_forward, double)
    ->Name("W6/double/c_libtorch_forward")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_libtorch_gradient, float)
    ->Name("W6/float/e_libtorch_gradient")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_libtorch_gradient, double)
    ->Name("W6/double/e_libtorch_gradient")
    ->Unit(benchmark::kMillisecond);

}  // namespace
