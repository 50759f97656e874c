#pragma once

// softmax, log_softmax and cross_entropy, along one axis.
//
//   softmax(x)_i      exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j
//                     d_in = y (g - sum_j g_j y_j)
//   log_softmax(x)_i  x_i - m - log(sum_j exp(x_j - m))
//                     d_in = g - exp(y) sum_j g_j
//   cross_entropy     mean over rows of logsumexp(row) - row[target], the
//                     negative log-likelihood of integer class targets;
//                     d/dx = (softmax(row) - onehot(target)) / rows
//
// Subtracting the largest element first keeps exp() from overflowing, so
// logits of 1000 give exact probabilities instead of inf / inf = NaN.

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <vector>

#include "autodiff/elementwise.hpp"
#include "autodiff/ops/layout.hpp"
#include "autodiff/ops/reduction.hpp"

namespace adjoint {
namespace detail {

/// Calls f(base, stride, extent) for every line along axis `a` of `shape`:
/// the line's elements are at base + j * stride for j < extent.
template <class F>
void for_each_line(const Shape& shape, std::size_t a, F&& f) {
  const AxisSplit s = split_at(shape, a);
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      f(o * s.extent * s.inner + i, s.inner, s.extent);
    }
  }
}

template <class T>
T line_max(const T* v, std::size_t base, std::size_t stride,
           std::size_t extent) {
  T m = v[base];
  for (std::size_t j = 1; j < extent; ++j) {
    const T x = v[base + j * stride];
    if (x > m || x != x) m = x;
  }
  return m;
}

}  // namespace detail

/// Softmax along `axis` (by default the last).
template <class T>
Tensor<T> softmax(const Tensor<T>& x, std::ptrdiff_t axis = -1) {
  using std::exp;
  const std::size_t a = normalize_axis(axis, x.rank(), "softmax");
  detail::TensorState<T> out(x.shape());
  const T* v = x.data();
  T* y = out.data;
  detail::for_each_line(x.shape(), a, [&](std::size_t base, std::size_t stride,
                                          std::size_t extent) {
    if (extent == 0) return;
    const T m = detail::line_max(v, base, stride, extent);
    T total(0);
    for (std::size_t j = 0; j < extent; ++j) {
      const std::size_t i = base + j * stride;
      y[i] = exp(T(v[i] - m));
      total += y[i];
    }
    for (std::size_t j = 0; j < extent; ++j) y[base + j * stride] /= total;
  });
  return make_tensor_node<T>(
      "softmax", std::move(out), {x},
      [x = Tensor<T>(x), a](TensorGrad<T>& grad, Backward<T>& backward) {
        const T* y = grad.result();
        detail::Buffer<T> g(x.numel());
        detail::for_each_line(
            x.shape(), a,
            [&](std::size_t base, std::size_t stride, std::size_t extent) {
              T inner(0);
              for (std::size_t j = 0; j < extent; ++j) {
                const std::size_t i = base + j * stride;
                inner += grad[i] * y[i];
              }
              for (std::size_t j = 0; j < extent; ++j) {
                const std::size_t i = base + j * stride;
                g[i] = y[i] * (grad[i] - inner);
              }
            });
        backward.add(x, std::move(g));
      });
}

/// log(softmax(x)) along `axis`, computed without forming softmax.
template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, std::ptrdiff_t axis = -1) {
  using std::exp;
  using std::log;
  const std::size_t a = normalize_axis(axis, x.rank(), "log_softmax");
  detail::TensorState<T> out(x.shape());
  const T* v = x.data();
  T* y = out.data;
  detail::for_each_line(x.shape(), a, [&](std::size_t base, std::size_t stride,
                                          std::size_t extent) {
    if (extent == 0) return;
    const T m = detail::line_max(v, base, stride, extent);
    T total(0);
    for (std::size_t j = 0; j < extent; ++j) {
      total += exp(T(v[base + j * stride] - m));
    }
    // (x - m) - log(total) rather than x - (m + log(total)), which would
    // round log(total) to the precision of m.
    const T log_total = log(total);
    for (std::size_t j = 0; j < extent; ++j) {
      const std::size_t i = base + j * stride;
      y[i] = T(v[i] - m) - log_total;
    }
  });
  return make_tensor_node<T>(
      "log_softmax", std::move(out), {x},
      [x = Tensor<T>(x), a](TensorGrad<T>& grad, Backward<T>& backward) {
        using std::exp;
        const T* y = grad.result();
        detail::Buffer<T> g(x.numel());
        detail::for_each_line(
            x.shape(), a,
            [&](std::size_t base, std::size_t stride, std::size_t extent) {
              T total(0);
              for (std::size_t j = 0; j < extent; ++j) {
                total += grad[base + j * stride];
              }
              for (std::size_t j = 0; j < extent; ++j) {
                const std::size_t i = base + j * stride;
                g[i] = grad[i] - T(exp(y[i])) * total;
              }
            });
        backward.add(x, std::move(g));
      });
}

/// Mean cross-entropy of logits [rows, classes] against one class index per
/// row, as a scalar node; logits of shape [classes] take one target.
template <class T>
Var<T> cross_entropy(const Tensor<T>& logits,
                     std::span<const std::size_t> targets) {
  using std::exp;
  using std::log;
  const Shape& s = logits.shape();
  if (s.rank() < 1 || s.rank() > 2 || s[s.rank() - 1] == 0) {
    throw std::invalid_argument(fmt::format(
        "cross_entropy: logits of shape {}; pass [rows, classes] or "
        "[classes] with at least one class",
        s));
  }
  const std::size_t rows = s.rank() == 2 ? s[0] : 1;
  const std::size_t classes = s[s.rank() - 1];
  if (targets.size() != rows) {
    throw std::invalid_argument(fmt::format(
        "cross_entropy: {} targets for {} rows of logits (shape {}); pass one "
        "class index per row",
        targets.size(), rows, s));
  }
  for (std::size_t r = 0; r < rows; ++r) {
    if (targets[r] >= classes) {
      throw std::invalid_argument(fmt::format(
          "cross_entropy: target {} of row {} is out of range for {} "
          "classes",
          targets[r], r, classes));
    }
  }
  const T* v = logits.data();
  // Per row, the shift m and log(sum(exp(row - m))); the loss of the row is
  // that logarithm minus (row[target] - m), so nothing is rounded to the
  // precision of m.
  std::vector<T> shifts(rows);
  std::vector<T> log_sums(rows);
  T total(0);
  for (std::size_t r = 0; r < rows; ++r) {
    const T* row = v + r * classes;
    shifts[r] = detail::logsumexp_shift(detail::line_max(row, 0, 1, classes));
    T sum(0);
    for (std::size_t c = 0; c < classes; ++c) {
      sum += exp(T(row[c] - shifts[r]));
    }
    log_sums[r] = log(sum);
    total += log_sums[r] - T(row[targets[r]] - shifts[r]);
  }
  std::vector<std::size_t> labels(targets.begin(), targets.end());
  return make_scalar_node<T>(
      "cross_entropy", T(total / T(rows)), {logits},
      [logits = Tensor<T>(logits), shifts = std::move(shifts), log_sums = std::move(log_sums),
       labels = std::move(labels), rows,
       classes](const T& adjoint, Backward<T>& backward) {
        using std::exp;
        const T* v = logits.data();
        const T scale = adjoint / T(rows);
        detail::Buffer<T> g(logits.numel());
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t c = 0; c < classes; ++c) {
            const std::size_t i = r * classes + c;
            const T p = exp(T(T(v[i] - shifts[r]) - log_sums[r]));
            g[i] = scale * (c == labels[r] ? T(p - T(1)) : p);
          }
        }
        backward.add(logits, std::move(g));
      });
}

template <class T>
Var<T> cross_entropy(const Tensor<T>& logits,
                     std::initializer_list<std::size_t> targets) {
  return cross_entropy(logits, std::span<const std::size_t>(targets.begin(),
                                                            targets.size()));
}

}  // namespace adjoint
