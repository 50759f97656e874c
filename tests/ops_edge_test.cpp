#define BOOST_TEST_MODULE ops_edge
// GCC 12 reports a false -Wrestrict in the std::string::assign that
// Boost.Multiprecision's format_float_string inlines, when to_text() prints
// a cpp_bin_float_50. The state at the warning's location decides, so the
// pragma must come before the first standard header.
#pragma GCC diagnostic ignored "-Wrestrict"
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "ops_support.hpp"

// Gradients at edges: near zero, at large and tiny magnitudes, next to
// kinks, and the conventions at kinks and singular points.
//
// Every operator's gradient against the 50-digit central difference of
// check_gradient(), for float, double, long double and cpp_bin_float_50. At
// kinks and singular points, where a central difference averages both sides,
// the tests check the documented convention exactly instead.

namespace {

using adjoint::NoGradGuard;
using adjoint::Tape;
using adjoint::Var;
using adjoint::testing::expect_exact_gradient;
using adjoint::testing::expect_gradient;
using adjoint::testing::infinity;
using adjoint::testing::large;
using adjoint::testing::quiet_nan;
using adjoint::testing::same_value;
using adjoint::testing::ScalarTypes;
using adjoint::testing::tiny;
using adjoint::testing::to_text;

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_edge)

BOOST_AUTO_TEST_CASE_TEMPLATE(gradients_near_zero, T, ScalarTypes) {
  // Functions that scale with x near 0, down to 1e-150 (1e-18 for float).
  for (const T& x : {T(1e-8), T(-1e-8), tiny<T>(), T(-tiny<T>())}) {
    BOOST_TEST_CONTEXT("x = " << to_text(x)) {
      expect_gradient<T>([](auto v) { return v[0] * v[0]; }, {x});
      expect_gradient<T>([](auto v) { return 1.0 / v[0]; }, {x});
      expect_gradient<T>([](auto v) { return sin(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return tan(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return tanh(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return pow(v[0], 3.0); }, {x});
    }
  }
  // Functions with f(0) != 0 only at ±1e-8. With the checker's step of
  // 1e-12 |x|, at 1e-150 the difference f(x + h) - f(x - h) is about
  // 1e-162 f(0), which vanishes in 50 digits and leaves a reference of 0.
  for (const T& x : {T(1e-8), T(-1e-8)}) {
    BOOST_TEST_CONTEXT("x = " << to_text(x)) {
      expect_gradient<T>([](auto v) { return exp(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return cos(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return sigmoid(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return pow(2.0, v[0]); }, {x});
    }
  }
  for (const T& x : {T(1e-8), tiny<T>()}) {
    BOOST_TEST_CONTEXT("x = " << to_text(x)) {
      expect_gradient<T>([](auto v) { return sqrt(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return log(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return pow(v[0], 0.5); }, {x});
      expect_gradient<T>([](auto v) { return pow(v[0], v[1]); }, {x, T(1.5)});
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(gradients_at_large_and_tiny_magnitudes, T,
                              ScalarTypes) {
  const T big = large<T>();
  const T small = tiny<T>();
  const auto multiply = [](auto x) { return x[0] * x[1]; };
  const auto divide = [](auto x) { return x[0] / x[1]; };
  const auto add = [](auto x) { return x[0] + x[1]; };
  expect_gradient<T>(multiply, {big, big});
  expect_gradient<T>(multiply, {big, small});
  expect_gradient<T>(multiply, {small, T(-small)});
  expect_gradient<T>(divide, {big, big});
  expect_gradient<T>(divide, {small, small});
  expect_gradient<T>(divide, {T(1), big});
  expect_gradient<T>(divide, {T(1), small});
  expect_gradient<T>(add, {big, T(-big)});
  for (const T& x : {big, T(-big), small, T(-small)}) {
    BOOST_TEST_CONTEXT("x = " << to_text(x)) {
      expect_gradient<T>([](auto v) { return square(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return v[0] * 2.5; }, {x});
      expect_gradient<T>([](auto v) { return 2.5 / v[0]; }, {x});
      expect_gradient<T>([](auto v) { return abs(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return relu(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return max(v[0], 0.0); }, {x});
      expect_gradient<T>([](auto v) { return pow(v[0], 2.0); }, {x});
      expect_gradient<T>([](auto v) { return pow(v[0], -1.0); }, {x});
    }
  }
  for (const T& x : {big, small}) {
    BOOST_TEST_CONTEXT("x = " << to_text(x)) {
      expect_gradient<T>([](auto v) { return sqrt(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return log(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return pow(v[0], 0.5); }, {x});
      expect_gradient<T>([](auto v) { return pow(v[0], v[1]); }, {x, T(1.5)});
    }
  }
  // Large exponents: 2^100 and 2^-100 are finite in every type.
  expect_gradient<T>([](auto v) { return pow(2.0, v[0]); }, {T(100)});
  expect_gradient<T>([](auto v) { return pow(2.0, v[0]); }, {T(-100)});
  expect_gradient<T>([](auto v) { return exp(v[0]); }, {T(-80)});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(gradients_next_to_kinks, T, ScalarTypes) {
  // The central difference step is 1e-12 |x|, so at ±1e-30 it stays on one
  // side of the kink at 0.
  for (const T& x : {T(1e-30), T(-1e-30)}) {
    BOOST_TEST_CONTEXT("x = " << to_text(x)) {
      expect_gradient<T>([](auto v) { return abs(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return relu(v[0]); }, {x});
      expect_gradient<T>([](auto v) { return max(v[0], 0.0); }, {x});
      expect_gradient<T>([](auto v) { return min(0.0, v[0]); }, {x});
      expect_gradient<T>([](auto v) { return max(v[0], v[1]); }, {x, T(-x)});
      expect_gradient<T>([](auto v) { return min(v[0], v[1]); }, {x, T(-x)});
    }
  }
}

// Conventions at kinks and singular points, checked exactly

BOOST_AUTO_TEST_CASE_TEMPLATE(kink_conventions, T, ScalarTypes) {
  const T zero(0);
  const T negative_zero = -zero;
  for (const T& x : {zero, negative_zero}) {
    BOOST_TEST_CONTEXT("x = " << to_text(x)) {
      // relu'(0) = 0 and abs'(0) = 0, as in PyTorch.
      expect_exact_gradient<T>([](auto v) { return relu(v[0]); }, {x}, {T(0)});
      expect_exact_gradient<T>([](auto v) { return abs(v[0]); }, {x}, {T(0)});
      // max(x, 0) is torch.maximum, not relu: a tie gives 1/2.
      expect_exact_gradient<T>([](auto v) { return max(v[0], 0.0); }, {x},
                               {T(0.5)});
      expect_exact_gradient<T>([](auto v) { return min(0.0, v[0]); }, {x},
                               {T(0.5)});
    }
  }
  // A tie gives 1/2 to each operand, and the same Var twice gets both.
  const auto maximum = [](auto v) { return max(v[0], v[1]); };
  const auto minimum = [](auto v) { return min(v[0], v[1]); };
  expect_exact_gradient<T>(maximum, {T(1.5), T(1.5)}, {T(0.5), T(0.5)});
  expect_exact_gradient<T>(minimum, {T(-2), T(-2)}, {T(0.5), T(0.5)});
  expect_exact_gradient<T>([](auto v) { return max(v[0], v[0]); }, {T(3)},
                           {T(1)});
  expect_exact_gradient<T>([](auto v) { return min(v[0], v[0]); }, {T(3)},
                           {T(1)});
  // A NaN operand gives NaN and gradient 1 to both, as torch.maximum does.
  const T not_a_number(quiet_nan);
  expect_exact_gradient<T>(maximum, {not_a_number, T(1)}, {T(1), T(1)});
  expect_exact_gradient<T>(maximum, {T(1), not_a_number}, {T(1), T(1)});
  expect_exact_gradient<T>(minimum, {not_a_number, T(1)}, {T(1), T(1)});
  expect_exact_gradient<T>([](auto v) { return max(v[0], quiet_nan); }, {T(1)},
                           {T(1)});
  // abs'(NaN) is 0 because NaN > 0 is false, and relu'(NaN) is 1 because
  // PyTorch 1.13 zeroes relu's gradient only where the output is <= 0.
  expect_exact_gradient<T>([](auto v) { return relu(v[0]); }, {not_a_number},
                           {T(1)});
  expect_exact_gradient<T>([](auto v) { return abs(v[0]); }, {not_a_number},
                           {T(0)});
  BOOST_TEST(adjoint::testing::is_nan(relu(Var<T>{not_a_number}).value()));
  Var<T> x{T(1)};
  Var<T> y{not_a_number};
  BOOST_TEST(adjoint::testing::is_nan(max(x, y).value()));
  BOOST_TEST(adjoint::testing::is_nan(min(y, x).value()));
  BOOST_TEST(adjoint::testing::is_nan(max(T(2), y).value()));
  Tape<T>::active().clear();
}

BOOST_AUTO_TEST_CASE_TEMPLATE(singular_point_conventions, T, ScalarTypes) {
  const T inf(infinity);
  const T not_a_number(quiet_nan);
  // sqrt'(0) = +inf and log'(0) = +inf, with log(0) = -inf.
  expect_exact_gradient<T>([](auto v) { return sqrt(v[0]); }, {T(0)}, {inf});
  expect_exact_gradient<T>([](auto v) { return log(v[0]); }, {T(0)}, {inf});
  BOOST_TEST(same_value(adjoint::log(Var<T>{T(0)}).value(), T(-inf)));
  // Outside the domain the value is NaN, and log keeps the gradient 1/x.
  expect_exact_gradient<T>([](auto v) { return log(v[0]); }, {T(-2)},
                           {T(-0.5)});
  expect_exact_gradient<T>([](auto v) { return sqrt(v[0]); }, {T(-1)},
                           {not_a_number});

  // pow at a zero base follows PyTorch's pow_backward: d/dx = p x^(p-1)
  // except 0 for p == 0, and d/dp = 0 for p >= 0.
  const auto power = [](auto v) { return pow(v[0], v[1]); };
  expect_exact_gradient<T>(power, {T(0), T(3)}, {T(0), T(0)});
  expect_exact_gradient<T>(power, {T(0), T(2)}, {T(0), T(0)});
  expect_exact_gradient<T>(power, {T(0), T(1)}, {T(1), T(0)});
  expect_exact_gradient<T>(power, {T(0), T(0)}, {T(0), T(0)});
  expect_exact_gradient<T>(power, {T(0), T(0.5)}, {inf, T(0)});
  // 0^-1 = inf: d/dx = -1 * 0^-2 = -inf, d/dp = inf * log(0) = -inf.
  expect_exact_gradient<T>(power, {T(0), T(-1)}, {T(-inf), T(-inf)});
  BOOST_TEST(same_value(pow(Var<T>{T(0)}, Var<T>{T(0)}).value(), T(1)));
  BOOST_TEST(same_value(pow(Var<T>{T(0)}, T(-1)).value(), inf));
  expect_exact_gradient<T>([](auto v) { return pow(v[0], 0.0); }, {T(0)},
                           {T(0)});
  expect_exact_gradient<T>([](auto v) { return pow(0.0, v[0]); }, {T(2)},
                           {T(0)});
  expect_exact_gradient<T>([](auto v) { return pow(0.0, v[0]); }, {T(0)},
                           {T(0)});
  // A negative base: d/dx is real for an integer exponent, d/dp is NaN
  // because log(x) is not real.
  expect_exact_gradient<T>(power, {T(-2), T(3)}, {T(12), not_a_number});
  expect_exact_gradient<T>([](auto v) { return pow(-2.0, v[0]); }, {T(2)},
                           {not_a_number});
  expect_exact_gradient<T>([](auto v) { return pow(v[0], 2.0); }, {T(-3)},
                           {T(-6)});

  // Division by zero follows IEEE 754: 1/0 = inf, d(1/x)/dx = -1/0 = -inf.
  const auto divide = [](auto v) { return v[0] / v[1]; };
  expect_exact_gradient<T>(divide, {T(1), T(0)}, {inf, T(-inf)});
  expect_exact_gradient<T>(divide, {T(-1), T(0)}, {inf, inf});
  expect_exact_gradient<T>(divide, {T(0), T(0)}, {inf, not_a_number});
  expect_exact_gradient<T>([](auto v) { return 1.0 / v[0]; }, {T(0)},
                           {T(-inf)});
  expect_exact_gradient<T>([](auto v) { return v[0] / 0.0; }, {T(2)}, {inf});
  BOOST_TEST(same_value((Var<T>{T(1)} / T(0)).value(), inf));
  BOOST_TEST(adjoint::testing::is_nan((Var<T>{T(0)} / T(0)).value()));
  Tape<T>::active().clear();
}

BOOST_AUTO_TEST_CASE_TEMPLATE(saturation_conventions, T, ScalarTypes) {
  const auto hyperbolic_tangent = [](auto v) { return tanh(v[0]); };
  const auto logistic = [](auto v) { return sigmoid(v[0]); };
  // At ±20 the derivatives are 1.7e-17 and 2.1e-9 while tanh(20) rounds to
  // 1 in double, so 1 - tanh^2 would give 0. The 50-digit check catches that.
  for (const T& x : {T(20), T(-20)}) {
    expect_gradient<T>(hyperbolic_tangent, {x});
    expect_gradient<T>(logistic, {x});
  }
  // At ±1000 the derivatives are below the smallest float and double, so
  // those types give exactly 0, and no NaN from inf / inf.
  for (const T& x : {T(1000), T(-1000)}) {
    BOOST_TEST_CONTEXT("x = " << to_text(x)) {
      if constexpr (std::numeric_limits<T>::max_exponent10 < 1000) {
        expect_exact_gradient<T>(hyperbolic_tangent, {x}, {T(0)});
        expect_exact_gradient<T>(logistic, {x}, {T(0)});
      } else {
        // long double and cpp_bin_float_50 represent them. The checker
        // cannot help here: tanh(1000 ± h) and sigmoid(1000 ± h) round to 1
        // in 50 digits, so its central difference is 0. The expected values
        // are 1 / cosh(1000)^2 and s (1 - s) with s = 1 / (1 + e^1000),
        // computed with mpmath at 60 digits.
        const T tanh_slope = static_cast<T>(adjoint::Reference(
            "1.03061434918445986087606019980294116508885222950425e-868"));
        const T sigmoid_slope = static_cast<T>(adjoint::Reference(
            "5.07595889754945676529180947957433691930559928289284e-435"));
        const double relative = adjoint::testing::gradient_tolerance<T>;
        adjoint::testing::expect_close(
            adjoint::testing::reverse_gradient<T>(hyperbolic_tangent, {x})[0],
            tanh_slope, 0, relative);
        adjoint::testing::expect_close(
            adjoint::testing::reverse_gradient<T>(logistic, {x})[0],
            sigmoid_slope, 0, relative);
      }
      BOOST_TEST(
          same_value(adjoint::tanh(Var<T>{x}).value(), T(x > 0 ? 1 : -1)));
    }
  }
  if constexpr (std::numeric_limits<T>::max_exponent10 < 1000) {
    BOOST_TEST(same_value(sigmoid(Var<T>{T(1000)}).value(), T(1)));
    BOOST_TEST(same_value(sigmoid(Var<T>{T(-1000)}).value(), T(0)));
  }
  Tape<T>::active().clear();
}

// Forward values

BOOST_AUTO_TEST_SUITE_END()
