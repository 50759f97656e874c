#pragma once

// a + b, a - b, a * b, a / b, -a and the compound assignments, between two
// Vars or between a Var and a plain number of its scalar type.
//
//   d(a + b) = da + db
//   d(a - b) = da - db
//   d(a * b) = b da + a db
//   d(a / b) = da / b - (a / b^2) db
//
// A plain number is never recorded: x * 2.0 records one operand.

#include <type_traits>

#include "autodiff/node.hpp"

namespace adjoint {

template <class T>
Var<T> operator+(const Var<T>& a, const Var<T>& b) {
  return make_node<T>("add", a.value() + b.value(), {a, T(1)}, {b, T(1)});
}

template <class T>
Var<T> operator+(const Var<T>& a, const std::type_identity_t<T>& b) {
  return make_node<T>("add", a.value() + b, {a, T(1)});
}

template <class T>
Var<T> operator+(const std::type_identity_t<T>& a, const Var<T>& b) {
  return make_node<T>("add", a + b.value(), {b, T(1)});
}

template <class T>
Var<T> operator-(const Var<T>& a, const Var<T>& b) {
  return make_node<T>("subtract", a.value() - b.value(), {a, T(1)},
                      {b, T(-1)});
}

template <class T>
Var<T> operator-(const Var<T>& a, const std::type_identity_t<T>& b) {
  return make_node<T>("subtract", a.value() - b, {a, T(1)});
}

template <class T>
Var<T> operator-(const std::type_identity_t<T>& a, const Var<T>& b) {
  return make_node<T>("subtract", a - b.value(), {b, T(-1)});
}

template <class T>
Var<T> operator-(const Var<T>& a) {
  return make_node<T>("negate", -a.value(), {a, T(-1)});
}

template <class T>
Var<T> operator+(const Var<T>& a) {
  return a;
}

template <class T>
Var<T> operator*(const Var<T>& a, const Var<T>& b) {
  return make_node<T>("multiply", a.value() * b.value(), {a, b.value()},
                      {b, a.value()});
}

template <class T>
Var<T> operator*(const Var<T>& a, const std::type_identity_t<T>& b) {
  return make_node<T>("multiply", a.value() * b, {a, b});
}

template <class T>
Var<T> operator*(const std::type_identity_t<T>& a, const Var<T>& b) {
  return make_node<T>("multiply", a * b.value(), {b, a});
}

template <class T>
Var<T> operator/(const Var<T>& a, const Var<T>& b) {
  const T quotient = a.value() / b.value();
  return make_node<T>("divide", quotient, {a, T(T(1) / b.value())},
                      {b, T(-quotient / b.value())});
}

template <class T>
Var<T> operator/(const Var<T>& a, const std::type_identity_t<T>& b) {
  return make_node<T>("divide", a.value() / b, {a, T(T(1) / b)});
}

template <class T>
Var<T> operator/(const std::type_identity_t<T>& a, const Var<T>& b) {
  const T quotient = a / b.value();
  return make_node<T>("divide", quotient, {b, T(-quotient / b.value())});
}

template <class T>
Var<T>& operator+=(Var<T>& a, const Var<T>& b) {
  return a = a + b;
}

template <class T>
Var<T>& operator+=(Var<T>& a, const std::type_identity_t<T>& b) {
  return a = a + b;
}

template <class T>
Var<T>& operator-=(Var<T>& a, const Var<T>& b) {
  return a = a - b;
}

template <class T>
Var<T>& operator-=(Var<T>& a, const std::type_identity_t<T>& b) {
  return a = a - b;
}

template <class T>
Var<T>& operator*=(Var<T>& a, const Var<T>& b) {
  return a = a * b;
}

template <class T>
Var<T>& operator*=(Var<T>& a, const std::type_identity_t<T>& b) {
  return a = a * b;
}

template <class T>
Var<T>& operator/=(Var<T>& a, const Var<T>& b) {
  return a = a / b;
}

template <class T>
Var<T>& operator/=(Var<T>& a, const std::type_identity_t<T>& b) {
  return a = a / b;
}

}  // namespace adjoint
