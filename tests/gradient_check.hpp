#pragma once

// Test helpers: gradient checks with per-type tolerances, exact gradients for
// the conventions at kinks and singular points, and comparisons that treat
// infinities and NaN exactly.

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iomanip>
#include <limits>
#include <source_location>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace adjoint::testing {

/// The scalar types that every operator test runs on.
using ScalarTypes = std::tuple<float, double, long double, Reference>;

/// Maximum relative error of a reverse-mode gradient against the 50-digit
/// reference of check_gradient(). For float, double and long double it is
/// about 90 epsilon of T; the worst case measured over the ops tests is
/// 1.4 epsilon. For Reference the bound is the checker's own error: its central
/// difference has a truncation error of about 1e-24 x^2 f'''(x) / (6 f'(x)),
/// which reaches 4.5e-20 for d(x^p)/dp at x = 1e150.
template <class T>
inline constexpr double gradient_tolerance = 0;
template <>
inline constexpr double gradient_tolerance<float> = 1e-5;
template <>
inline constexpr double gradient_tolerance<double> = 2e-14;
template <>
inline constexpr double gradient_tolerance<long double> = 1e-17;
template <>
inline constexpr double gradient_tolerance<Reference> = 1e-18;

/// Returns `value` printed with enough digits to read it back exactly.
template <class T>
std::string to_text(const T& value) {
  std::ostringstream out;
  out << std::setprecision(std::numeric_limits<T>::max_digits10) << value;
  return out.str();
}

template <class T>
std::string to_text(std::span<const T> values) {
  std::string text = "(";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ", ";
    text += to_text(values[i]);
  }
  return text + ")";
}

template <class T>
bool is_nan(const T& value) {
  return value != value;
}

/// A function of a span of Var, for T and for Reference, behind
/// std::function. The checks below take it instead of the caller's lambda,
/// so their code is compiled once per scalar type rather than once per
/// lambda, which keeps the build time and memory of the ops tests in bounds.
template <class T>
struct TestFunction {
  template <class F>
  explicit TestFunction(const F& f) : at_type(f), at_reference(f) {}

  template <class S>
  Var<S> operator()(std::span<const Var<S>> inputs) const {
    if constexpr (std::is_same_v<S, T>) {
      return at_type(inputs);
    } else {
      return at_reference(inputs);
    }
  }

  std::function<Var<T>(std::span<const Var<T>>)> at_type;
  std::function<Var<Reference>(std::span<const Var<Reference>>)> at_reference;
};

/// Returns the reverse-mode gradient of `f` at `point`, one entry per input.
template <class T>
std::vector<T> reverse_gradient(const TestFunction<T>& f,
                                std::span<const T> point) {
  std::vector<Var<T>> inputs;
  inputs.reserve(point.size());
  for (const T& x : point) inputs.emplace_back(x);
  const Var<T> output = f(std::span<const Var<T>>(inputs));
  if (output.requires_grad()) output.backward();
  std::vector<T> gradient;
  for (const Var<T>& input : inputs) gradient.push_back(input.grad());
  return gradient;
}

template <class T, class F>
std::vector<T> reverse_gradient(const F& f, std::initializer_list<T> point) {
  return reverse_gradient<T>(TestFunction<T>(f),
                             std::span<const T>(point.begin(), point.size()));
}

template <class T>
void check_against_reference(const TestFunction<T>& f, std::span<const T> point,
                             double tolerance, std::source_location caller) {
  const GradientCheck<T> result = check_gradient<T>(f, point);
  BOOST_TEST_CONTEXT("gradient check called at line "
                     << caller.line() << ", point " << to_text(point)) {
    BOOST_TEST_INFO(
        "input " << result.worst_input << ": reverse gradient "
                 << to_text(result.reverse) << ", 50-digit central difference "
                 << to_text(result.finite_difference) << ", relative error "
                 << result.max_relative_error << ", tolerance " << tolerance);
    BOOST_TEST(result.max_relative_error <= tolerance);
    // backward() releases the graph, so nothing stays on the tape.
    BOOST_TEST(Tape<T>::active().size() == 0u);
  }
}

/// Checks the reverse-mode gradient of `f` at `point` against the 50-digit
/// central difference of check_gradient(). `f` is a generic lambda that takes
/// a span of Var and returns a Var. On failure the message names the input
/// with the largest error, both gradients, the error and the caller's line.
template <class T, class F>
void expect_gradient(
    const F& f, std::initializer_list<T> point,
    double tolerance = gradient_tolerance<T>,
    std::source_location caller = std::source_location::current()) {
  check_against_reference<T>(TestFunction<T>(f),
                             std::span<const T>(point.begin(), point.size()),
                             tolerance, caller);
}

/// Whether `got` is `want` exactly: NaN matches only NaN and an infinity
/// only the infinity of the same sign.
template <class T>
bool same_value(const T& got, const T& want) {
  if (is_nan(want)) return is_nan(got);
  return got == want;
}

template <class T>
void check_exact(const TestFunction<T>& f, std::span<const T> point,
                 std::span<const T> want, std::source_location caller) {
  const std::vector<T> got = reverse_gradient<T>(f, point);
  BOOST_TEST_CONTEXT("exact gradient called at line "
                     << caller.line() << ", point " << to_text(point)) {
    BOOST_TEST_REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      BOOST_TEST_INFO("input " << i << ": reverse gradient " << to_text(got[i])
                               << ", expected " << to_text(want[i]));
      BOOST_TEST(same_value(got[i], want[i]));
    }
  }
}

/// Checks that the reverse-mode gradient of `f` at `point` is exactly
/// `want`, for the conventions at kinks and singular points where a finite
/// difference cannot decide.
template <class T, class F>
void expect_exact_gradient(
    const F& f, std::initializer_list<T> point, std::initializer_list<T> want,
    std::source_location caller = std::source_location::current()) {
  check_exact<T>(TestFunction<T>(f),
                 std::span<const T>(point.begin(), point.size()),
                 std::span<const T>(want.begin(), want.size()), caller);
}

/// Checks |got - want| <= absolute + relative |want|. Non-finite values must
/// match exactly: the sign of an infinity matters and NaN must be NaN.
template <class T>
void expect_close(
    const T& got, const T& want, double absolute, double relative,
    std::source_location caller = std::source_location::current()) {
  using std::abs;
  using std::isfinite;
  BOOST_TEST_INFO("called at line " << caller.line() << ": got " << to_text(got)
                                    << ", expected " << to_text(want)
                                    << ", tolerance " << absolute << " + "
                                    << relative << " * |expected|");
  if (!isfinite(want)) {
    BOOST_TEST(same_value(got, want));
    return;
  }
  BOOST_TEST(abs(got - want) <= T(absolute) + T(relative) * abs(want));
}

}  // namespace adjoint::testing
