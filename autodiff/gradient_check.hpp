#pragma once

// Checks reverse-mode gradients against central finite differences computed
// in 50-digit arithmetic, for functions of scalar Vars and for functions of
// tensors.
//
// The tensor overload, check_gradient(f, inputs) with `inputs` a span of
// Tensor<T>, makes each input a parameter, runs backward() on f(inputs), and
// compares every element's gradient with a central difference of f
// evaluated in cpp_bin_float_50 under NoGradGuard, one element at a time,
// with the step rule of the scalar checker. It reports the worst element.

#include <fmt/format.h>

#include <algorithm>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>
#include <cstddef>
#include <ios>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/var.hpp"

namespace adjoint {

/// The reference type of the gradient checker.
using Reference = boost::multiprecision::cpp_bin_float_50;

/// Default bound on the relative error of check_gradient() for a function
/// of a few dozen operations: room for the rounding of sums and products in
/// T, far below the error of a wrong rule. For Reference it is the
/// checker's own truncation error.
template <class T>
inline constexpr double default_gradient_tolerance = 1e-10;
template <>
inline constexpr double default_gradient_tolerance<float> = 1e-4;
template <>
inline constexpr double default_gradient_tolerance<long double> = 1e-13;
template <>
inline constexpr double default_gradient_tolerance<Reference> = 1e-18;

/// The worst element of one input of check_gradient().
template <class T>
struct InputCheck {
  double max_relative_error = 0;
  std::size_t worst_element = 0;  // row-major; 0 for a scalar input
  T reverse{};                    // reverse-mode gradient of that element
  T finite_difference{};          // reference gradient, rounded to T
  Reference reference{};          // reference gradient, unrounded
};

namespace detail {

template <class T>
std::string gradient_text(const T& value) {
  if constexpr (std::is_floating_point_v<T>) {
    return fmt::format("{}", value);  // shortest text that round-trips
  } else {
    return value.str(std::numeric_limits<T>::digits10,
                     std::ios_base::fmtflags{});
  }
}

// The one-line verdict of a check: passed or failed, the worst error
// against the tolerance, and where it occurs. The finite difference is
// printed unrounded, with the significant digits of T, so that a value
// beyond the range of T shows as what it is rather than as inf.
template <class T>
std::string gradient_verdict(double error, double tolerance, bool any_element,
                             std::size_t input, const std::string& element,
                             const T& reverse, const Reference& reference) {
  const bool passed = error <= tolerance;
  if (!any_element) {
    return fmt::format(
        "gradient check {}: no input has an element, so nothing was compared",
        passed ? "passed" : "FAILED");
  }
  return fmt::format(
      "gradient check {}: worst relative error {:.3g} {} tolerance {:.3g} at "
      "input {}{}: reverse mode {}, finite difference {}",
      passed ? "passed" : "FAILED", error, passed ? "<=" : ">", tolerance,
      input, element, gradient_text(reverse),
      reference.str(std::numeric_limits<T>::max_digits10,
                    std::ios_base::fmtflags{}));
}

}  // namespace detail

/// Result of check_gradient().
template <class T>
struct GradientCheck {
  /// Worst relative error over the inputs: |reverse - reference| divided by
  /// max(|reference|, smallest normal T). 0 where both are the same
  /// infinity or both NaN, +inf where only one is finite.
  double max_relative_error = 0;
  std::size_t worst_input = 0;
  T reverse{};              // reverse-mode gradient at worst_input
  T finite_difference{};    // reference gradient at worst_input, rounded to T
  Reference reference{};    // reference gradient at worst_input, unrounded
  std::vector<T> gradient;  // reverse-mode gradient of every input
  std::vector<InputCheck<T>> inputs;  // the check of each input

  /// Returns whether the worst error is at most `tolerance` (false for a
  /// NaN error).
  bool passed(double tolerance = default_gradient_tolerance<T>) const {
    return max_relative_error <= tolerance;
  }

  /// Returns one line: passed or FAILED, the worst error and where it is.
  std::string verdict(double tolerance = default_gradient_tolerance<T>) const {
    return detail::gradient_verdict(max_relative_error, tolerance,
                                    !gradient.empty(), worst_input, "", reverse,
                                    reference);
  }
};

namespace detail {

template <class T>
double relative_error(const T& reverse, const Reference& reference) {
  using boost::multiprecision::isfinite;
  using boost::multiprecision::isnan;
  using std::isfinite;
  using std::isnan;
  if (!isfinite(reverse) || !isfinite(reference)) {
    if (isnan(reverse) && isnan(reference)) return 0;
    if (Reference(reverse) == reference) return 0;
    return std::numeric_limits<double>::infinity();
  }
  const Reference floor(std::numeric_limits<T>::min());
  const Reference scale = std::max(Reference(abs(reference)), floor);
  return static_cast<double>(Reference(abs(Reference(reverse) - reference)) /
                             scale);
}

/// Step of the central difference at x: relative to |x|, so that the
/// truncation error is about (1e-12)^2 relative whatever the magnitude.
inline Reference difference_step(const Reference& x) {
  const Reference relative("1e-12");
  return x == 0 ? relative : Reference(abs(x) * relative);
}

}  // namespace detail

/// Compares the reverse-mode gradient of `f` at `point` with central
/// differences of `f` evaluated in cpp_bin_float_50.
///
/// `f` must accept `std::span<const Var<S>>` and return `Var<S>` both for
/// S = T and for S = Reference; a generic lambda does:
///
///   auto result = adjoint::check_gradient<double>(
///       [](auto x) { return x[0] * sin(x[1]); }, {{0.5, 2.0}});
///
/// The step is 1e-12 |x| (1e-12 at x == 0), so the reference is exact to
/// about 24 digits where `f` is smooth on that scale. The truncation error
/// grows with x^2 times the third derivative (1.7e-19 relative for sigmoid at
/// -1000), and the difference cancels to 0 where a tiny |x| barely changes
/// f, or where f saturates (exp at 1e-150, tanh at 1000). At a kink the
/// central difference averages both sides, so check kinks against the
/// documented convention instead.
template <class T, class F>
GradientCheck<T> check_gradient(F&& f, std::span<const T> point) {
  GradientCheck<T> result;
  {
    std::vector<Var<T>> inputs;
    inputs.reserve(point.size());
    for (const T& x : point) inputs.emplace_back(x);
    // Recording on even inside a caller's NoGradGuard, or every gradient
    // would read 0.
    const EnableGradGuard recording;
    const Var<T> output = f(std::span<const Var<T>>(inputs));
    if (output.requires_grad()) output.backward();
    for (const Var<T>& input : inputs) result.gradient.push_back(input.grad());
  }

  NoGradGuard no_grad;
  std::vector<Var<Reference>> shifted;
  for (const T& x : point) shifted.push_back(constant(Reference(x)));
  for (std::size_t i = 0; i < point.size(); ++i) {
    const Reference x(point[i]);
    const Reference h = detail::difference_step(x);
    shifted[i] = constant(Reference(x + h));
    const Reference above = f(std::span<const Var<Reference>>(shifted)).value();
    shifted[i] = constant(Reference(x - h));
    const Reference below = f(std::span<const Var<Reference>>(shifted)).value();
    shifted[i] = constant(x);
    const Reference reference = (above - below) / (2 * h);

    const double error = detail::relative_error(result.gradient[i], reference);
    result.inputs.push_back(
        {error, 0, result.gradient[i], static_cast<T>(reference), reference});
    if (i == 0 || !(error <= result.max_relative_error)) {
      result.max_relative_error = error;
      result.worst_input = i;
      result.reverse = result.gradient[i];
      result.finite_difference = static_cast<T>(reference);
      result.reference = reference;
    }
  }
  return result;
}

/// Overload for a braced list of inputs.
template <class T, class F>
GradientCheck<T> check_gradient(F&& f, std::initializer_list<T> point) {
  return check_gradient<T>(std::forward<F>(f),
                           std::span<const T>(point.begin(), point.size()));
}

/// Result of check_gradient() for a function of tensors.
template <class T>
struct TensorGradientCheck {
  /// Worst relative error over every element of every input, measured as
  /// in GradientCheck.
  double max_relative_error = 0;
  std::size_t worst_input = 0;    // index into the inputs
  std::size_t worst_element = 0;  // row-major index into that input
  T reverse{};                    // reverse-mode gradient of that element
  T finite_difference{};          // reference gradient, rounded to T
  Reference reference{};          // reference gradient, unrounded
  /// Reverse-mode gradient of every input, row-major.
  std::vector<std::vector<T>> gradients;
  /// The worst element of each input; an input without elements reports
  /// error 0.
  std::vector<InputCheck<T>> inputs;

  /// Returns whether the worst error is at most `tolerance` (false for a
  /// NaN error).
  bool passed(double tolerance = default_gradient_tolerance<T>) const {
    return max_relative_error <= tolerance;
  }

  /// Returns one line: passed or FAILED, the worst error and where it is.
  std::string verdict(double tolerance = default_gradient_tolerance<T>) const {
    const bool any_element =
        std::any_of(gradients.begin(), gradients.end(),
                    [](const std::vector<T>& g) { return !g.empty(); });
    return detail::gradient_verdict(
        max_relative_error, tolerance, any_element, worst_input,
        fmt::format(", element {}", worst_element), reverse, reference);
  }
};

/// Compares the reverse-mode gradient of `f` with respect to every element
/// of `inputs` with central differences of `f` evaluated in
/// cpp_bin_float_50.
///
/// `f` must accept `std::span<const Tensor<S>>` and return `Var<S>` both
/// for S = T and for S = Reference; a generic lambda does:
///
///   const std::vector<adjoint::Tensor<double>> inputs = {
///       adjoint::Tensor<double>{{1, 2}, {3, 4}}, adjoint::Tensor<double>{5,
///       6}};
///   auto result = adjoint::check_gradient<double>(
///       [](auto x) { return sum(matmul(x[0], x[1])); }, inputs);
///
/// The inputs become parameters for the reverse pass; their values are not
/// changed. The step and the limits of the central difference are those of
/// the scalar overload above. An input without elements contributes
/// nothing to the report.
template <class T, class F>
TensorGradientCheck<T> check_gradient(F&& f,
                                      std::span<const Tensor<T>> inputs) {
  TensorGradientCheck<T> result;
  {
    std::vector<Tensor<T>> parameters;
    parameters.reserve(inputs.size());
    for (const Tensor<T>& input : inputs)
      parameters.push_back(parameter(input));
    const EnableGradGuard recording;
    const Var<T> output = f(std::span<const Tensor<T>>(parameters));
    if (output.requires_grad()) output.backward();
    for (const Tensor<T>& p : parameters) {
      const std::span<const T> grad = p.grad_values();
      result.gradients.emplace_back(grad.begin(), grad.end());
    }
  }

  NoGradGuard no_grad;
  // Parameters, so that mutable_values() can move one element at a time;
  // under NoGradGuard nothing is recorded.
  std::vector<Tensor<Reference>> shifted;
  shifted.reserve(inputs.size());
  for (const Tensor<T>& input : inputs) {
    std::vector<Reference> values(input.values().begin(), input.values().end());
    shifted.push_back(parameter(Tensor<Reference>(input.shape(), values)));
  }
  const auto evaluate = [&f, &shifted] {
    return f(std::span<const Tensor<Reference>>(shifted)).value();
  };
  bool first = true;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::span<Reference> values = shifted[i].mutable_values();
    InputCheck<T>& input = result.inputs.emplace_back();
    for (std::size_t j = 0; j < values.size(); ++j) {
      const Reference x = values[j];
      const Reference h = detail::difference_step(x);
      values[j] = x + h;
      const Reference above = evaluate();
      values[j] = x - h;
      const Reference below = evaluate();
      values[j] = x;
      const Reference reference = (above - below) / (2 * h);

      const T& reverse = result.gradients[i][j];
      const double error = detail::relative_error(reverse, reference);
      if (j == 0 || !(error <= input.max_relative_error)) {
        input = {error, j, reverse, static_cast<T>(reference), reference};
      }
      if (first || !(error <= result.max_relative_error)) {
        first = false;
        result.max_relative_error = error;
        result.worst_input = i;
        result.worst_element = j;
        result.reverse = reverse;
        result.finite_difference = static_cast<T>(reference);
        result.reference = reference;
      }
    }
  }
  return result;
}

}  // namespace adjoint
