#pragma once

// Reductions: sum, mean, max, min and logsumexp, over every element (the
// result is a scalar node, a Var) or over chosen axes (the result is a
// tensor, with the reduced axes kept as extent 1 when keepdim is true).
//
//   sum        d/dx_i = 1
//   mean       d/dx_i = 1 / n
//   max, min   the gradient is shared evenly among the elements equal to
//              the result, as torch.amax and torch.amin do; a NaN result
//              sends it to the NaN elements
//   logsumexp  log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m
//              the largest element (0 if m is infinite), so large inputs do
//              not overflow; d/dx_i = exp(x_i - result), the softmax
//
// Over no elements: sum is 0, mean is NaN, logsumexp is -inf, and max and
// min raise std::invalid_argument, as in PyTorch.

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <vector>

#include "autodiff/elementwise.hpp"

namespace adjoint {

/// Axes to reduce over; negative axes count from the end.
using Axes = std::vector<std::ptrdiff_t>;

/// A floating-point or bool argument where an axis is expected. Such an
/// argument would convert to an axis silently, so that max(x, 0.0) reduced
/// along axis 0 where the element-wise maximum(x, 0.0) was meant; the
/// reductions and softmax reject it at compile time.
template <class A>
concept NotAnAxis = std::floating_point<A> || std::same_as<A, bool>;

#define ADJOINT_REJECT_NON_AXIS(name)                               \
  template <class T, NotAnAxis A>                                   \
  Tensor<T> name(const Tensor<T>& x, A axis, bool keepdim) = delete; \
  template <class T, NotAnAxis A>                                   \
  Tensor<T> name(const Tensor<T>& x, A axis) = delete;
ADJOINT_REJECT_NON_AXIS(sum)
ADJOINT_REJECT_NON_AXIS(mean)
ADJOINT_REJECT_NON_AXIS(max)
ADJOINT_REJECT_NON_AXIS(min)
ADJOINT_REJECT_NON_AXIS(logsumexp)
ADJOINT_REJECT_NON_AXIS(softmax)
ADJOINT_REJECT_NON_AXIS(log_softmax)
#undef ADJOINT_REJECT_NON_AXIS

namespace detail {

/// How a reduction maps input elements to output elements.
struct Reduction {
  Shape result;  // the output's shape
  Shape kept;    // the input's shape with every reduced extent set to 1
  // Per input dimension, the stride of the output: 0 along reduced axes.
  std::array<std::size_t, Shape::max_rank> strides{};
  std::size_t count = 1;  // input elements per output element
};

inline Reduction plan_reduction(const Shape& input, const Axes& axes,
                                bool keepdim, const char* operation) {
  if (axes.empty()) {
    throw std::invalid_argument(fmt::format(
        "{}: the list of axes is empty; name at least one axis, or call {}(x) "
        "to reduce every element",
        operation, operation));
  }
  std::array<bool, Shape::max_rank> reduced{};
  for (const std::ptrdiff_t axis : axes) {
    const std::size_t a = normalize_axis(axis, input.rank(), operation);
    if (reduced[a]) {
      throw std::invalid_argument(fmt::format(
          "{}: axis {} appears twice in [{}]; name each axis once", operation,
          axis, fmt::join(axes, ", ")));
    }
    reduced[a] = true;
  }
  Reduction plan;
  for (std::size_t d = 0; d < input.rank(); ++d) {
    plan.kept.push_back(reduced[d] ? 1 : input[d]);
    if (reduced[d]) {
      plan.count *= input[d];
      if (keepdim) plan.result.push_back(1);
    } else {
      plan.result.push_back(input[d]);
    }
  }
  const auto kept_strides = strides_of(plan.kept);
  for (std::size_t d = 0; d < input.rank(); ++d) {
    plan.strides[d] = reduced[d] ? 0 : kept_strides[d];
  }
  return plan;
}

/// Calls f(i, io) for every input element i and its output element io.
template <class F>
void for_each_reduced(const Shape& input, const Reduction& plan, F&& f) {
  for_each_broadcast(input, plan.strides, plan.strides,
                     [&](std::size_t i, std::size_t io, std::size_t) {
                       f(i, io);
                     });
}

/// The gradient of a reduction's output spread back over its input:
/// g_in[i] = scale * grad[io].
template <class T>
Buffer<T> spread(const TensorGrad<T>& grad, const Shape& input,
                 const Reduction& plan, const T& scale) {
  Buffer<T> g(input.numel());
  for_each_reduced(input, plan, [&](std::size_t i, std::size_t io) {
    g[i] = grad[io] * scale;
  });
  return g;
}

template <class T>
void throw_empty(const char* operation, const Shape& shape) {
  throw std::invalid_argument(fmt::format(
      "{}: the tensor of shape {} has no elements to reduce; {} of nothing "
      "is undefined",
      operation, shape, operation));
}

/// Whether x is the extreme value y (or both are NaN).
template <class T>
bool attains(const T& x, const T& y) {
  return x == y || (x != x && y != y);
}

template <class T>
T extreme_of(const T* x, std::size_t n, bool largest) {
  T best = x[0];
  for (std::size_t i = 1; i < n; ++i) {
    if (best != best) break;
    if (x[i] != x[i] || (largest ? x[i] > best : x[i] < best)) best = x[i];
  }
  return best;
}

template <class T>
Var<T> extreme(const Tensor<T>& x, bool largest) {
  const char* operation = largest ? "max" : "min";
  const std::size_t n = x.numel();
  if (n == 0) throw_empty<T>(operation, x.shape());
  const T y = extreme_of(x.data(), n, largest);
  return make_scalar_node<T>(
      operation, y, {x}, [x = Tensor<T>(x), y](const T& adjoint, Backward<T>& backward) {
        const T* v = x.data();
        const std::size_t n = x.numel();
        std::size_t ties = 0;
        for (std::size_t i = 0; i < n; ++i) ties += attains(v[i], y);
        const T share = adjoint / T(ties);
        Buffer<T> g(n);
        for (std::size_t i = 0; i < n; ++i) {
          g[i] = attains(v[i], y) ? share : T(0);
        }
        backward.add(x, std::move(g));
      });
}

template <class T>
Tensor<T> extreme(const Tensor<T>& x, const Axes& axes, bool keepdim,
                  bool largest) {
  const char* operation = largest ? "max" : "min";
  const Reduction plan = plan_reduction(x.shape(), axes, keepdim, operation);
  const std::size_t m = plan.result.numel();
  if (plan.count == 0 && m > 0) throw_empty<T>(operation, x.shape());
  TensorState<T> out(plan.result);
  std::vector<bool> started(m, false);
  const T* v = x.data();
  for_each_reduced(x.shape(), plan, [&](std::size_t i, std::size_t io) {
    T& best = out.data[io];
    if (!started[io]) {
      best = v[i];
      started[io] = true;
    } else if (best == best &&
               (v[i] != v[i] || (largest ? v[i] > best : v[i] < best))) {
      best = v[i];
    }
  });
  return make_tensor_node<T>(
      operation, std::move(out), {x},
      [x = Tensor<T>(x), plan](TensorGrad<T>& grad, Backward<T>& backward) {
        const T* v = x.data();
        const T* y = grad.result();
        std::vector<std::size_t> ties(grad.size(), 0);
        for_each_reduced(x.shape(), plan, [&](std::size_t i, std::size_t io) {
          ties[io] += attains(v[i], y[io]);
        });
        Buffer<T> g(x.numel());
        for_each_reduced(x.shape(), plan, [&](std::size_t i, std::size_t io) {
          g[i] = attains(v[i], y[io]) ? T(grad[io] / T(ties[io])) : T(0);
        });
        backward.add(x, std::move(g));
      });
}

}  // namespace detail

/// Sum of every element, as a scalar node. 0 for an empty tensor.
template <class T>
Var<T> sum(const Tensor<T>& x) {
  const T* v = x.data();
  const T total = detail::sum_of<T>(x.numel(), [v](std::size_t i) { return v[i]; });
  return make_scalar_node<T>(
      "sum", total, {x}, [x](const T& adjoint, Backward<T>& backward) {
        backward.add_uniform(x, adjoint);
      });
}

/// Sum over `axes`.
template <class T>
Tensor<T> sum(const Tensor<T>& x, const Axes& axes, bool keepdim = false) {
  const detail::Reduction plan =
      detail::plan_reduction(x.shape(), axes, keepdim, "sum");
  detail::TensorState<T> out(plan.result);
  std::fill_n(out.data, out.size, T(0));
  const T* v = x.data();
  detail::for_each_reduced(x.shape(), plan, [&](std::size_t i, std::size_t io) {
    out.data[io] += v[i];
  });
  return make_tensor_node<T>(
      "sum", std::move(out), {x},
      [x = Tensor<T>(x), plan](TensorGrad<T>& grad, Backward<T>& backward) {
        if (grad.is_uniform()) {
          backward.add_uniform(x, grad.fill());
        } else {
          backward.add(x, detail::spread(grad, x.shape(), plan, T(1)));
        }
      });
}

template <class T>
Tensor<T> sum(const Tensor<T>& x, std::ptrdiff_t axis, bool keepdim = false) {
  return sum(x, Axes{axis}, keepdim);
}

/// Mean of every element, as a scalar node. NaN for an empty tensor.
template <class T>
Var<T> mean(const Tensor<T>& x) {
  const std::size_t n = x.numel();
  const T* v = x.data();
  const T total = detail::sum_of<T>(n, [v](std::size_t i) { return v[i]; });
  return make_scalar_node<T>(
      "mean", T(total / T(n)), {x},
      [x = Tensor<T>(x), n](const T& adjoint, Backward<T>& backward) {
        backward.add_uniform(x, T(adjoint / T(n)));
      });
}

/// Mean over `axes`.
template <class T>
Tensor<T> mean(const Tensor<T>& x, const Axes& axes, bool keepdim = false) {
  const detail::Reduction plan =
      detail::plan_reduction(x.shape(), axes, keepdim, "mean");
  detail::TensorState<T> out(plan.result);
  std::fill_n(out.data, out.size, T(0));
  const T* v = x.data();
  detail::for_each_reduced(x.shape(), plan, [&](std::size_t i, std::size_t io) {
    out.data[io] += v[i];
  });
  const T count(plan.count);
  for (std::size_t i = 0; i < out.size; ++i) out.data[i] /= count;
  return make_tensor_node<T>(
      "mean", std::move(out), {x},
      [x = Tensor<T>(x), plan, count](TensorGrad<T>& grad, Backward<T>& backward) {
        if (grad.is_uniform()) {
          backward.add_uniform(x, T(grad.fill() / count));
        } else {
          backward.add(x, detail::spread(grad, x.shape(), plan,
                                         T(T(1) / count)));
        }
      });
}

template <class T>
Tensor<T> mean(const Tensor<T>& x, std::ptrdiff_t axis, bool keepdim = false) {
  return mean(x, Axes{axis}, keepdim);
}

/// Largest element, as a scalar node.
template <class T>
Var<T> max(const Tensor<T>& x) {
  return detail::extreme(x, true);
}

/// Smallest element, as a scalar node.
template <class T>
Var<T> min(const Tensor<T>& x) {
  return detail::extreme(x, false);
}

template <class T>
Tensor<T> max(const Tensor<T>& x, const Axes& axes, bool keepdim = false) {
  return detail::extreme(x, axes, keepdim, true);
}

template <class T>
Tensor<T> max(const Tensor<T>& x, std::ptrdiff_t axis, bool keepdim = false) {
  return detail::extreme(x, Axes{axis}, keepdim, true);
}

template <class T>
Tensor<T> min(const Tensor<T>& x, const Axes& axes, bool keepdim = false) {
  return detail::extreme(x, axes, keepdim, false);
}

template <class T>
Tensor<T> min(const Tensor<T>& x, std::ptrdiff_t axis, bool keepdim = false) {
  return detail::extreme(x, Axes{axis}, keepdim, false);
}

namespace detail {

/// The shift of a stable log-sum-exp: the largest element, or 0 when that
/// is infinite (torch.logsumexp does the same).
template <class T>
T logsumexp_shift(const T& largest) {
  using std::isinf;
  return isinf(largest) ? T(0) : largest;
}

}  // namespace detail

/// log(sum(exp(x))) over every element, as a scalar node; -inf for an empty
/// tensor.
template <class T>
Var<T> logsumexp(const Tensor<T>& x) {
  using std::exp;
  using std::log;
  const std::size_t n = x.numel();
  const T* v = x.data();
  const T shift =
      n == 0 ? T(0)
             : detail::logsumexp_shift(detail::extreme_of(v, n, true));
  const T total = detail::sum_of<T>(
      n, [v, &shift](std::size_t i) { return T(exp(T(v[i] - shift))); });
  const T y = T(log(total)) + shift;
  return make_scalar_node<T>(
      "logsumexp", y, {x}, [x = Tensor<T>(x), y](const T& adjoint, Backward<T>& backward) {
        using std::exp;
        const T* v = x.data();
        detail::Buffer<T> g(x.numel());
        for (std::size_t i = 0; i < x.numel(); ++i) {
          g[i] = T(adjoint * exp(T(v[i] - y)));
        }
        backward.add(x, std::move(g));
      });
}

/// log(sum(exp(x))) over `axes`.
template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, const Axes& axes,
                    bool keepdim = false) {
  using std::exp;
  using std::log;
  const detail::Reduction plan =
      detail::plan_reduction(x.shape(), axes, keepdim, "logsumexp");
  const std::size_t m = plan.result.numel();
  std::vector<T> shift(m, -std::numeric_limits<T>::infinity());
  const T* v = x.data();
  detail::for_each_reduced(x.shape(), plan, [&](std::size_t i, std::size_t io) {
    if (v[i] > shift[io] || v[i] != v[i]) shift[io] = v[i];
  });
  for (T& s : shift) s = detail::logsumexp_shift(s);
  detail::TensorState<T> out(plan.result);
  std::fill_n(out.data, m, T(0));
  detail::for_each_reduced(x.shape(), plan, [&](std::size_t i, std::size_t io) {
    out.data[io] += exp(T(v[i] - shift[io]));
  });
  for (std::size_t io = 0; io < m; ++io) {
    out.data[io] = T(log(out.data[io])) + shift[io];
  }
  return make_tensor_node<T>(
      "logsumexp", std::move(out), {x},
      [x = Tensor<T>(x), plan](TensorGrad<T>& grad, Backward<T>& backward) {
        using std::exp;
        const T* v = x.data();
        const T* y = grad.result();
        detail::Buffer<T> g(x.numel());
        detail::for_each_reduced(
            x.shape(), plan, [&](std::size_t i, std::size_t io) {
              g[i] = detail::times(grad[io], T(exp(T(v[i] - y[io]))));
            });
        backward.add(x, std::move(g));
      });
}

template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, std::ptrdiff_t axis,
                    bool keepdim = false) {
  return logsumexp(x, Axes{axis}, keepdim);
}

}  // namespace adjoint
