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
//
// The same operators work on tensors, with NumPy broadcasting between two
// tensors, a tensor and a Var (a 0-dimensional tensor in the expression)
// and a tensor and a plain number. The gradient of a broadcast operand is
// summed back to its shape; the output gradient of + and - passes through
// without a copy where the shapes agree.

#include <type_traits>
#include <utility>

#include "autodiff/elementwise.hpp"
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

// Tensor operators.

namespace detail {

template <class T>
Tensor<T> add_or_subtract(const Tensor<T>& a, const Tensor<T>& b,
                          bool subtract) {
  const char* operation = subtract ? "subtract" : "add";
  TensorState<T> out =
      subtract ? zip_values(operation, a, b,
                            [](const T& x, const T& y) { return T(x - y); })
               : zip_values(operation, a, b,
                            [](const T& x, const T& y) { return T(x + y); });
  return make_tensor_node<T>(
      operation, std::move(out), {a, b},
      [a = Tensor<T>(a), b = Tensor<T>(b), subtract](TensorGrad<T>& grad, Backward<T>& backward) {
        backward.add_reduced(b, grad, subtract, !a.requires_grad());
        backward.add_reduced(a, grad, false, true);
      });
}

}  // namespace detail

template <class T>
Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::add_or_subtract(a, b, false);
}

template <class T>
Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::add_or_subtract(a, b, true);
}

template <class T>
Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) {
  return zip<T>(
      "multiply", a, b, [](const T& x, const T& y) { return T(x * y); },
      [](const T&, const T& y, const T&) { return y; },
      [](const T& x, const T&, const T&) { return x; });
}

template <class T>
Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) {
  return zip<T>(
      "divide", a, b, [](const T& x, const T& y) { return T(x / y); },
      [](const T&, const T& y, const T&) { return T(T(1) / y); },
      [](const T&, const T& y, const T& q) { return T(-q / y); });
}

template <class T>
Tensor<T> operator-(const Tensor<T>& a) {
  return map<T>(
      "negate", a, [](const T& x) { return T(-x); },
      [](const T&, const T&) { return T(-1); });
}

template <class T>
Tensor<T> operator+(const Tensor<T>& a) {
  return a;
}

// A Var in a tensor expression is a 0-dimensional tensor.

#define ADJOINT_TENSOR_VAR_OPERATOR(op)                                  \
  template <class T>                                                     \
  Tensor<T> operator op(const Tensor<T>& a, const Var<T>& b) {           \
    return a op as_tensor(b);                                            \
  }                                                                      \
  template <class T>                                                     \
  Tensor<T> operator op(const Var<T>& a, const Tensor<T>& b) {           \
    return as_tensor(a) op b;                                            \
  }
ADJOINT_TENSOR_VAR_OPERATOR(+)
ADJOINT_TENSOR_VAR_OPERATOR(-)
ADJOINT_TENSOR_VAR_OPERATOR(*)
ADJOINT_TENSOR_VAR_OPERATOR(/)
#undef ADJOINT_TENSOR_VAR_OPERATOR

// A plain number is folded into the operation and never recorded.

template <class T>
Tensor<T> operator+(const Tensor<T>& a, const std::type_identity_t<T>& c) {
  return map<T>(
      "add", a, [c](const T& x) { return T(x + c); },
      [](const T&, const T&) { return T(1); });
}

template <class T>
Tensor<T> operator+(const std::type_identity_t<T>& c, const Tensor<T>& a) {
  return map<T>(
      "add", a, [c](const T& x) { return T(c + x); },
      [](const T&, const T&) { return T(1); });
}

template <class T>
Tensor<T> operator-(const Tensor<T>& a, const std::type_identity_t<T>& c) {
  return map<T>(
      "subtract", a, [c](const T& x) { return T(x - c); },
      [](const T&, const T&) { return T(1); });
}

template <class T>
Tensor<T> operator-(const std::type_identity_t<T>& c, const Tensor<T>& a) {
  return map<T>(
      "subtract", a, [c](const T& x) { return T(c - x); },
      [](const T&, const T&) { return T(-1); });
}

template <class T>
Tensor<T> operator*(const Tensor<T>& a, const std::type_identity_t<T>& c) {
  return map<T>(
      "multiply", a, [c](const T& x) { return T(x * c); },
      [c](const T&, const T&) { return c; });
}

template <class T>
Tensor<T> operator*(const std::type_identity_t<T>& c, const Tensor<T>& a) {
  return map<T>(
      "multiply", a, [c](const T& x) { return T(c * x); },
      [c](const T&, const T&) { return c; });
}

template <class T>
Tensor<T> operator/(const Tensor<T>& a, const std::type_identity_t<T>& c) {
  return map<T>(
      "divide", a, [c](const T& x) { return T(x / c); },
      [c](const T&, const T&) { return T(T(1) / c); });
}

template <class T>
Tensor<T> operator/(const std::type_identity_t<T>& c, const Tensor<T>& a) {
  return map<T>(
      "divide", a, [c](const T& x) { return T(c / x); },
      [](const T& x, const T& q) { return T(-q / x); });
}

// Compound assignment rebinds the handle to the result; tensors that share
// the old state keep it.

template <class T, class B>
requires requires(const Tensor<T>& a, const B& b) { a + b; } Tensor<T>
&operator+=(Tensor<T>& a, const B& b) { return a = a + b; }

template <class T, class B>
requires requires(const Tensor<T>& a, const B& b) { a - b; } Tensor<T>
&operator-=(Tensor<T>& a, const B& b) { return a = a - b; }

template <class T, class B>
requires requires(const Tensor<T>& a, const B& b) { a * b; } Tensor<T>
&operator*=(Tensor<T>& a, const B& b) { return a = a * b; }

template <class T, class B>
requires requires(const Tensor<T>& a, const B& b) { a / b; } Tensor<T>
&operator/=(Tensor<T>& a, const B& b) { return a = a / b; }

}  // namespace adjoint
