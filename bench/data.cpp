#include "data.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>

namespace adjoint_bench {
namespace {

/// An empty string when |actual[i] - expected[i]| <= tolerance * scale for
/// every i, where scale is the largest |expected[i]| (at least 1), and
/// otherwise a message naming `what` and the first element that differs.
template <class T>
std::string compare_values(const char* what, std::span<const T> actual,
                           std::span<const double> expected,
                           double tolerance) {
  if (actual.size() != expected.size()) {
    return fmt::format("{}: {} values, expected {}", what, actual.size(),
                       expected.size());
  }
  double scale = 1;
  for (const double value : expected) scale = std::max(scale, std::abs(value));
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(static_cast<double>(actual[i]) - expected[i]);
    if (!(error <= tolerance * scale)) {
      return fmt::format(
          "{}: element {} is {}, expected {} (tolerance {} relative to {})",
          what, i, actual[i], expected[i], tolerance, scale);
    }
  }
  return {};
}

std::string compare_value(const char* what, double actual, double expected,
                          double tolerance) {
  return compare_values<double>(what, std::span<const double>(&actual, 1),
                                std::span<const double>(&expected, 1),
                                tolerance);
}

}  // namespace

const TutorialPoints& tutorial_points() {
  static const TutorialPoints data = [] {
    TutorialPoints result;
    result.x.reserve(kTutorialPoints);
    result.z.reserve(kTutorialPoints);
    std::mt19937_64 engine(42);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::normal_distribution<double> noise(0.0, 0.01);
    for (std::size_t i = 0; i < kTutorialPoints; ++i) {
      const double x = uniform(engine);
      result.x.push_back(x);
      result.z.push_back(2 * x + noise(engine));
    }
    return result;
  }();
  return data;
}

const TutorialTensors& tutorial_tensors() {
  static const TutorialTensors data = [] {
    const TutorialPoints& points = tutorial_points();
    const adjoint::Shape shape{kTutorialPoints};
    return TutorialTensors{adjoint::Tensor<double>(shape, points.x),
                           adjoint::Tensor<double>(shape, points.z)};
  }();
  return data;
}

std::string check_tutorial(double loss, double gradient) {
  // The loss and dL/dw by one hand-written loop.
  const TutorialPoints& data = tutorial_points();
  double expected_loss = 0;
  double expected_gradient = 0;
  for (std::size_t i = 0; i < kTutorialPoints; ++i) {
    const double residual = data.z[i] - kTutorialStartW * data.x[i];
    expected_loss += residual * residual;
    expected_gradient += -2 * residual * data.x[i];
  }
  std::string error = compare_value("loss", loss, expected_loss, 1e-12);
  if (error.empty()) {
    error = compare_value("dL/dw", gradient, expected_gradient, 1e-9);
  }
  return error;
}

const RegressionData& regression_data() {
  static const RegressionData data = [] {
    adjoint::Generator generator(2024);
    adjoint::Tensor<double> features = adjoint::normal<double>(
        {kRegressionRows, kRegressionFeatures}, generator);
    std::vector<double> true_weights(kRegressionFeatures);
    for (double& weight : true_weights) weight = generator.normal();
    std::vector<double> targets(kRegressionRows);
    const double* x = features.data();
    for (std::size_t i = 0; i < kRegressionRows; ++i) {
      double value = 0.5 + 0.1 * generator.normal();
      for (std::size_t j = 0; j < kRegressionFeatures; ++j) {
        value += x[i * kRegressionFeatures + j] * true_weights[j];
      }
      targets[i] = value;
    }
    return RegressionData{
        std::move(features),
        adjoint::Tensor<double>(adjoint::Shape{kRegressionRows}, targets)};
  }();
  return data;
}

std::string check_regression(double loss, std::span<const double> weights,
                             double bias) {
  const RegressionData& data = regression_data();
  const double* x = data.features.data();
  const double* y = data.targets.data();
  const double scale = 2.0 / kRegressionRows;
  // At w = 0 and b = 0 the prediction is 0, so the residual is -y.
  double expected_loss = 0;
  double expected_bias = 0;
  std::vector<double> expected_weights(kRegressionFeatures, 0.0);
  for (std::size_t i = 0; i < kRegressionRows; ++i) {
    const double residual = -y[i];
    expected_loss += residual * residual;
    expected_bias += scale * residual;
    for (std::size_t j = 0; j < kRegressionFeatures; ++j) {
      expected_weights[j] += scale * residual * x[i * kRegressionFeatures + j];
    }
  }
  expected_loss /= kRegressionRows;
  std::string error = compare_value("loss", loss, expected_loss, 1e-10);
  if (error.empty()) {
    error = compare_values("dL/dw", weights, std::span(expected_weights),
                           1e-10);
  }
  if (error.empty()) {
    error = compare_value("dL/db", bias, expected_bias, 1e-10);
  }
  return error;
}

std::string check_chain(double value, double gradient) {
  double t = kChainStart;
  double dt = 0;  // dt/dp
  for (int i = 0; i < kChainOperations; ++i) {
    if (i % 2 == 0) {
      t += kChainParameter;
      dt += 1;
    } else {
      // d(t p)/dp = (dt/dp) p + t, with the old t.
      dt = dt * kChainParameter + t;
      t *= kChainParameter;
    }
  }
  std::string error = compare_value("t", value, t, 1e-12);
  if (error.empty()) error = compare_value("dt/dp", gradient, dt, 1e-12);
  return error;
}

template <class T>
const MatmulOperands<T>& matmul_operands() {
  static const MatmulOperands<T> operands = [] {
    adjoint::Generator generator(sizeof(T));
    const adjoint::Shape shape{kMatmulSize, kMatmulSize};
    adjoint::Tensor<T> a = adjoint::uniform<T>(shape, generator, T(-1), T(1));
    adjoint::Tensor<T> b = adjoint::uniform<T>(shape, generator, T(-1), T(1));
    return MatmulOperands<T>{std::move(a), std::move(b)};
  }();
  return operands;
}

template const MatmulOperands<float>& matmul_operands<float>();
template const MatmulOperands<double>& matmul_operands<double>();

namespace {

/// A B and the gradients of sum(A B), in double from the T operands.
struct MatmulReference {
  std::vector<double> product;
  std::vector<double> grad_a;
  std::vector<double> grad_b;
};

template <class T>
const MatmulReference& matmul_reference() {
  static const MatmulReference reference = [] {
    const std::size_t n = kMatmulSize;
    const T* a = matmul_operands<T>().a.data();
    const T* b = matmul_operands<T>().b.data();
    MatmulReference result;
    result.product.assign(n * n, 0.0);
    result.grad_a.assign(n * n, 0.0);
    result.grad_b.assign(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t p = 0; p < n; ++p) {
        const double aip = a[i * n + p];
        for (std::size_t j = 0; j < n; ++j) {
          result.product[i * n + j] += aip * static_cast<double>(b[p * n + j]);
        }
      }
    }
    // dL/dA[i][p] = sum_j B[p][j] and dL/dB[p][j] = sum_i A[i][p].
    for (std::size_t p = 0; p < n; ++p) {
      double row_sum = 0;
      double column_sum = 0;
      for (std::size_t j = 0; j < n; ++j) row_sum += b[p * n + j];
      for (std::size_t i = 0; i < n; ++i) column_sum += a[i * n + p];
      for (std::size_t i = 0; i < n; ++i) result.grad_a[i * n + p] = row_sum;
      for (std::size_t j = 0; j < n; ++j) result.grad_b[p * n + j] = column_sum;
    }
    return result;
  }();
  return reference;
}

template <class T>
constexpr double matmul_tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

}  // namespace

template <class T>
std::string check_matmul_product(std::span<const T> product) {
  const MatmulReference& reference = matmul_reference<T>();
  return compare_values("A B", product, std::span(reference.product),
                        matmul_tolerance<T>());
}

template <class T>
std::string check_matmul_gradient(std::span<const T> grad_a,
                                  std::span<const T> grad_b) {
  const MatmulReference& reference = matmul_reference<T>();
  std::string error = compare_values("dL/dA", grad_a,
                                     std::span(reference.grad_a),
                                     matmul_tolerance<T>());
  if (error.empty()) {
    error = compare_values("dL/dB", grad_b, std::span(reference.grad_b),
                           matmul_tolerance<T>());
  }
  return error;
}

template std::string check_matmul_product<float>(std::span<const float>);
template std::string check_matmul_product<double>(std::span<const double>);
template std::string check_matmul_gradient<float>(std::span<const float>,
                                                  std::span<const float>);
template std::string check_matmul_gradient<double>(std::span<const double>,
                                                   std::span<const double>);

}  // namespace adjoint_bench

namespace adjoint_bench {

std::vector<double> optimizer_start() {
  std::vector<double> values(kOptimizerParameters);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = std::sin(0.001 * static_cast<double>(i));
  }
  return values;
}

std::vector<double> optimizer_gradient() {
  std::vector<double> values(kOptimizerParameters);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = std::cos(0.002 * static_cast<double>(i)) - 0.25;
  }
  return values;
}

std::string check_optimizer_step(const double* values) {
  const std::vector<double> start = optimizer_start();
  const std::vector<double> gradient = optimizer_gradient();
  for (std::size_t i = 0; i < start.size(); ++i) {
    // The first Adam step is -lr g / (|g| + eps) once the moments are
    // corrected for their start at 0.
    const double g = gradient[i];
    const double expected =
        start[i] - kOptimizerLearningRate * g / (std::abs(g) + 1e-8);
    if (std::abs(values[i] - expected) > 1e-12) {
      return fmt::format("first Adam step: element {} is {}, expected {}", i,
                         values[i], expected);
    }
  }
  return {};
}

}  // namespace adjoint_bench
