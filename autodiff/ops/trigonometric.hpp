#pragma once

// sin, cos and tan.
//
//   sin(x):  d/dx = cos(x)
//   cos(x):  d/dx = -sin(x)
//   tan(x):  d/dx = 1 + tan(x)^2

#include <cmath>

#include "autodiff/node.hpp"

namespace adjoint {

template <class T>
Var<T> sin(const Var<T>& x) {
  using std::cos;
  using std::sin;
  const T& v = x.value();
  return make_node<T>("sin", T(sin(v)), {x, T(cos(v))});
}

template <class T>
Var<T> cos(const Var<T>& x) {
  using std::cos;
  using std::sin;
  const T& v = x.value();
  return make_node<T>("cos", T(cos(v)), {x, T(-sin(v))});
}

template <class T>
Var<T> tan(const Var<T>& x) {
  using std::tan;
  const T t = tan(x.value());
  return make_node<T>("tan", t, {x, T(1 + t * t)});
}

}  // namespace adjoint
