#define BOOST_TEST_MODULE ops
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
using adjoint::testing::same_value;
using adjoint::testing::ScalarTypes;
using adjoint::testing::to_text;

/// A large input whose square and products stay finite in T.
template <class T>
T large() {
  if constexpr (std::is_same_v<T, float>) {
    return T(1e18f);
  } else {
    return T(1e150);
  }
}

/// A tiny input whose square and products stay normal in T.
template <class T>
T tiny() {
  if constexpr (std::is_same_v<T, float>) {
    return T(1e-18f);
  } else {
    return T(1e-150);
  }
}

constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr double quiet_nan = std::numeric_limits<double>::quiet_NaN();

/// Checks that `operation` on a Var has the same value as `plain` on T, bit
/// for bit, at every point.
template <class T, class Operation, class Plain>
void expect_forward(const char* name, Operation operation, Plain plain,
                    std::initializer_list<T> points) {
  for (const T& x : points) {
    const Var<T> got = operation(Var<T>{x});
    const T want = plain(x);
    BOOST_TEST_INFO(name << " at " << to_text(x) << ": Var value "
                         << to_text(got.value()) << ", plain function "
                         << to_text(want));
    BOOST_TEST(same_value(got.value(), want));
  }
  Tape<T>::active().clear();
}

/// Checks a binary operation between two Vars, a Var and a number, and a
/// number and a Var against the same operation on T.
template <class T, class Operation>
void expect_binary_forward(const char* name, Operation operation, T a, T b) {
  const T want = operation(a, b);
  const T var_var = operation(Var<T>{a}, Var<T>{b}).value();
  const T var_number = operation(Var<T>{a}, b).value();
  const T number_var = operation(a, Var<T>{b}).value();
  BOOST_TEST_CONTEXT(name << " at (" << to_text(a) << ", " << to_text(b)
                          << "), expected " << to_text(want)) {
    BOOST_TEST_INFO("Var and Var: " << to_text(var_var));
    BOOST_TEST(same_value(var_var, want));
    BOOST_TEST_INFO("Var and number: " << to_text(var_number));
    BOOST_TEST(same_value(var_number, want));
    BOOST_TEST_INFO("number and Var: " << to_text(number_var));
    BOOST_TEST(same_value(number_var, want));
  }
  Tape<T>::active().clear();
}

/// Applies every operator, in every operand form, to `a` and `b`.
template <class T>
std::vector<Var<T>> apply_every_operation(const Var<T>& a, const Var<T>& b) {
  const T number(1.5);
  std::vector<Var<T>> results = {
      a + b,           a + number,      number + a,      a - b,
      a - number,      number - a,      a * b,           a * number,
      number * a,      a / b,           a / number,      number / a,
      -a,              pow(a, number),  pow(number, a),
      pow(a, b),       square(a),       exp(a),          log(a),
      sqrt(a),         sin(a),          cos(a),          tan(a),
      tanh(a),         sigmoid(a),      abs(a),          relu(a),
      max(a, b),       max(a, number),  max(number, a),  min(a, b),
      min(a, number),  min(number, a),
  };
  Var<T> compound = a;
  compound += b;
  compound += number;
  compound -= b;
  compound -= number;
  compound *= b;
  compound *= number;
  compound /= b;
  compound /= number;
  results.push_back(compound);
  return results;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops)

// Ordinary points

BOOST_AUTO_TEST_CASE_TEMPLATE(arithmetic_between_vars, T, ScalarTypes) {
  const auto add = [](auto x) { return x[0] + x[1]; };
  const auto subtract = [](auto x) { return x[0] - x[1]; };
  const auto multiply = [](auto x) { return x[0] * x[1]; };
  const auto divide = [](auto x) { return x[0] / x[1]; };
  for (const auto& [a, b] : {std::pair<T, T>(1.5, -0.75),
                             std::pair<T, T>(-3.25, 7.0),
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

BOOST_AUTO_TEST_CASE_TEMPLATE(arithmetic_with_plain_numbers, T,
                              ScalarTypes) {
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

BOOST_AUTO_TEST_CASE_TEMPLATE(compound_assignment_gradients, T,
                              ScalarTypes) {
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
  for (const auto& [a, b] : {std::pair<T, T>(1.5, -0.75),
                             std::pair<T, T>(-2.0, 3.5)}) {
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
  for (const T& p : {T(2), T(3), T(0.5), T(-1), T(2.5), T(-0.75), T(1),
                    T(0)}) {
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

BOOST_AUTO_TEST_CASE_TEMPLATE(piecewise_gradients_off_kinks, T,
                              ScalarTypes) {
  for (const auto& [a, b] : {std::pair<T, T>(1.5, -0.5),
                             std::pair<T, T>(-2.0, 3.0)}) {
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

BOOST_AUTO_TEST_CASE_TEMPLATE(composite_expression_gradients, T,
                              ScalarTypes) {
  expect_gradient<T>(
      [](auto x) { return x[0] * sin(x[1]) + exp(x[0] / x[1]); },
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
      expect_gradient<T>([](auto v) { return max(v[0], v[1]); },
                         {x, T(-x)});
      expect_gradient<T>([](auto v) { return min(v[0], v[1]); },
                         {x, T(-x)});
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
      expect_exact_gradient<T>([](auto v) { return relu(v[0]); }, {x},
                               {T(0)});
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
  // relu' and abs' of NaN are 0: NaN > 0 is false. PyTorch 1.13 agrees for
  // abs but gives relu'(NaN) = 1.
  expect_exact_gradient<T>([](auto v) { return relu(v[0]); }, {not_a_number},
                           {T(0)});
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
      BOOST_TEST(same_value(adjoint::tanh(Var<T>{x}).value(),
                            T(x > 0 ? 1 : -1)));
    }
  }
  if constexpr (std::numeric_limits<T>::max_exponent10 < 1000) {
    BOOST_TEST(same_value(sigmoid(Var<T>{T(1000)}).value(), T(1)));
    BOOST_TEST(same_value(sigmoid(Var<T>{T(-1000)}).value(), T(0)));
  }
  Tape<T>::active().clear();
}

// Forward values

BOOST_AUTO_TEST_CASE_TEMPLATE(forward_values_match_math_functions, T,
                              ScalarTypes) {
  using std::cos;
  using std::exp;
  using std::log;
  using std::sin;
  using std::sqrt;
  using std::tan;
  using std::tanh;
  const auto points = {T(-2.5), T(-0.3), T(0), T(0.7), T(4)};
  const auto positive = {T(0.3), T(1), T(2.5), T(1e6)};
  expect_forward<T>("negate", [](const auto& v) { return -v; },
                    [](const T& v) { return T(-v); }, points);
  expect_forward<T>("square", [](const auto& v) { return square(v); },
                    [](const T& v) { return T(v * v); }, points);
  expect_forward<T>("exp", [](const auto& v) { return exp(v); },
                    [](const T& v) { return T(exp(v)); }, points);
  expect_forward<T>("log", [](const auto& v) { return log(v); },
                    [](const T& v) { return T(log(v)); }, positive);
  expect_forward<T>("sqrt", [](const auto& v) { return sqrt(v); },
                    [](const T& v) { return T(sqrt(v)); }, positive);
  expect_forward<T>("sin", [](const auto& v) { return sin(v); },
                    [](const T& v) { return T(sin(v)); }, points);
  expect_forward<T>("cos", [](const auto& v) { return cos(v); },
                    [](const T& v) { return T(cos(v)); }, points);
  expect_forward<T>("tan", [](const auto& v) { return tan(v); },
                    [](const T& v) { return T(tan(v)); }, points);
  expect_forward<T>("tanh", [](const auto& v) { return tanh(v); },
                    [](const T& v) { return T(tanh(v)); }, points);
  expect_forward<T>("abs", [](const auto& v) { return abs(v); },
                    [](const T& v) { return T(v < 0 ? T(-v) : v); }, points);
  expect_forward<T>("relu", [](const auto& v) { return relu(v); },
                    [](const T& v) { return T(v > 0 ? v : T(0)); }, points);
  expect_forward<T>("pow 2.5", [](const auto& v) { return pow(v, 2.5); },
                    [](const T& v) { return T(pow(v, T(2.5))); }, positive);

  // sigmoid has no function in <cmath>, so compare it with 1 / (1 + e^-x)
  // to a few ulp.
  for (const T& x : points) {
    using std::abs;
    const T got = sigmoid(Var<T>{x}).value();
    const T want = T(1) / (T(1) + exp(T(-x)));
    const T error = abs(T(got - want));
    const T tolerance = T(8 * std::numeric_limits<T>::epsilon() * want);
    BOOST_TEST_INFO("sigmoid at " << to_text(x) << ": " << to_text(got)
                                  << ", expected " << to_text(want));
    BOOST_TEST(error <= tolerance);
  }
  Tape<T>::active().clear();

  const auto pairs = {std::pair<T, T>(1.5, -0.75), std::pair<T, T>(-3, 7),
                      std::pair<T, T>(0.1, 0.3), std::pair<T, T>(2, 2)};
  for (const auto& [a, b] : pairs) {
    expect_binary_forward<T>(
        "add", [](const auto& x, const auto& y) { return x + y; }, a, b);
    expect_binary_forward<T>(
        "subtract", [](const auto& x, const auto& y) { return x - y; }, a, b);
    expect_binary_forward<T>(
        "multiply", [](const auto& x, const auto& y) { return x * y; }, a, b);
    expect_binary_forward<T>(
        "divide", [](const auto& x, const auto& y) { return x / y; }, a, b);
    expect_binary_forward<T>(
        "max",
        [](const auto& x, const auto& y) {
          using std::max;
          return max(x, y);
        },
        a, b);
    expect_binary_forward<T>(
        "min",
        [](const auto& x, const auto& y) {
          using std::min;
          return min(x, y);
        },
        a, b);
    expect_binary_forward<T>(
        "pow",
        [](const auto& x, const auto& y) {
          using std::abs;
          using std::pow;
          return pow(abs(x), y);
        },
        a, b);
  }
}

// Recording

BOOST_AUTO_TEST_CASE_TEMPLATE(operations_on_constants_record_nothing, T,
                              ScalarTypes) {
  Tape<T>::active().clear();
  const Var<T> a = adjoint::constant(T(0.5));
  const Var<T> b{};
  const Var<T> c = Var<T>{T(2)}.detach();
  for (const Var<T>& result : apply_every_operation(a, c)) {
    BOOST_TEST(result.is_constant());
  }
  for (const Var<T>& result : apply_every_operation(b, a)) {
    BOOST_TEST(result.is_constant());
  }
  BOOST_TEST(Tape<T>::active().size() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(unary_plus_returns_operand, T, ScalarTypes) {
  // +x is the identity: a constant stays a constant and a parameter stays
  // the same parameter, sharing its gradient, and nothing is recorded.
  Tape<T>::active().clear();
  const Var<T> c = adjoint::constant(T(0.5));
  BOOST_TEST((+c).is_constant());
  Var<T> x{T(2)};
  Var<T> y = +x;
  BOOST_TEST(y.is_leaf());
  BOOST_TEST(Tape<T>::active().size() == 0u);
  (y * T(3)).backward();
  BOOST_TEST(same_value(x.grad(), T(3)));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(operations_under_no_grad_return_constants, T,
                              ScalarTypes) {
  Tape<T>::active().clear();
  const Var<T> a{T(0.5)};
  const Var<T> b{T(2)};
  const std::vector<Var<T>> recorded = apply_every_operation(a, b);
  const std::size_t recorded_nodes = Tape<T>::active().size();
  BOOST_TEST(recorded_nodes > 0u);
  {
    NoGradGuard no_grad;
    BOOST_TEST(!adjoint::is_grad_enabled());
    const std::vector<Var<T>> guarded = apply_every_operation(a, b);
    BOOST_TEST_REQUIRE(guarded.size() == recorded.size());
    for (std::size_t i = 0; i < guarded.size(); ++i) {
      BOOST_TEST_INFO("operation " << i);
      BOOST_TEST(guarded[i].is_constant());
      BOOST_TEST_INFO("operation " << i << ": " << to_text(guarded[i].value())
                                   << " under NoGradGuard, "
                                   << to_text(recorded[i].value())
                                   << " recorded");
      BOOST_TEST(same_value(guarded[i].value(), recorded[i].value()));
    }
    BOOST_TEST(Tape<T>::active().size() == recorded_nodes);
  }
  BOOST_TEST(adjoint::is_grad_enabled());
  Tape<T>::active().clear();
}

BOOST_AUTO_TEST_SUITE_END()
