#pragma once

// Checks reverse-mode gradients against central finite differences computed
// in 50-digit arithmetic.

#include <fmt/format.h>

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "autodiff/tape.hpp"
#include "autodiff/var.hpp"

namespace adjoint {

/// The reference type of the gradient checker.
using Reference = boost::multiprecision::cpp_bin_float_50;

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
  std::vector<T> gradient;  // reverse-mode gradient of every input
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
    if (i == 0 || error > result.max_relative_error) {
      result.max_relative_error = error;
      result.worst_input = i;
      result.reverse = result.gradient[i];
      result.finite_difference = static_cast<T>(reference);
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

}  // namespace adjoint
