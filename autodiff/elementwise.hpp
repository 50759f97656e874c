#pragma once

// The two building blocks of element-wise tensor operators: map() for one
// input and zip() for two inputs with NumPy broadcasting. An operator gives
// its value and its local derivatives as functions of the input and output
// values; the blocks record the node and, in the sweep, multiply the
// output's gradient by the local derivative and sum it back to each input's
// shape.
//
// As in the scalar sweep, an output gradient of exactly 0 contributes 0
// even where the local derivative is infinite or NaN.

#include <array>
#include <cstddef>
#include <utility>

#include "autodiff/tensor.hpp"

namespace adjoint {
namespace detail {

/// g * d, except that g == 0 gives 0 whatever d is.
template <class T>
inline T times(const T& g, const T& d) {
  return g == T(0) ? T(0) : T(g * d);
}

/// Gradient of zip()'s output with respect to one input (a when `for_a`),
/// in that input's shape. `d(a, b, y)` is the local derivative.
template <class T, class D>
Buffer<T> zip_grad(const TensorGrad<T>& grad, const Tensor<T>& a,
                   const Tensor<T>& b, bool for_a, const D& d) {
  const Shape& shape = grad.shape();
  const std::size_t n = grad.size();
  const T* y = grad.result();
  const T* pa = a.data();
  const T* pb = b.data();
  const std::size_t m = for_a ? a.numel() : b.numel();
  Buffer<T> g(m);
  if (a.shape() == b.shape()) {
    for (std::size_t i = 0; i < n; ++i) g[i] = times(grad[i], d(pa[i], pb[i], y[i]));
    return g;
  }
  const auto sa = broadcast_strides(a.shape(), shape);
  const auto sb = broadcast_strides(b.shape(), shape);
  if (m == n) {
    for_each_broadcast(shape, sa, sb,
                       [&](std::size_t i, std::size_t ia, std::size_t ib) {
                         g[i] = times(grad[i], d(pa[ia], pb[ib], y[i]));
                       });
    return g;
  }
  if (m == 1) {
    // The other input has the output's shape, so its index is i.
    g[0] = for_a ? sum_of<T>(n, [&](std::size_t i) {
      return times(grad[i], d(pa[0], pb[i], y[i]));
    })
                 : sum_of<T>(n, [&](std::size_t i) {
                     return times(grad[i], d(pa[i], pb[0], y[i]));
                   });
    return g;
  }
  std::fill_n(g.data(), m, T(0));
  for_each_broadcast(shape, sa, sb,
                     [&](std::size_t i, std::size_t ia, std::size_t ib) {
                       g[for_a ? ia : ib] +=
                           times(grad[i], d(pa[ia], pb[ib], y[i]));
                     });
  return g;
}

}  // namespace detail

/// An element-wise operation of one tensor: y = value(x), with local
/// derivative derivative(x, y).
template <class T, class Value, class Derivative>
Tensor<T> map(const char* operation, const Tensor<T>& x, const Value& value,
              const Derivative& derivative) {
  detail::TensorState<T> out(x.shape());
  const T* in = x.data();
  for (std::size_t i = 0; i < out.size; ++i) out.data[i] = value(in[i]);
  return make_tensor_node<T>(
      operation, std::move(out), {x},
      [x = Tensor<T>(x), derivative](TensorGrad<T>& grad, Backward<T>& backward) {
        const T* in = x.data();
        const T* y = grad.result();
        const std::size_t n = grad.size();
        detail::Buffer<T> g;
        if (grad.is_uniform()) {
          g = detail::Buffer<T>(n);
          const T fill = grad.fill();
          for (std::size_t i = 0; i < n; ++i) {
            g[i] = detail::times(fill, derivative(in[i], y[i]));
          }
        } else {
          g = grad.take();
          for (std::size_t i = 0; i < n; ++i) {
            g[i] = detail::times(g[i], derivative(in[i], y[i]));
          }
        }
        backward.add(x, std::move(g));
      });
}

/// An element-wise operation of two tensors with NumPy broadcasting:
/// y = value(a, b), with local derivatives da(a, b, y) and db(a, b, y).
namespace detail {

/// The output of y = value(a, b) with NumPy broadcasting.
template <class T, class Value>
TensorState<T> zip_values(const char* operation, const Tensor<T>& a,
                          const Tensor<T>& b, const Value& value) {
  const bool same = a.shape() == b.shape();
  const Shape shape =
      same ? a.shape() : broadcast_shapes(a.shape(), b.shape(), operation);
  TensorState<T> out(shape);
  const T* pa = a.data();
  const T* pb = b.data();
  T* y = out.data;
  const std::size_t n = out.size;
  if (same) {
    for (std::size_t i = 0; i < n; ++i) y[i] = value(pa[i], pb[i]);
  } else if (b.numel() == 1 && a.numel() == n) {
    const T bv = pb[0];
    for (std::size_t i = 0; i < n; ++i) y[i] = value(pa[i], bv);
  } else if (a.numel() == 1 && b.numel() == n) {
    const T av = pa[0];
    for (std::size_t i = 0; i < n; ++i) y[i] = value(av, pb[i]);
  } else {
    for_each_broadcast(shape, broadcast_strides(a.shape(), shape),
                       broadcast_strides(b.shape(), shape),
                       [&](std::size_t i, std::size_t ia, std::size_t ib) {
                         y[i] = value(pa[ia], pb[ib]);
                       });
  }
  return out;
}

}  // namespace detail

/// An element-wise operation of two tensors with NumPy broadcasting:
/// y = value(a, b), with local derivatives da(a, b, y) and db(a, b, y).
template <class T, class Value, class DA, class DB>
Tensor<T> zip(const char* operation, const Tensor<T>& a, const Tensor<T>& b,
              const Value& value, const DA& da, const DB& db) {
  return make_tensor_node<T>(
      operation, detail::zip_values(operation, a, b, value), {a, b},
      [a = Tensor<T>(a), b = Tensor<T>(b), da, db](TensorGrad<T>& grad, Backward<T>& backward) {
        if (a.shape() == b.shape()) {
          // No broadcasting: add to each gradient in place.
          const T* pa = a.data();
          const T* pb = b.data();
          const T* y = grad.result();
          if (a.requires_grad()) {
            backward.add_each(a, [&](std::size_t i) {
              return detail::times(grad[i], da(pa[i], pb[i], y[i]));
            });
          }
          if (b.requires_grad()) {
            backward.add_each(b, [&](std::size_t i) {
              return detail::times(grad[i], db(pa[i], pb[i], y[i]));
            });
          }
          return;
        }
        if (a.requires_grad()) {
          backward.add(a, detail::zip_grad(grad, a, b, true, da));
        }
        if (b.requires_grad()) {
          backward.add(b, detail::zip_grad(grad, a, b, false, db));
        }
      });
}

}  // namespace adjoint
