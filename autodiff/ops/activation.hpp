#pragma once

// tanh, sigmoid and relu.
//
//   tanh(x):     d/dx = 1 / cosh(x)^2
//   sigmoid(x):  1 / (1 + exp(-x)), d/dx = e / (1 + e)^2 with e = exp(-|x|)
//   relu(x):     max(x, 0), d/dx = 1 for x > 0 and 0 otherwise (0 at the
//                kink, as in PyTorch); relu(NaN) is NaN with d/dx = 1
//
// The derivatives avoid 1 - tanh(x)^2 and s (1 - s), which round to 0 long
// before the true value underflows (tanh(20) is 1 in double, but
// tanh'(20) = 1.7e-17). Neither formula overflows: exp(-|x|) <= 1, and
// cosh(x) = inf gives a gradient of exactly 0.
//
// The tensor overloads apply the same rules element by element.

#include <cmath>
#include <utility>

#include "autodiff/elementwise.hpp"
#include "autodiff/node.hpp"

namespace adjoint {

template <AnyVar V>
Var<ScalarOf<V>> tanh(V&& x) {
  using std::cosh;
  using std::tanh;
  using T = ScalarOf<V>;
  const T v = x.value();
  const T c = cosh(v);
  return make_node<T>("tanh", T(tanh(v)),
                      {std::forward<V>(x), T(T(1) / (c * c))});
}

template <AnyVar V>
Var<ScalarOf<V>> sigmoid(V&& x) {
  using std::exp;
  using T = ScalarOf<V>;
  const T v = x.value();
  const T e = exp(v >= T(0) ? T(-v) : v);
  const T one_plus_e = 1 + e;
  const T s = v >= T(0) ? T(T(1) / one_plus_e) : T(e / one_plus_e);
  return make_node<T>("sigmoid", s,
                      {std::forward<V>(x), T(e / (one_plus_e * one_plus_e))});
}

template <AnyVar V>
Var<ScalarOf<V>> relu(V&& x) {
  using T = ScalarOf<V>;
  const T v = x.value();
  // NaN passes through with gradient 1, as in PyTorch, whose relu backward
  // zeroes the gradient only where the output is <= 0.
  const bool passes = v > T(0) || v != v;
  const T y = passes ? v : T(0);
  return make_node<T>("relu", y, {std::forward<V>(x), T(passes ? 1 : 0)});
}

template <class T>
Tensor<T> tanh(const Tensor<T>& x) {
  return map<T>(
      "tanh", x,
      [](const T& v) {
        using std::tanh;
        return T(tanh(v));
      },
      [](const T& v, const T&) {
        using std::cosh;
        const T c = cosh(v);
        return T(T(1) / (c * c));
      });
}

template <class T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  return map<T>(
      "sigmoid", x,
      [](const T& v) {
        using std::exp;
        const T e = exp(v >= T(0) ? T(-v) : v);
        return v >= T(0) ? T(T(1) / (1 + e)) : T(e / (1 + e));
      },
      [](const T& v, const T&) {
        using std::abs;
        using std::exp;
        const T e = exp(T(-abs(v)));
        const T one_plus_e = 1 + e;
        return T(e / (one_plus_e * one_plus_e));
      });
}

template <class T>
Tensor<T> relu(const Tensor<T>& x) {
  return map<T>(
      "relu", x,
      [](const T& v) { return v > T(0) || v != v ? v : T(0); },
      [](const T& v, const T&) { return T(v > T(0) || v != v ? 1 : 0); });
}

}  // namespace adjoint
