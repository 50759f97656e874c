#pragma once

// pow, square and sqrt.
//
//   pow(x, p):  d/dx = p x^(p-1), and 0 when p == 0 (so 0^0 has gradient 0)
//               d/dp = x^p log(x), and 0 when x == 0 and p >= 0
//   square(x):  d/dx = 2x
//   sqrt(x):    d/dx = 1 / (2 sqrt(x)), +inf at x == 0
//
// These follow PyTorch's pow_backward: at a zero base, d/dx is 0 for p > 1,
// 1 for p == 1, 0 for p == 0 and +inf for 0 < p < 1; d/dp is 0 rather than
// 0 * log(0). A negative base gives d/dp = NaN because log(x) is not real.
//
// The tensor overloads apply the same rules element by element, with NumPy
// broadcasting between base and exponent.

#include <cmath>
#include <utility>

#include "autodiff/elementwise.hpp"
#include "autodiff/node.hpp"

namespace adjoint {
namespace detail {

template <class T>
T pow_partial_base(const T& x, const T& p) {
  using std::pow;
  if (p == T(0)) return T(0);
  return T(p * pow(x, T(p - T(1))));
}

template <class T>
T pow_partial_exponent(const T& x, const T& p, const T& power) {
  using std::log;
  if (x == T(0) && p >= T(0)) return T(0);
  return T(power * log(x));
}

}  // namespace detail

template <AnyVar V>
Var<ScalarOf<V>> pow(V&& x, const ScalarOf<V>& p) {
  using std::pow;
  using T = ScalarOf<V>;
  const T v = x.value();
  return make_node<T>("pow", T(pow(v, p)),
                      {std::forward<V>(x), detail::pow_partial_base(v, p)});
}

template <AnyVar V>
Var<ScalarOf<V>> pow(const ScalarOf<V>& x, V&& p) {
  using std::pow;
  using T = ScalarOf<V>;
  const T exponent = p.value();
  const T power = pow(x, exponent);
  if (!p.requires_grad()) return Var<T>::constant(power);
  return make_node<T>(
      "pow", power,
      {std::forward<V>(p), detail::pow_partial_exponent(x, exponent, power)});
}

template <class A, class B>
requires VarPair<A, B> Var<ScalarOf<A>> pow(A&& x, B&& p) {
  using std::pow;
  using T = ScalarOf<A>;
  const T base = x.value();
  const T exponent = p.value();
  const T power = pow(base, exponent);
  const T d_exponent = p.requires_grad()
                           ? detail::pow_partial_exponent(base, exponent, power)
                           : T(0);
  return make_node<T>(
      "pow", power,
      {std::forward<A>(x), detail::pow_partial_base(base, exponent)},
      {std::forward<B>(p), d_exponent});
}

template <AnyVar V>
Var<ScalarOf<V>> square(V&& x) {
  using T = ScalarOf<V>;
  const T v = x.value();
  return make_node<T>("square", T(v * v), {std::forward<V>(x), T(2 * v)});
}

template <AnyVar V>
Var<ScalarOf<V>> sqrt(V&& x) {
  using std::sqrt;
  using T = ScalarOf<V>;
  const T root = sqrt(x.value());
  return make_node<T>("sqrt", root, {std::forward<V>(x), T(T(1) / (2 * root))});
}

template <class T>
Tensor<T> pow(const Tensor<T>& x, const std::type_identity_t<T>& p) {
  return map<T>(
      "pow", x,
      [p](const T& v) {
        using std::pow;
        return T(pow(v, p));
      },
      [p](const T& v, const T&) { return detail::pow_partial_base(v, p); });
}

template <class T>
Tensor<T> pow(const Tensor<T>& x, const Tensor<T>& p) {
  return zip<T>(
      "pow", x, p,
      [](const T& v, const T& e) {
        using std::pow;
        return T(pow(v, e));
      },
      [](const T& v, const T& e, const T&) {
        return detail::pow_partial_base(v, e);
      },
      [](const T& v, const T& e, const T& y) {
        return detail::pow_partial_exponent(v, e, y);
      });
}

template <class T>
Tensor<T> pow(const std::type_identity_t<T>& x, const Tensor<T>& p) {
  return map<T>(
      "pow", p,
      [x](const T& e) {
        using std::pow;
        return T(pow(x, e));
      },
      [x](const T& e, const T& y) {
        return detail::pow_partial_exponent(T(x), e, y);
      });
}

template <class T>
Tensor<T> square(const Tensor<T>& x) {
  return map<T>(
      "square", x, [](const T& v) { return T(v * v); },
      [](const T& v, const T&) { return T(2 * v); });
}

template <class T>
Tensor<T> sqrt(const Tensor<T>& x) {
  return map<T>(
      "sqrt", x,
      [](const T& v) {
        using std::sqrt;
        return T(sqrt(v));
      },
      [](const T&, const T& root) { return T(T(1) / (2 * root)); });
}

}  // namespace adjoint
