#pragma once

// abs, min and max.
//
//   abs(x):     d/dx = sign(x), and 0 at x == 0 (PyTorch's sgn)
//   max(a, b):  the larger operand gets gradient 1 and the other 0; on a
//               tie each gets 1/2, as torch.maximum does
//   min(a, b):  the same for the smaller operand
//
// If either operand of min or max is NaN the value is NaN and both operands
// get gradient 1, which is what torch.maximum and torch.minimum give.

#include <cmath>
#include <type_traits>

#include "autodiff/node.hpp"

namespace adjoint {
namespace detail {

/// Value of max(a, b) (or of min(a, b) when `larger` is false) and the
/// partial derivatives with respect to a and b.
template <class T>
struct Selection {
  T value;
  T partial_a;
  T partial_b;
};

template <class T>
Selection<T> select(const T& a, const T& b, bool larger) {
  const bool a_wins = larger ? a > b : a < b;
  const bool b_wins = larger ? b > a : b < a;
  if (a_wins) return {a, T(1), T(0)};
  if (b_wins) return {b, T(0), T(1)};
  if (a == b) return {a, T(0.5), T(0.5)};
  return {a != a ? a : b, T(1), T(1)};  // a NaN operand
}

template <class T>
Var<T> select(const char* operation, const Var<T>& a, const Var<T>& b,
              bool larger) {
  Selection<T> s = select(a.value(), b.value(), larger);
  return make_node<T>(operation, std::move(s.value), {a, s.partial_a},
                      {b, s.partial_b});
}

template <class T>
Var<T> select(const char* operation, const Var<T>& a, const T& b,
              bool larger) {
  Selection<T> s = select(a.value(), b, larger);
  return make_node<T>(operation, std::move(s.value), {a, s.partial_a});
}

}  // namespace detail

template <class T>
Var<T> abs(const Var<T>& x) {
  using std::abs;
  const T& v = x.value();
  const T sign = v > T(0) ? T(1) : v < T(0) ? T(-1) : T(0);
  return make_node<T>("abs", T(abs(v)), {x, sign});
}

template <class T>
Var<T> max(const Var<T>& a, const Var<T>& b) {
  return detail::select("max", a, b, true);
}

template <class T>
Var<T> max(const Var<T>& a, const std::type_identity_t<T>& b) {
  return detail::select("max", a, T(b), true);
}

template <class T>
Var<T> max(const std::type_identity_t<T>& a, const Var<T>& b) {
  return detail::select("max", b, T(a), true);
}

template <class T>
Var<T> min(const Var<T>& a, const Var<T>& b) {
  return detail::select("min", a, b, false);
}

template <class T>
Var<T> min(const Var<T>& a, const std::type_identity_t<T>& b) {
  return detail::select("min", a, T(b), false);
}

template <class T>
Var<T> min(const std::type_identity_t<T>& a, const Var<T>& b) {
  return detail::select("min", b, T(a), false);
}

}  // namespace adjoint
