#pragma once

// Helpers shared by the tensor tests (tensor_*_test.cpp): tensors from
// plain lists, smooth sample values, the tensor gradient check with
// per-type tolerances, exact gradient checks for conventions at kinks, and
// a predicate on exception messages.

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"

namespace adjoint::testing {

/// The scalar types of the tensor gradient tests.
using TensorTypes = std::tuple<double, Reference>;

/// Maximum relative error of a tensor gradient against the 50-digit central
/// difference. For double it leaves room for the rounding of sums and
/// products over a few dozen elements. For cpp_bin_float_50 the bound is
/// the truncation error of the central difference, as in the scalar tests.
template <class T>
inline constexpr double tensor_tolerance = 0;
template <>
inline constexpr double tensor_tolerance<double> = 1e-10;
template <>
inline constexpr double tensor_tolerance<Reference> = 1e-18;

/// A constant tensor of `shape` with the given values converted to T.
template <class T>
Tensor<T> make(const Shape& shape, std::initializer_list<double> values) {
  std::vector<T> converted;
  for (const double v : values) converted.push_back(T(v));
  return Tensor<T>(shape, converted);
}

template <class T>
Tensor<T> make(const Shape& shape, const std::vector<double>& values) {
  std::vector<T> converted;
  for (const double v : values) converted.push_back(T(v));
  return Tensor<T>(shape, converted);
}

/// A constant tensor of `shape` whose element k is offset + scale sin(1.3 k
/// + seed + 0.1): smooth, distinct values, none exactly 0 for the seeds the
/// tests use.
template <class T>
Tensor<T> sample(const Shape& shape, double seed = 0.0, double scale = 1.0,
                 double offset = 0.0) {
  std::vector<T> values;
  for (std::size_t k = 0; k < shape.numel(); ++k) {
    values.push_back(
        T(offset + scale * std::sin(1.3 * static_cast<double>(k) + seed + 0.1)));
  }
  return Tensor<T>(shape, values);
}

/// A constant tensor of `shape` with distinct values in [low, high].
template <class T>
Tensor<T> positive_sample(const Shape& shape, double seed = 0.0,
                          double low = 0.5, double high = 2.0) {
  return sample<T>(shape, seed, (high - low) / 2, (high + low) / 2);
}

/// Constant weights for the shape of `y`, 0.3 + 0.45 cos(2.1 k) for element
/// k (0.75, 0.073, 0.079, ...), so that a weighted sum sends a different
/// gradient to every element.
template <class S>
Tensor<S> weights_like(const Tensor<S>& y) {
  std::vector<S> values;
  for (std::size_t k = 0; k < y.numel(); ++k) {
    values.push_back(S(0.3 + 0.45 * std::cos(2.1 * static_cast<double>(k))));
  }
  return Tensor<S>(y.shape(), values);
}

/// sum(y * w) with the weights above: a scalar whose gradient with respect
/// to y is dense, unlike sum(y), whose gradient is uniform.
template <class S>
Var<S> weighted_sum(const Tensor<S>& y) {
  return sum(y * weights_like(y));
}

/// A function of a span of tensors, for T and for Reference, behind
/// std::function, so that the checks below are compiled once per scalar
/// type rather than once per lambda.
template <class T>
struct TensorFunction {
  template <class F>
  explicit TensorFunction(const F& f) : at_type(f), at_reference(f) {}

  template <class S>
  Var<S> operator()(std::span<const Tensor<S>> inputs) const {
    if constexpr (std::is_same_v<S, T>) {
      return at_type(inputs);
    } else {
      return at_reference(inputs);
    }
  }

  std::function<Var<T>(std::span<const Tensor<T>>)> at_type;
  std::function<Var<Reference>(std::span<const Tensor<Reference>>)>
      at_reference;
};

template <class T>
void check_tensor_function(const TensorFunction<T>& f,
                           const std::vector<Tensor<T>>& inputs,
                           double tolerance, std::source_location caller) {
  const TensorGradientCheck<T> result =
      check_gradient<T>(f, std::span<const Tensor<T>>(inputs));
  BOOST_TEST_CONTEXT("tensor gradient check called at line " << caller.line()) {
    BOOST_TEST_INFO("input "
                    << result.worst_input << " (shape "
                    << fmt::format("{}", inputs.at(result.worst_input).shape())
                    << "), element " << result.worst_element
                    << ": reverse gradient " << to_text(result.reverse)
                    << ", 50-digit central difference "
                    << to_text(result.finite_difference) << ", relative error "
                    << result.max_relative_error << ", tolerance "
                    << tolerance);
    BOOST_TEST(result.max_relative_error <= tolerance);
    BOOST_TEST_REQUIRE(result.gradients.size() == inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      BOOST_TEST(result.gradients[i].size() == inputs[i].numel());
    }
    // backward() releases the graph, so nothing stays on the tape.
    BOOST_TEST(Tape<T>::active().size() == 0u);
    BOOST_TEST(Tape<T>::active().tensor_records() == 0u);
  }
}

/// Checks the gradient of `f` with respect to every element of `inputs`
/// against check_gradient(). `f` is a generic lambda that takes a span of
/// tensors and returns a Var. On failure the message names the input and
/// element with the largest error, both gradients and the caller's line.
template <class T, class F>
void expect_tensor_gradient(
    const F& f, const std::vector<Tensor<T>>& inputs,
    double tolerance = tensor_tolerance<T>,
    std::source_location caller = std::source_location::current()) {
  check_tensor_function<T>(TensorFunction<T>(f), inputs, tolerance, caller);
}

/// Returns the reverse-mode gradient of `f` with respect to each input, as
/// row-major values.
template <class T>
std::vector<std::vector<T>> tensor_gradient(
    const std::function<Var<T>(std::span<const Tensor<T>>)>& f,
    const std::vector<Tensor<T>>& inputs) {
  std::vector<Tensor<T>> parameters;
  for (const Tensor<T>& input : inputs) parameters.push_back(parameter(input));
  const Var<T> output = f(std::span<const Tensor<T>>(parameters));
  if (output.requires_grad()) output.backward();
  std::vector<std::vector<T>> gradients;
  for (const Tensor<T>& p : parameters) {
    gradients.emplace_back(p.grad_values().begin(), p.grad_values().end());
  }
  return gradients;
}

template <class T>
void check_exact_tensor_gradient(
    const std::function<Var<T>(std::span<const Tensor<T>>)>& f,
    const std::vector<Tensor<T>>& inputs,
    const std::vector<std::vector<T>>& want, std::source_location caller) {
  const std::vector<std::vector<T>> got = tensor_gradient<T>(f, inputs);
  BOOST_TEST_CONTEXT("exact tensor gradient called at line " << caller.line()) {
    BOOST_TEST_REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      BOOST_TEST_REQUIRE(got[i].size() == want[i].size());
      for (std::size_t j = 0; j < want[i].size(); ++j) {
        BOOST_TEST_INFO("input " << i << ", element " << j
                                 << ": reverse gradient " << to_text(got[i][j])
                                 << ", expected " << to_text(want[i][j]));
        BOOST_TEST(same_value(got[i][j], want[i][j]));
      }
    }
  }
}

/// Checks that the gradient of `f` with respect to each input is exactly
/// `want`, for conventions at kinks and ties, where a central difference
/// averages both sides. `want` lists each input's gradient in row-major
/// order, in T so that fractions such as 1/3 are exact in every type. NaN
/// matches only NaN and an infinity only the same infinity.
template <class T, class F>
void expect_exact_tensor_gradient(
    const F& f, const std::vector<Tensor<T>>& inputs,
    const std::vector<std::vector<T>>& want,
    std::source_location caller = std::source_location::current()) {
  check_exact_tensor_gradient<T>(
      std::function<Var<T>(std::span<const Tensor<T>>)>(f), inputs, want,
      caller);
}

/// Checks that `got` has shape `shape` and, element by element, is within
/// `absolute + relative |want|` of `want`. Non-finite values must match
/// exactly.
template <class T>
void expect_tensor(
    const Tensor<T>& got, const Shape& shape, const std::vector<double>& want,
    double relative = 1e-15, double absolute = 0,
    std::source_location caller = std::source_location::current()) {
  BOOST_TEST_CONTEXT("tensor values checked at line " << caller.line()) {
    BOOST_TEST_INFO("shape " << fmt::format("{}", got.shape()) << ", expected "
                             << fmt::format("{}", shape));
    BOOST_TEST_REQUIRE((got.shape() == shape));
    BOOST_TEST_REQUIRE(got.numel() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      BOOST_TEST_CONTEXT("element " << i) {
        expect_close(got.values()[i], T(want[i]), absolute, relative, caller);
      }
    }
  }
}

/// Checks that the values of `got` are exactly `want`, NaN matching NaN.
template <class T>
void expect_exact_values(
    std::span<const T> got, const std::vector<double>& want,
    std::source_location caller = std::source_location::current()) {
  BOOST_TEST_CONTEXT("values checked at line " << caller.line()) {
    BOOST_TEST_REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      BOOST_TEST_INFO("element " << i << ": got " << to_text(got[i])
                                 << ", expected " << to_text(want[i]));
      BOOST_TEST(same_value(got[i], T(want[i])));
    }
  }
}

/// Returns a predicate for BOOST_CHECK_EXCEPTION that accepts an exception
/// whose message contains every one of `parts`.
inline auto message_contains(std::vector<std::string> parts) {
  return [parts](const std::exception& error) {
    const std::string_view message = error.what();
    bool all = true;
    for (const std::string& part : parts) {
      BOOST_TEST_INFO("message: " << message << "\nexpected part: " << part);
      BOOST_TEST(message.find(part) != std::string_view::npos);
      all = all && message.find(part) != std::string_view::npos;
    }
    return all;
  };
}

/// Starts each test with empty tapes, whatever an earlier failure left.
struct EmptyTapes {
  EmptyTapes() {
    Tape<double>::active().clear();
    Tape<Reference>::active().clear();
  }
};

}  // namespace adjoint::testing
