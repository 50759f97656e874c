#define BOOST_TEST_MODULE ops_gradient
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

// Every operator's gradient at ordinary points.
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
using adjoint::testing::large;
using adjoint::testing::same_value;
using adjoint::testing::ScalarTypes;
using adjoint::testing::tiny;
using adjoint::testing::to_text;

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_gradient)

BOOST_AUTO_TEST_CASE_TEMPLATE(arithmetic_between_vars, T, ScalarTypes) {
  const auto add = [](auto x) { return x[0] + x[1]; };
  const auto subtract = [](auto x) { return x[0] - x[1]; };
  const auto multiply = [](auto x) { return x[0] * x[1]; };
  const auto divide = [](auto x) { return x[0] / x[1]; };
  for (const auto& [a, b] :
       {std::pair<T, T>(1.5, -0.75), std::pair<T, T>(-3.25, 7.0),
        std::pair<T, T>(0.1, 3e-7)}) {
    expect_gradient<T>(add, {a, b});
    expect_gradient<T>(subtract, {a, b});
    expect_gradient<T>(multiply, {a, b});
    expect_gradient<T>(divide, {a, b});
  }
  // The same Var on both sides: a node used twice by one operation.
  expect_gradient<T>([](auto x) { return x[0] * x[0]; }, {T(-1.25)});
  expect_gradient<T>([](auto x) { return x[0] / x[0]; }, {T(0.3)});
  expect_gradient<T>([](auto x) { return x[0] - x[0]; }, {T(0.3)});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(arithmetic_with_plain_numbers, T, ScalarTypes) {
  for (const T& x : {T(1.5), T(-0.3), T(4e5)}) {
    expect_gradient<T>([](auto v) { return v[0] + 2.5; }, {x});
    expect_gradient<T>([](auto v) { return 2.5 + v[0]; }, {x});
    expect_gradient<T>([](auto v) { return v[0] - 2.5; }, {x});
    expect_gradient<T>([](auto v) { return 2.5 - v[0]; }, {x});
    expect_gradient<T>([](auto v) { return v[0] * -2.5; }, {x});
    expect_gradient<T>([](auto v) { return -2.5 * v[0]; }, {x});
    expect_gradient<T>([](auto v) { return v[0] / 0.75; }, {x});
    expect_gradient<T>([](auto v) { return 0.75 / v[0]; }, {x});
    expect_gradient<T>([](auto v) { return -v[0]; }, {x});
    expect_gradient<T>([](auto v) { return -(v[0] * 3.0); }, {x});
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(compound_assignment_gradients, T, ScalarTypes) {
  const auto with_vars = [](auto x) {
    auto y = x[0];
    y += x[1];
    y *= x[0];
    y -= x[1];
    y /= x[1];
    return y;
  };
  const auto with_numbers = [](auto x) {
    auto y = x[0];
    y += 2.5;
    y *= -3.0;
    y -= 0.25;
    y /= 0.75;
    return y;
  };
  for (const auto& [a, b] :
       {std::pair<T, T>(1.5, -0.75), std::pair<T, T>(-2.0, 3.5)}) {
    expect_gradient<T>(with_vars, {a, b});
    expect_gradient<T>(with_numbers, {a, b});
  }

  // A compound assignment rebinds the handle and leaves the parameter it
  // was copied from unchanged.
  Var<T> x{T(2)};
  Var<T> y = x;
  y += T(1);
  y *= x;
  BOOST_TEST(same_value(x.value(), T(2)));
  BOOST_TEST(same_value(y.value(), T(6)));
  y.backward();
  BOOST_TEST(same_value(x.grad(), T(5)));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pow_with_number_exponent, T, ScalarTypes) {
  for (const T& p : {T(2), T(3), T(0.5), T(-1), T(2.5), T(-0.75), T(1), T(0)}) {
    BOOST_TEST_CONTEXT("exponent " << to_text(p)) {
      expect_gradient<T>([p](auto x) { return pow(x[0], p); }, {T(1.7)});
      expect_gradient<T>([p](auto x) { return pow(x[0], p); }, {T(0.3)});
    }
  }
  // A negative base with an integer exponent is real and differentiable.
  for (const T& p : {T(2), T(3), T(-1), T(-2), T(5)}) {
    BOOST_TEST_CONTEXT("exponent " << to_text(p)) {
      expect_gradient<T>([p](auto x) { return pow(x[0], p); }, {T(-1.3)});
      expect_gradient<T>([p](auto x) { return pow(x[0], p); }, {T(-4.0)});
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pow_with_number_base, T, ScalarTypes) {
  for (const T& p : {T(-1.5), T(0.5), T(3), T(0)}) {
    expect_gradient<T>([](auto x) { return pow(2.5, x[0]); }, {p});
    expect_gradient<T>([](auto x) { return pow(0.25, x[0]); }, {p});
    expect_gradient<T>([](auto x) { return pow(1.0, x[0]); }, {p});
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pow_between_vars, T, ScalarTypes) {
  const auto power = [](auto x) { return pow(x[0], x[1]); };
  expect_gradient<T>(power, {T(1.7), T(2.5)});
  expect_gradient<T>(power, {T(0.3), T(-1.25)});
  expect_gradient<T>(power, {T(4.0), T(0.5)});
  // The same Var as base and exponent: d(x^x)/dx = x^x (log x + 1).
  expect_gradient<T>([](auto x) { return pow(x[0], x[0]); }, {T(1.3)});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(square_and_sqrt_gradients, T, ScalarTypes) {
  for (const T& x : {T(-2.5), T(0.3), T(7.0)}) {
    expect_gradient<T>([](auto v) { return square(v[0]); }, {x});
  }
  for (const T& x : {T(0.3), T(2.0), T(1e4)}) {
    expect_gradient<T>([](auto v) { return sqrt(v[0]); }, {x});
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(exp_and_log_gradients, T, ScalarTypes) {
  for (const T& x : {T(-3.5), T(0.0), T(0.3), T(20.0)}) {
    expect_gradient<T>([](auto v) { return exp(v[0]); }, {x});
  }
  for (const T& x : {T(0.3), T(1.0), T(2.5), T(1e6)}) {
    expect_gradient<T>([](auto v) { return log(v[0]); }, {x});
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(trigonometric_gradients, T, ScalarTypes) {
  for (const T& x : {T(-2.0), T(0.0), T(0.7), T(3.0), T(10.0)}) {
    expect_gradient<T>([](auto v) { return sin(v[0]); }, {x});
    expect_gradient<T>([](auto v) { return cos(v[0]); }, {x});
  }
  // 1.5 is 0.07 from the pole at pi/2, where tan' is about 200.
  for (const T& x : {T(-1.0), T(0.0), T(0.7), T(1.5)}) {
    expect_gradient<T>([](auto v) { return tan(v[0]); }, {x});
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(tanh_and_sigmoid_gradients, T, ScalarTypes) {
  for (const T& x : {T(-3.0), T(-0.5), T(0.0), T(0.5), T(3.0), T(15.0)}) {
    expect_gradient<T>([](auto v) { return tanh(v[0]); }, {x});
    expect_gradient<T>([](auto v) { return sigmoid(v[0]); }, {x});
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(piecewise_gradients_off_kinks, T, ScalarTypes) {
  for (const auto& [a, b] :
       {std::pair<T, T>(1.5, -0.5), std::pair<T, T>(-2.0, 3.0)}) {
    expect_gradient<T>([](auto x) { return abs(x[0]); }, {a});
    expect_gradient<T>([](auto x) { return relu(x[0]); }, {a});
    expect_gradient<T>([](auto x) { return max(x[0], x[1]); }, {a, b});
    expect_gradient<T>([](auto x) { return min(x[0], x[1]); }, {a, b});
    expect_gradient<T>([](auto x) { return max(x[0], 0.25); }, {a});
    expect_gradient<T>([](auto x) { return max(0.25, x[0]); }, {a});
    expect_gradient<T>([](auto x) { return min(x[0], 0.25); }, {a});
    expect_gradient<T>([](auto x) { return min(0.25, x[0]); }, {a});
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(composite_expression_gradients, T, ScalarTypes) {
  expect_gradient<T>([](auto x) { return x[0] * sin(x[1]) + exp(x[0] / x[1]); },
                     {T(0.5), T(2.0)});
  expect_gradient<T>(
      [](auto x) { return log(square(x[0]) + 1.0) * tanh(x[1] - x[0]); },
      {T(-1.5), T(0.25)});
  expect_gradient<T>(
      [](auto x) {
        return sqrt(abs(x[0] * x[1])) + max(x[0], x[1]) * sigmoid(x[2]);
      },
      {T(-0.5), T(3.0), T(1.25)});
}

// Edges: values near 0, large and tiny magnitudes, points next to kinks

BOOST_AUTO_TEST_SUITE_END()
