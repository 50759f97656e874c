#pragma once

// Boost.Test support for testing operators: one line checks an operator's
// gradient against 50-digit central differences.
//
//   #include "autodiff/testing.hpp"
//
//   BOOST_AUTO_TEST_CASE(softplus_gradient) {
//     const std::vector<adjoint::Tensor<double>> inputs = {
//         adjoint::Tensor<double>{-2.0, 0.0, 3.0}};
//     ADJOINT_CHECK_GRADIENT([](auto x) { return sum(softplus(x[0])); },
//                            inputs);
//   }
//
// The function is called with spans of Var (for a list of numbers) or of
// Tensor (for a list of tensors), once in T and once in
// adjoint::Reference, so it must be generic, as above. A failure reports,
// at the line of the macro, the input and element with the worst error,
// the reverse-mode gradient, the finite difference and the error. An
// optional last argument sets the tolerance, which defaults to
// adjoint::default_gradient_tolerance<T>.
//
// The library itself does not depend on Boost.Test; only code that
// includes this header does.

#include <boost/test/unit_test.hpp>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "autodiff/gradient_check.hpp"

namespace adjoint::testing {

/// The outcome of a gradient check in the form BOOST_TEST takes.
struct GradientReport {
  bool passed = false;
  std::string message;
};

template <class Check>
GradientReport report(const Check& check, double tolerance) {
  return {check.passed(tolerance), check.verdict(tolerance)};
}

template <class F, class T>
GradientReport gradient_report(
    F&& f, const std::vector<Tensor<T>>& inputs,
    double tolerance = default_gradient_tolerance<T>) {
  return report(
      check_gradient<T>(std::forward<F>(f), std::span<const Tensor<T>>(inputs)),
      tolerance);
}

template <class F, class T>
GradientReport gradient_report(
    F&& f, const std::vector<T>& point,
    double tolerance = default_gradient_tolerance<T>) {
  return report(
      check_gradient<T>(std::forward<F>(f), std::span<const T>(point)),
      tolerance);
}

template <class F, class T>
GradientReport gradient_report(
    F&& f, std::initializer_list<T> point,
    double tolerance = default_gradient_tolerance<T>) {
  return report(check_gradient<T>(std::forward<F>(f), point), tolerance);
}

}  // namespace adjoint::testing

/// Checks the gradient of a function against 50-digit central differences
/// as one BOOST_TEST: ADJOINT_CHECK_GRADIENT(f, inputs [, tolerance]).
#define ADJOINT_CHECK_GRADIENT(...)                                     \
  do {                                                                  \
    const ::adjoint::testing::GradientReport adjoint_gradient_report_ = \
        ::adjoint::testing::gradient_report(__VA_ARGS__);               \
    BOOST_TEST(adjoint_gradient_report_.passed,                         \
               adjoint_gradient_report_.message);                       \
  } while (false)
