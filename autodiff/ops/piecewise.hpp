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
//
// Tensors (element by element, with NumPy broadcasting):
//
//   abs(x)                 as above
//   maximum(a, b)          as max(a, b); minimum(a, b) as min(a, b)
//   clamp(x, low, high)    d/dx = 1 where low <= x <= high, bounds
//                          included, and 0 outside, as torch.clamp
//   where(mask, a, b)      a where mask is nonzero, b elsewhere; the
//                          gradient goes to the operand that was chosen

#include <cmath>
#include <utility>

#include "autodiff/elementwise.hpp"
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

template <class T>
Tensor<T> abs(const Tensor<T>& x) {
  return map<T>(
      "abs", x,
      [](const T& v) {
        using std::abs;
        return T(abs(v));
      },
      [](const T& v, const T&) {
        return v > T(0) ? T(1) : v < T(0) ? T(-1) : T(0);
      });
}

template <class T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
  return zip<T>(
      "maximum", a, b,
      [](const T& x, const T& y) { return detail::select(x, y, true).value; },
      [](const T& x, const T& y, const T&) {
        return detail::select(x, y, true).partial_a;
      },
      [](const T& x, const T& y, const T&) {
        return detail::select(x, y, true).partial_b;
      });
}

template <class T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
  return zip<T>(
      "minimum", a, b,
      [](const T& x, const T& y) { return detail::select(x, y, false).value; },
      [](const T& x, const T& y, const T&) {
        return detail::select(x, y, false).partial_a;
      },
      [](const T& x, const T& y, const T&) {
        return detail::select(x, y, false).partial_b;
      });
}

template <class T>
Tensor<T> maximum(const Tensor<T>& a, const std::type_identity_t<T>& b) {
  return maximum(a, scalar_tensor<T>(b));
}

template <class T>
Tensor<T> minimum(const Tensor<T>& a, const std::type_identity_t<T>& b) {
  return minimum(a, scalar_tensor<T>(b));
}

/// Limits every element to [low, high].
template <class T>
Tensor<T> clamp(const Tensor<T>& x, const std::type_identity_t<T>& low,
                const std::type_identity_t<T>& high) {
  if (!(low <= high)) {
    throw std::invalid_argument(fmt::format(
        "clamp: low {} is not <= high {}; pass the bounds in order",
        static_cast<double>(low), static_cast<double>(high)));
  }
  return map<T>(
      "clamp", x,
      [low, high](const T& v) {
        return v < low ? T(low) : v > high ? T(high) : v;
      },
      [low, high](const T& v, const T&) {
        return T(v >= low && v <= high ? 1 : 0);
      });
}

/// Chooses, element by element, a where `mask` is nonzero and b elsewhere.
/// mask, a and b broadcast together; mask is read as data, never
/// differentiated.
template <class T>
Tensor<T> where(const Tensor<T>& mask, const Tensor<T>& a,
                const Tensor<T>& b) {
  const Shape ab = broadcast_shapes(a.shape(), b.shape(), "where");
  const Shape shape = broadcast_shapes(mask.shape(), ab, "where");
  // The mask spread to the output's shape, kept for the sweep.
  detail::TensorState<T> spread(shape);
  const T* m = mask.data();
  const auto strides = detail::broadcast_strides(mask.shape(), shape);
  detail::for_each_broadcast(shape, strides, strides,
                             [&](std::size_t i, std::size_t im, std::size_t) {
                               spread.data[i] = m[im] != T(0) ? T(1) : T(0);
                             });
  const Tensor<T> chosen(
      std::make_shared<detail::TensorState<T>>(std::move(spread)));
  const T* c = chosen.data();
  detail::TensorState<T> out(shape);
  const T* pa = a.data();
  const T* pb = b.data();
  const auto sa = detail::broadcast_strides(a.shape(), shape);
  const auto sb = detail::broadcast_strides(b.shape(), shape);
  detail::for_each_broadcast(shape, sa, sb,
                             [&](std::size_t i, std::size_t ia, std::size_t ib) {
                               out.data[i] = c[i] != T(0) ? pa[ia] : pb[ib];
                             });
  return make_tensor_node<T>(
      "where", std::move(out), {a, b},
      [a = Tensor<T>(a), b = Tensor<T>(b), chosen = Tensor<T>(chosen)](TensorGrad<T>& grad, Backward<T>& backward) {
        const T* c = chosen.data();
        for (const bool first : {true, false}) {
          const Tensor<T>& input = first ? a : b;
          if (!input.requires_grad()) continue;
          const Shape& shape = grad.shape();
          detail::Buffer<T> g(input.numel());
          std::fill_n(g.data(), input.numel(), T(0));
          const auto s = detail::broadcast_strides(input.shape(), shape);
          detail::for_each_broadcast(
              shape, s, s, [&](std::size_t i, std::size_t in, std::size_t) {
                if ((c[i] != T(0)) == first) g[in] += grad[i];
              });
          backward.add(input, std::move(g));
        }
      });
}

/// 1 where a > b and 0 elsewhere, with broadcasting; a constant.
template <class T>
Tensor<T> greater(const Tensor<T>& a, const Tensor<T>& b) {
  NoGradGuard no_grad;
  return Tensor<T>(std::make_shared<detail::TensorState<T>>(detail::zip_values(
      "greater", a, b, [](const T& x, const T& y) { return T(x > y ? 1 : 0); })));
}

/// 1 where a < b and 0 elsewhere, with broadcasting; a constant.
template <class T>
Tensor<T> less(const Tensor<T>& a, const Tensor<T>& b) {
  return greater(b, a);
}

}  // namespace adjoint
