#pragma once

// sin, cos and tan.
//
//   sin(x):  d/dx = cos(x)
//   cos(x):  d/dx = -sin(x)
//   tan(x):  d/dx = 1 + tan(x)^2

#include <cmath>
#include <utility>

#include "autodiff/node.hpp"

namespace adjoint {

template <AnyVar V>
Var<ScalarOf<V>> sin(V&& x) {
  using std::cos;
  using std::sin;
  using T = ScalarOf<V>;
  const T v = x.value();
  return make_node<T>("sin", T(sin(v)), {std::forward<V>(x), T(cos(v))});
}

template <AnyVar V>
Var<ScalarOf<V>> cos(V&& x) {
  using std::cos;
  using std::sin;
  using T = ScalarOf<V>;
  const T v = x.value();
  return make_node<T>("cos", T(cos(v)), {std::forward<V>(x), T(-sin(v))});
}

template <AnyVar V>
Var<ScalarOf<V>> tan(V&& x) {
  using std::tan;
  using T = ScalarOf<V>;
  const T t = tan(x.value());
  return make_node<T>("tan", t, {std::forward<V>(x), T(1 + t * t)});
}

}  // namespace adjoint
