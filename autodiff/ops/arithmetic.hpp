#pragma once

// a + b, a - b, a * b, a / b, -a and the compound assignments, between two
// Vars or between a Var and a plain number of its scalar type.
//
//   d(a + b) = da + db
//   d(a - b) = da - db
//   d(a * b) = b da + a db
//   d(a / b) = da / b - (a / b^2) db
//
// A plain number is never recorded: x * 2.0 records one operand. Division
// by zero follows IEEE 754, as in PyTorch: 1 / 0 is +inf.

#include <utility>

#include "autodiff/node.hpp"

namespace adjoint {

template <class A, class B>
requires VarPair<A, B> Var<ScalarOf<A>>
operator+(A&& a, B&& b) {
  using T = ScalarOf<A>;
  return make_node<T>("add", T(a.value() + b.value()),
                      {std::forward<A>(a), T(1)}, {std::forward<B>(b), T(1)});
}

template <AnyVar V>
Var<ScalarOf<V>> operator+(V&& a, const ScalarOf<V>& b) {
  using T = ScalarOf<V>;
  return make_node<T>("add", T(a.value() + b), {std::forward<V>(a), T(1)});
}

template <AnyVar V>
Var<ScalarOf<V>> operator+(const ScalarOf<V>& a, V&& b) {
  using T = ScalarOf<V>;
  return make_node<T>("add", T(a + b.value()), {std::forward<V>(b), T(1)});
}

template <class A, class B>
requires VarPair<A, B> Var<ScalarOf<A>>
operator-(A&& a, B&& b) {
  using T = ScalarOf<A>;
  return make_node<T>("subtract", T(a.value() - b.value()),
                      {std::forward<A>(a), T(1)}, {std::forward<B>(b), T(-1)});
}

template <AnyVar V>
Var<ScalarOf<V>> operator-(V&& a, const ScalarOf<V>& b) {
  using T = ScalarOf<V>;
  return make_node<T>("subtract", T(a.value() - b), {std::forward<V>(a), T(1)});
}

template <AnyVar V>
Var<ScalarOf<V>> operator-(const ScalarOf<V>& a, V&& b) {
  using T = ScalarOf<V>;
  return make_node<T>("subtract", T(a - b.value()),
                      {std::forward<V>(b), T(-1)});
}

template <AnyVar V>
Var<ScalarOf<V>> operator-(V&& a) {
  using T = ScalarOf<V>;
  return make_node<T>("negate", T(-a.value()), {std::forward<V>(a), T(-1)});
}

template <AnyVar V>
Var<ScalarOf<V>> operator+(V&& a) {
  return std::forward<V>(a);
}

template <class A, class B>
requires VarPair<A, B> Var<ScalarOf<A>>
operator*(A&& a, B&& b) {
  using T = ScalarOf<A>;
  const T av = a.value();
  const T bv = b.value();
  return make_node<T>("multiply", T(av * bv), {std::forward<A>(a), bv},
                      {std::forward<B>(b), av});
}

template <AnyVar V>
Var<ScalarOf<V>> operator*(V&& a, const ScalarOf<V>& b) {
  using T = ScalarOf<V>;
  return make_node<T>("multiply", T(a.value() * b), {std::forward<V>(a), b});
}

template <AnyVar V>
Var<ScalarOf<V>> operator*(const ScalarOf<V>& a, V&& b) {
  using T = ScalarOf<V>;
  return make_node<T>("multiply", T(a * b.value()), {std::forward<V>(b), a});
}

template <class A, class B>
requires VarPair<A, B> Var<ScalarOf<A>>
operator/(A&& a, B&& b) {
  using T = ScalarOf<A>;
  const T bv = b.value();
  const T quotient = a.value() / bv;
  return make_node<T>("divide", quotient, {std::forward<A>(a), T(T(1) / bv)},
                      {std::forward<B>(b), T(-quotient / bv)});
}

template <AnyVar V>
Var<ScalarOf<V>> operator/(V&& a, const ScalarOf<V>& b) {
  using T = ScalarOf<V>;
  return make_node<T>("divide", T(a.value() / b),
                      {std::forward<V>(a), T(T(1) / b)});
}

template <AnyVar V>
Var<ScalarOf<V>> operator/(const ScalarOf<V>& a, V&& b) {
  using T = ScalarOf<V>;
  const T bv = b.value();
  const T quotient = a / bv;
  return make_node<T>("divide", quotient,
                      {std::forward<V>(b), T(-quotient / bv)});
}

// Compound assignment rebinds the left operand to the result, which may be
// fused into the record of the right operand.

template <class T, AnyVar B>
requires std::same_as<ScalarOf<B>, T> Var<T>
&operator+=(Var<T>& a, B&& b) { return a = std::move(a) + std::forward<B>(b); }

template <class T>
Var<T>& operator+=(Var<T>& a, const std::type_identity_t<T>& b) {
  return a = std::move(a) + b;
}

template <class T, AnyVar B>
requires std::same_as<ScalarOf<B>, T> Var<T>
&operator-=(Var<T>& a, B&& b) { return a = std::move(a) - std::forward<B>(b); }

template <class T>
Var<T>& operator-=(Var<T>& a, const std::type_identity_t<T>& b) {
  return a = std::move(a) - b;
}

template <class T, AnyVar B>
requires std::same_as<ScalarOf<B>, T> Var<T>
&operator*=(Var<T>& a, B&& b) { return a = std::move(a) * std::forward<B>(b); }

template <class T>
Var<T>& operator*=(Var<T>& a, const std::type_identity_t<T>& b) {
  return a = std::move(a) * b;
}

template <class T, AnyVar B>
requires std::same_as<ScalarOf<B>, T> Var<T>
&operator/=(Var<T>& a, B&& b) { return a = std::move(a) / std::forward<B>(b); }

template <class T>
Var<T>& operator/=(Var<T>& a, const std::type_identity_t<T>& b) {
  return a = std::move(a) / b;
}

}  // namespace adjoint
