// Inputs and reference results shared by the adjoint workloads and their
// libtorch and OpenBLAS peers, so that every variant of a workload reads the
// same arrays. Each input is made on first use from a fixed seed.

#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace adjoint_bench {

// W1 and W3: the tutorial loss L(w) = sum_i (z_i - w x_i)^2.

inline constexpr std::size_t kTutorialPoints = 1'000'000;
inline constexpr double kTutorialStartW = 0.5;

struct TutorialPoints {
  std::vector<double> x;
  std::vector<double> z;
};

/// x uniform in [0, 1) and z = 2x + noise with standard deviation 0.01.
const TutorialPoints& tutorial_points();

/// The same points as constant tensors.
struct TutorialTensors {
  adjoint::Tensor<double> x;
  adjoint::Tensor<double> z;
};
const TutorialTensors& tutorial_tensors();

/// An empty string when the loss and dL/dw at w = kTutorialStartW match the
/// hand-written loop (to 1e-12 and 1e-9 relative), otherwise what differs.
std::string check_tutorial(double loss, double gradient);

// W4: one step of linear regression, L(w, b) = mean((X w + b - y)^2).

inline constexpr std::size_t kRegressionRows = 100'000;
inline constexpr std::size_t kRegressionFeatures = 256;
inline constexpr double kRegressionLearningRate = 0.1;

/// X (rows x features) standard normal, and y = X w* + 0.5 + noise with
/// standard deviation 0.1, where w* is standard normal too.
struct RegressionData {
  adjoint::Tensor<double> features;
  adjoint::Tensor<double> targets;
};
const RegressionData& regression_data();

/// An empty string when the loss, dL/dw and dL/db at w = 0, b = 0 match
/// plain loops (to 1e-10 relative), otherwise what differs.
std::string check_regression(double loss, std::span<const double> weights,
                             double bias);

// W5: a chain of one-element operations, t <- t + p and t <- t * p in
// turn, starting from t = kChainStart with the parameter p = kChainParameter.

inline constexpr int kChainOperations = 100;
inline constexpr double kChainStart = 1.0;
inline constexpr double kChainParameter = 0.5;

/// An empty string when the chain's final value and dt/dp match forward
/// mode in double (to 1e-12 relative), otherwise what differs.
std::string check_chain(double value, double gradient);

// W6: the product of two 512 x 512 matrices with entries uniform in
// [-1, 1).

inline constexpr std::size_t kMatmulSize = 512;

template <class T>
struct MatmulOperands {
  adjoint::Tensor<T> a;
  adjoint::Tensor<T> b;
};

// The functions below are defined for float and double.

template <class T>
const MatmulOperands<T>& matmul_operands();

/// An empty string when `product` matches A B computed in double by plain
/// loops, otherwise what differs. The tolerance, relative to the largest
/// entry, is 1e-12 for double and 1e-5 for float.
template <class T>
std::string check_matmul_product(std::span<const T> product);

/// As check_matmul_product, for the gradients of sum(A B): dL/dA = 1 B^T
/// and dL/dB = A^T 1, where 1 is the matrix of ones.
template <class T>
std::string check_matmul_gradient(std::span<const T> grad_a,
                                  std::span<const T> grad_b);

// W7: one Adam step on a parameter of kOptimizerParameters doubles with a
// fixed gradient.

inline constexpr std::size_t kOptimizerParameters = 1'000'000;
inline constexpr double kOptimizerLearningRate = 1e-3;

/// The parameter before the first step, sin(0.001 i).
std::vector<double> optimizer_start();

/// The gradient, cos(0.002 i) - 0.25.
std::vector<double> optimizer_gradient();

/// An empty string when `values` is the parameter after one Adam step
/// from optimizer_start() (to 1e-12), otherwise what differs.
std::string check_optimizer_step(const double* values);

}  // namespace adjoint_bench
