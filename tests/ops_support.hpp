#pragma once

// Helpers shared by the operator tests (ops_*_test.cpp).

#include <boost/test/unit_test.hpp>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"

namespace adjoint::testing {

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

inline constexpr double infinity = std::numeric_limits<double>::infinity();
inline constexpr double quiet_nan = std::numeric_limits<double>::quiet_NaN();

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
      a + b,      a + number,     number + a,
      a - b,      a - number,     number - a,
      a * b,      a * number,     number * a,
      a / b,      a / number,     number / a,
      -a,         pow(a, number), pow(number, a),
      pow(a, b),  square(a),      exp(a),
      log(a),     sqrt(a),        sin(a),
      cos(a),     tan(a),         tanh(a),
      sigmoid(a), abs(a),         relu(a),
      max(a, b),  max(a, number), max(number, a),
      min(a, b),  min(a, number), min(number, a),
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

}  // namespace adjoint::testing
