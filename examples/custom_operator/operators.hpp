#pragma once

// Two differentiable operators defined outside the library, each for
// scalar Vars and for tensors:
//
//   softplus(x) = log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|))
//                 so that exp() never overflows; d/dx = sigmoid(x)
//   huber(p, t, delta) of the residual r = p - t:
//                 r^2 / 2                for |r| <= delta
//                 delta (|r| - delta/2)  otherwise
//                 d/dp = clamp(r, -delta, delta), d/dt = -d/dp
//
// The scalar overloads record a node with adjoint::make_node(). The tensor
// softplus records its node with adjoint::make_tensor_node() and keeps the
// derivatives it computed in the forward pass for its backward rule; the
// tensor huber uses adjoint::zip(), which broadcasts its two inputs as
// NumPy does. See docs/adding-an-operator.md.
//
// Huber is continuously differentiable, so at |r| == delta both formulas
// give the derivative +-delta and there is no kink to choose a convention
// for. A NaN input gives a NaN value and a NaN derivative.

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace custom_operator {

/// A value of an operator and its derivative at the same point.
template <class T>
struct ValueAndDerivative {
  T value;
  T derivative;
};

/// Returns softplus(x) and sigmoid(x), both from e = exp(-|x|) <= 1, which
/// cannot overflow.
template <class T>
ValueAndDerivative<T> softplus_at(const T& x) {
  using std::abs;
  using std::exp;
  using std::log1p;
  const T e = exp(T(-abs(x)));
  const T one_plus_e = T(1) + e;
  const T positive_part = x > T(0) ? x : T(0);
  const T sigmoid = x >= T(0) ? T(T(1) / one_plus_e) : T(e / one_plus_e);
  return {T(positive_part + T(log1p(e))), sigmoid};
}

/// Returns the Huber loss of the residual r and its derivative
/// clamp(r, -delta, delta). A NaN residual takes the first branch, so both
/// are NaN.
template <class T>
ValueAndDerivative<T> huber_at(const T& r, const T& delta) {
  using std::abs;
  const T size = abs(r);
  if (!(size > delta)) return {T(r * r / T(2)), r};
  return {T(delta * T(size - delta / T(2))), r > T(0) ? delta : T(-delta)};
}

/// Raises std::invalid_argument unless delta is a finite number > 0.
template <class T>
void check_delta(const T& delta) {
  using std::isfinite;
  if (!(delta > T(0)) || !isfinite(delta)) {
    throw std::invalid_argument(
        fmt::format("huber: invalid delta {}: it must be a finite number > 0",
                    static_cast<double>(delta)));
  }
}

/// Computes softplus(x) of a scalar. The forwarding reference lets
/// make_node() fold the operation into the record of a temporary operand.
template <adjoint::AnyVar V>
adjoint::Var<adjoint::ScalarOf<V>> softplus(V&& x) {
  using T = adjoint::ScalarOf<V>;
  const ValueAndDerivative<T> at = softplus_at(x.value());
  return adjoint::make_node<T>("softplus", at.value,
                               {std::forward<V>(x), at.derivative});
}

/// Computes softplus of every element. The forward pass already computes
/// sigmoid(x) for each element, so the backward rule keeps those values
/// instead of calling exp() again.
template <class T>
adjoint::Tensor<T> softplus(const adjoint::Tensor<T>& x) {
  adjoint::TensorOutput<T> output(x.shape());
  std::vector<T> derivatives(x.numel());
  const T* input = x.data();
  for (std::size_t i = 0; i < x.numel(); ++i) {
    const ValueAndDerivative<T> at = softplus_at(input[i]);
    output.data[i] = at.value;
    derivatives[i] = at.derivative;
  }
  return adjoint::make_tensor_node<T>(
      "softplus", std::move(output), {x},
      [x = adjoint::Tensor<T>(x), derivatives = std::move(derivatives)](
          adjoint::TensorGrad<T>& grad, adjoint::Backward<T>& backward) {
        backward.add_each(x, [&](std::size_t i) {
          // An output gradient of exactly 0 contributes 0, even for a NaN
          // derivative (the zero-adjoint rule of docs/conventions.md).
          const T g = grad[i];
          return g == T(0) ? T(0) : T(g * derivatives[i]);
        });
      });
}

/// Computes the Huber loss of a scalar prediction against a scalar target.
/// Raises std::invalid_argument unless delta is finite and > 0.
template <class P, class Q>
requires adjoint::VarPair<P, Q> adjoint::Var<adjoint::ScalarOf<P>> huber(
    P&& prediction, Q&& target, const adjoint::ScalarOf<P>& delta) {
  using T = adjoint::ScalarOf<P>;
  check_delta(delta);
  const ValueAndDerivative<T> at =
      huber_at(T(prediction.value() - target.value()), delta);
  return adjoint::make_node<T>("huber", at.value,
                               {std::forward<P>(prediction), at.derivative},
                               {std::forward<Q>(target), T(-at.derivative)});
}

/// Computes the Huber loss of every element of `prediction` against
/// `target`, which broadcast as in NumPy, without a reduction. Raises
/// std::invalid_argument for shapes that do not broadcast, naming both, and
/// unless delta is finite and > 0.
template <class T>
adjoint::Tensor<T> huber(const adjoint::Tensor<T>& prediction,
                         const adjoint::Tensor<T>& target,
                         const std::type_identity_t<T>& delta) {
  check_delta(delta);
  return adjoint::zip<T>(
      "huber", prediction, target,
      [delta](const T& p, const T& t) {
        return huber_at(T(p - t), delta).value;
      },
      [delta](const T& p, const T& t, const T&) {
        return huber_at(T(p - t), delta).derivative;
      },
      [delta](const T& p, const T& t, const T&) {
        return T(-huber_at(T(p - t), delta).derivative);
      });
}

}  // namespace custom_operator
