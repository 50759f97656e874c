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

#include <cmath>
#include <type_traits>

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

template <class T>
Var<T> pow(const Var<T>& x, const std::type_identity_t<T>& p) {
  using std::pow;
  const T& v = x.value();
  return make_node<T>("pow", T(pow(v, p)),
                      {x, detail::pow_partial_base(v, T(p))});
}

template <class T>
Var<T> pow(const std::type_identity_t<T>& x, const Var<T>& p) {
  using std::pow;
  const T power = pow(T(x), p.value());
  if (!p.requires_grad()) return Var<T>::constant(power);
  return make_node<T>("pow", power,
                      {p, detail::pow_partial_exponent(T(x), p.value(), power)});
}

template <class T>
Var<T> pow(const Var<T>& x, const Var<T>& p) {
  using std::pow;
  const T& base = x.value();
  const T& exponent = p.value();
  const T power = pow(base, exponent);
  const T d_exponent = p.requires_grad()
                           ? detail::pow_partial_exponent(base, exponent, power)
                           : T(0);
  return make_node<T>("pow", power,
                      {x, detail::pow_partial_base(base, exponent)},
                      {p, d_exponent});
}

template <class T>
Var<T> square(const Var<T>& x) {
  const T& v = x.value();
  return make_node<T>("square", T(v * v), {x, T(2 * v)});
}

template <class T>
Var<T> sqrt(const Var<T>& x) {
  using std::sqrt;
  const T root = sqrt(x.value());
  return make_node<T>("sqrt", root, {x, T(T(1) / (2 * root))});
}

}  // namespace adjoint
