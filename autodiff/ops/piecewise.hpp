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
#include <utility>

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

}  // namespace detail

template <AnyVar V>
Var<ScalarOf<V>> abs(V&& x) {
  using std::abs;
  using T = ScalarOf<V>;
  const T v = x.value();
  const T sign = v > T(0) ? T(1) : v < T(0) ? T(-1) : T(0);
  return make_node<T>("abs", T(abs(v)), {std::forward<V>(x), sign});
}

template <class A, class B>
requires VarPair<A, B> Var<ScalarOf<A>> max(A&& a, B&& b) {
  using T = ScalarOf<A>;
  detail::Selection<T> s = detail::select(a.value(), b.value(), true);
  return make_node<T>("max", std::move(s.value),
                      {std::forward<A>(a), s.partial_a},
                      {std::forward<B>(b), s.partial_b});
}

template <AnyVar V>
Var<ScalarOf<V>> max(V&& a, const ScalarOf<V>& b) {
  using T = ScalarOf<V>;
  detail::Selection<T> s = detail::select(a.value(), b, true);
  return make_node<T>("max", std::move(s.value),
                      {std::forward<V>(a), s.partial_a});
}

template <AnyVar V>
Var<ScalarOf<V>> max(const ScalarOf<V>& a, V&& b) {
  return max(std::forward<V>(b), a);
}

template <class A, class B>
requires VarPair<A, B> Var<ScalarOf<A>> min(A&& a, B&& b) {
  using T = ScalarOf<A>;
  detail::Selection<T> s = detail::select(a.value(), b.value(), false);
  return make_node<T>("min", std::move(s.value),
                      {std::forward<A>(a), s.partial_a},
                      {std::forward<B>(b), s.partial_b});
}

template <AnyVar V>
Var<ScalarOf<V>> min(V&& a, const ScalarOf<V>& b) {
  using T = ScalarOf<V>;
  detail::Selection<T> s = detail::select(a.value(), b, false);
  return make_node<T>("min", std::move(s.value),
                      {std::forward<V>(a), s.partial_a});
}

template <AnyVar V>
Var<ScalarOf<V>> min(const ScalarOf<V>& a, V&& b) {
  return min(std::forward<V>(b), a);
}

}  // namespace adjoint
