#pragma once

// exp and log.
//
//   exp(x):  d/dx = exp(x)
//   log(x):  d/dx = 1 / x; log(0) = -inf with gradient +inf, and log(x) of
//            a negative x is NaN with gradient 1 / x, as in PyTorch.

#include <cmath>

#include "autodiff/node.hpp"

namespace adjoint {

template <class T>
Var<T> exp(const Var<T>& x) {
  using std::exp;
  const T y = exp(x.value());
  return make_node<T>("exp", y, {x, y});
}

template <class T>
Var<T> log(const Var<T>& x) {
  using std::log;
  const T& v = x.value();
  return make_node<T>("log", T(log(v)), {x, T(T(1) / v)});
}

}  // namespace adjoint
