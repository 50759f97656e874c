#pragma once

// sin, cos and tan.
//
//   sin(x):  d/dx = cos(x)
//   cos(x):  d/dx = -sin(x)
//   tan(x):  d/dx = 1 + tan(x)^2
//
// The tensor overloads apply the same rules element by element.

#include <cmath>
#include <utility>

#include "autodiff/elementwise.hpp"
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

template <class T>
Tensor<T> sin(const Tensor<T>& x) {
  return map<T>(
      "sin", x,
      [](const T& v) {
        using std::sin;
        return T(sin(v));
      },
      [](const T& v, const T&) {
        using std::cos;
        return T(cos(v));
      });
}

template <class T>
Tensor<T> cos(const Tensor<T>& x) {
  return map<T>(
      "cos", x,
      [](const T& v) {
        using std::cos;
        return T(cos(v));
      },
      [](const T& v, const T&) {
        using std::sin;
        return T(-sin(v));
      });
}

template <class T>
Tensor<T> tan(const Tensor<T>& x) {
  return map<T>(
      "tan", x,
      [](const T& v) {
        using std::tan;
        return T(tan(v));
      },
      [](const T&, const T& t) { return T(1 + t * t); });
}

}  // namespace adjoint
