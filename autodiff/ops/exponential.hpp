#pragma once

// exp and log.
//
//   exp(x):  d/dx = exp(x)
//   log(x):  d/dx = 1 / x; log(0) = -inf with gradient +inf, and log(x) of
//            a negative x is NaN with gradient 1 / x, as in PyTorch.
//
// The tensor overloads apply the same rules element by element.

#include <cmath>
#include <utility>

#include "autodiff/elementwise.hpp"
#include "autodiff/node.hpp"

namespace adjoint {

template <AnyVar V>
Var<ScalarOf<V>> exp(V&& x) {
  using std::exp;
  using T = ScalarOf<V>;
  const T y = exp(x.value());
  return make_node<T>("exp", y, {std::forward<V>(x), y});
}

template <AnyVar V>
Var<ScalarOf<V>> log(V&& x) {
  using std::log;
  using T = ScalarOf<V>;
  const T v = x.value();
  return make_node<T>("log", T(log(v)), {std::forward<V>(x), T(T(1) / v)});
}

template <class T>
Tensor<T> exp(const Tensor<T>& x) {
  return map<T>(
      "exp", x,
      [](const T& v) {
        using std::exp;
        return T(exp(v));
      },
      [](const T&, const T& y) { return y; });
}

template <class T>
Tensor<T> log(const Tensor<T>& x) {
  return map<T>(
      "log", x,
      [](const T& v) {
        using std::log;
        return T(log(v));
      },
      [](const T& v, const T&) { return T(T(1) / v); });
}

}  // namespace adjoint
