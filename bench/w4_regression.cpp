// W4: one step of linear regression on 10^5 rows of 256 features in
// double: L(w, b) = mean(square(matmul(X, w) + b - y)), forward, backward
// and the gradient descent update w <- w - 0.1 dL/dw, b <- b - 0.1 dL/db.
//
//   W4/a_blas_hand_gradient  the step written by hand around two CBLAS
//                            matrix-vector products (needs OpenBLAS)
//   W4/b_adjoint             adjoint with optim::GradientDescent
//   W4/c_libtorch            the same program in libtorch with
//                            torch::optim::SGD (libtorch_peers.cpp)
//
// X is 205 MB, and every variant reads it twice per step, once for X w and
// once for X^T dL/d(Xw). The parameters start at zero and keep descending
// over the iterations. Each variant checks its first loss and gradient
// against plain loops before timing. The page_faults counter is the minor
// page faults per iteration.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "data.hpp"
#include "setup.hpp"
#include "optim/optim.hpp"

#ifdef ADJOINT_HAS_CBLAS
#include <cblas.h>
#endif

namespace {

using adjoint_bench::kRegressionFeatures;
using adjoint_bench::kRegressionLearningRate;
using adjoint_bench::kRegressionRows;

void set_row_rate(benchmark::State& state) {
  state.counters["time_per_row"] = benchmark::Counter(
      static_cast<double>(kRegressionRows),
      benchmark::Counter::kIsIterationInvariantRate |
          benchmark::Counter::kInvert);
}

#ifdef ADJOINT_HAS_CBLAS

struct HandStep {
  double loss = 0;
  double grad_bias = 0;
};

/// One step by hand: r = X w + b - y, L = mean(r^2), g = 2 r / n,
/// dL/dw = X^T g and dL/db = sum(g), then the update. `residual` and
/// `grad_weights` are scratch arrays of kRegressionRows and
/// kRegressionFeatures values.
HandStep hand_step(std::vector<double>& weights, double& bias,
                   std::vector<double>& residual,
                   std::vector<double>& grad_weights) {
  const adjoint_bench::RegressionData& data = adjoint_bench::regression_data();
  const int rows = static_cast<int>(kRegressionRows);
  const int features = static_cast<int>(kRegressionFeatures);
  const double* x = data.features.data();
  const double* y = data.targets.data();
  cblas_dgemv(CblasRowMajor, CblasNoTrans, rows, features, 1.0, x, features,
              weights.data(), 1, 0.0, residual.data(), 1);
  HandStep step;
  const double scale = 2.0 / kRegressionRows;
  for (std::size_t i = 0; i < kRegressionRows; ++i) {
    const double r = residual[i] + bias - y[i];
    step.loss += r * r;
    residual[i] = scale * r;
    step.grad_bias += residual[i];
  }
  step.loss /= kRegressionRows;
  cblas_dgemv(CblasRowMajor, CblasTrans, rows, features, 1.0, x, features,
              residual.data(), 1, 0.0, grad_weights.data(), 1);
  for (std::size_t j = 0; j < kRegressionFeatures; ++j) {
    weights[j] -= kRegressionLearningRate * grad_weights[j];
  }
  bias -= kRegressionLearningRate * step.grad_bias;
  return step;
}

void w4_blas_hand_gradient(benchmark::State& state) {
  std::vector<double> weights(kRegressionFeatures, 0.0);
  double bias = 0;
  std::vector<double> residual(kRegressionRows);
  std::vector<double> grad_weights(kRegressionFeatures);

  {
    const HandStep step = hand_step(weights, bias, residual, grad_weights);
    const std::string error = adjoint_bench::check_regression(
        step.loss, grad_weights, step.grad_bias);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }

  const double faults = adjoint_bench::minor_page_faults();
  for (auto _ : state) {
    const HandStep step = hand_step(weights, bias, residual, grad_weights);
    benchmark::DoNotOptimize(step);
    benchmark::ClobberMemory();
  }
  adjoint_bench::set_page_faults(state, faults);
  set_row_rate(state);
}

BENCHMARK(w4_blas_hand_gradient)
    ->Name("W4/a_blas_hand_gradient")
    ->Unit(benchmark::kMillisecond);

#endif  // ADJOINT_HAS_CBLAS

adjoint::Var<double> regression_loss(const adjoint::Tensor<double>& weights,
                                     const adjoint::Tensor<double>& bias) {
  const adjoint_bench::RegressionData& data = adjoint_bench::regression_data();
  return mean(square(matmul(data.features, weights) + bias - data.targets));
}

void w4_adjoint(benchmark::State& state) {
  adjoint::Tensor<double> weights =
      adjoint::parameter(adjoint::zeros<double>({kRegressionFeatures}));
  adjoint::Tensor<double> bias =
      adjoint::parameter(adjoint::scalar_tensor(0.0));

  {
    adjoint::Var<double> loss = regression_loss(weights, bias);
    loss.backward();
    const std::string error = adjoint_bench::check_regression(
        loss.value(), weights.grad_values(), bias.grad_values()[0]);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }

  adjoint::optim::GradientDescent<double> optimizer({weights, bias},
                                                    kRegressionLearningRate);
  const double faults = adjoint_bench::minor_page_faults();
  for (auto _ : state) {
    optimizer.zero_grad();
    adjoint::Var<double> loss = regression_loss(weights, bias);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.value());
  }
  adjoint_bench::set_page_faults(state, faults);
  set_row_rate(state);
}

BENCHMARK(w4_adjoint)->Name("W4/b_adjoint")->Unit(benchmark::kMillisecond);

}  // namespace
