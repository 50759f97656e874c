#define BOOST_TEST_MODULE ops_forward
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

// Forward values, and what operations on constants and under NoGradGuard
// record.
//
// Every operator's gradient against the 50-digit central difference of
// check_gradient(), for float, double, long double and cpp_bin_float_50. At
// kinks and singular points, where a central difference averages both sides,
// the tests check the documented convention exactly instead.

namespace {

using adjoint::NoGradGuard;
using adjoint::Tape;
using adjoint::Var;
using adjoint::testing::apply_every_operation;
using adjoint::testing::expect_binary_forward;
using adjoint::testing::expect_exact_gradient;
using adjoint::testing::expect_forward;
using adjoint::testing::expect_gradient;
using adjoint::testing::same_value;
using adjoint::testing::ScalarTypes;
using adjoint::testing::to_text;

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_forward)

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
  expect_forward<T>(
      "negate", [](const auto& v) { return -v; },
      [](const T& v) { return T(-v); }, points);
  expect_forward<T>(
      "square", [](const auto& v) { return square(v); },
      [](const T& v) { return T(v * v); }, points);
  expect_forward<T>(
      "exp", [](const auto& v) { return exp(v); },
      [](const T& v) { return T(exp(v)); }, points);
  expect_forward<T>(
      "log", [](const auto& v) { return log(v); },
      [](const T& v) { return T(log(v)); }, positive);
  expect_forward<T>(
      "sqrt", [](const auto& v) { return sqrt(v); },
      [](const T& v) { return T(sqrt(v)); }, positive);
  expect_forward<T>(
      "sin", [](const auto& v) { return sin(v); },
      [](const T& v) { return T(sin(v)); }, points);
  expect_forward<T>(
      "cos", [](const auto& v) { return cos(v); },
      [](const T& v) { return T(cos(v)); }, points);
  expect_forward<T>(
      "tan", [](const auto& v) { return tan(v); },
      [](const T& v) { return T(tan(v)); }, points);
  expect_forward<T>(
      "tanh", [](const auto& v) { return tanh(v); },
      [](const T& v) { return T(tanh(v)); }, points);
  expect_forward<T>(
      "abs", [](const auto& v) { return abs(v); },
      [](const T& v) { return T(v < 0 ? T(-v) : v); }, points);
  expect_forward<T>(
      "relu", [](const auto& v) { return relu(v); },
      [](const T& v) { return T(v > 0 ? v : T(0)); }, points);
  expect_forward<T>(
      "pow 2.5", [](const auto& v) { return pow(v, 2.5); },
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
