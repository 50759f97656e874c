#pragma once

// The building blocks of element-wise tensor operators: map() for one
// input, zip() for two inputs with NumPy broadcasting, and elementwise()
// for any number of inputs. An operator gives
// its value and its local derivatives as functions of the input and output
// values; the blocks record the node and, in the sweep, multiply the
// output's gradient by the local derivative and sum it back to each input's
// shape.
//
// As in the scalar sweep, an output gradient of exactly 0 contributes 0
// even where the local derivative is infinite or NaN.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
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
    for (std::size_t i = 0; i < n; ++i)
      g[i] = times(grad[i], d(pa[i], pb[i], y[i]));
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
    g[0] = for_a ? sum_of<T>(n,
                             [&](std::size_t i) {
                               return times(grad[i], d(pa[0], pb[i], y[i]));
                             })
                 : sum_of<T>(n, [&](std::size_t i) {
                     return times(grad[i], d(pa[i], pb[0], y[i]));
                   });
    return g;
  }
  std::fill_n(g.data(), m, T(0));
  for_each_broadcast(
      shape, sa, sb, [&](std::size_t i, std::size_t ia, std::size_t ib) {
        g[for_a ? ia : ib] += times(grad[i], d(pa[ia], pb[ib], y[i]));
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
      [x = Tensor<T>(x), derivative](TensorGrad<T>& grad,
                                     Backward<T>& backward) {
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
      [a = Tensor<T>(a), b = Tensor<T>(b), da, db](TensorGrad<T>& grad,
                                                   Backward<T>& backward) {
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

namespace detail {

/// Calls f(i, offsets) for every element i of a row-major tensor of
/// `shape`, where offsets[k] is the offset given by the strides
/// `strides[k]`.
template <std::size_t N, class F>
void for_each_broadcast_n(
    const Shape& shape,
    const std::array<std::array<std::size_t, Shape::max_rank>, N>& strides,
    F&& f) {
  const std::size_t n = shape.numel();
  std::array<std::size_t, Shape::max_rank> counter{};
  std::array<std::size_t, N> offsets{};
  for (std::size_t i = 0; i < n; ++i) {
    f(i, offsets);
    // Advance the odometer, innermost dimension first.
    for (std::size_t d = shape.rank(); d-- > 0;) {
      ++counter[d];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += strides[k][d];
      if (counter[d] < shape[d]) break;
      for (std::size_t k = 0; k < N; ++k) {
        offsets[k] -= counter[d] * strides[k][d];
      }
      counter[d] = 0;
    }
  }
}

}  // namespace detail

/// An element-wise operation of N tensors with NumPy broadcasting, for
/// operators of three or more inputs: y = value(x), where x is a
/// std::array<T, N> of one element of each input, with local derivatives
/// derivative(x, y, k) = dy/dx[k]. Slower per element than map() and
/// zip(), which the built-in operators use.
template <class T, std::size_t N, class Value, class Derivative>
Tensor<T> elementwise(const char* operation,
                      const std::array<Tensor<T>, N>& inputs,
                      const Value& value, const Derivative& derivative) {
  static_assert(N > 0, "elementwise needs at least one input");
  Shape shape = inputs[0].shape();
  try {
    for (std::size_t k = 1; k < N; ++k) {
      shape = broadcast_shapes(shape, inputs[k].shape(), operation);
    }
  } catch (const std::invalid_argument&) {
    // The pairwise message would name a partial result; name every input.
    std::string shapes;
    for (std::size_t k = 0; k < N; ++k) {
      shapes += fmt::format("{}{}", k == 0 ? "" : ", ", inputs[k].shape());
    }
    throw std::invalid_argument(fmt::format(
        "{}: input shapes {} do not broadcast together; along each "
        "dimension, counted from the end, the extents must match or be 1",
        operation, shapes));
  }
  std::array<std::array<std::size_t, Shape::max_rank>, N> strides;
  for (std::size_t k = 0; k < N; ++k) {
    strides[k] = detail::broadcast_strides(inputs[k].shape(), shape);
  }
  detail::TensorState<T> out(shape);
  detail::for_each_broadcast_n<N>(
      shape, strides, [&](std::size_t i, const std::array<std::size_t, N>& at) {
        std::array<T, N> x;
        for (std::size_t k = 0; k < N; ++k) x[k] = inputs[k].data()[at[k]];
        out.data[i] = value(x);
      });
  return make_tensor_node<T>(
      operation, std::move(out), std::span<const Tensor<T>>(inputs),
      [inputs = std::array<Tensor<T>, N>(inputs), strides, derivative](
          TensorGrad<T>& grad, Backward<T>& backward) {
        const T* y = grad.result();
        std::array<detail::Buffer<T>, N> gradients;
        for (std::size_t k = 0; k < N; ++k) {
          if (!inputs[k].requires_grad()) continue;
          gradients[k] = detail::Buffer<T>(inputs[k].numel());
          std::fill_n(gradients[k].data(), inputs[k].numel(), T(0));
        }
        detail::for_each_broadcast_n<N>(
            grad.shape(), strides,
            [&](std::size_t i, const std::array<std::size_t, N>& at) {
              std::array<T, N> x;
              for (std::size_t k = 0; k < N; ++k) {
                x[k] = inputs[k].data()[at[k]];
              }
              for (std::size_t k = 0; k < N; ++k) {
                if (!inputs[k].requires_grad()) continue;
                gradients[k][at[k]] +=
                    detail::times(grad[i], T(derivative(x, y[i], k)));
              }
            });
        for (std::size_t k = 0; k < N; ++k) {
          if (inputs[k].requires_grad()) {
            backward.add(inputs[k], std::move(gradients[k]));
          }
        }
      });
}

}  // namespace adjoint
