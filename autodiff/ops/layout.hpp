#pragma once

// Operations that move values without computing on them: reshape, flatten,
// squeeze, unsqueeze, slice, index_select, concat and stack. Each gradient
// is the output's gradient moved back to where the values came from;
// index_select adds up the gradients of an index that is selected twice.
//
// reshape, flatten, squeeze and unsqueeze return views that share the
// input's values; the others copy.

#include <fmt/format.h>

#include <cstddef>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <vector>

#include "autodiff/elementwise.hpp"

namespace adjoint {
namespace detail {

/// A tensor with the values of x and another shape of as many elements.
template <class T>
Tensor<T> view(const Tensor<T>& x, const Shape& shape, const char* operation) {
  if (shape.numel() != x.numel()) {
    throw std::invalid_argument(fmt::format(
        "{}: shape {} has {} elements but the tensor of shape {} has {}; the "
        "number of elements must stay the same",
        operation, shape, shape.numel(), x.shape(), x.numel()));
  }
  TensorState<T> out(shape, const_cast<T*>(x.data()), x.values_owner());
  return make_tensor_node<T>(
      operation, std::move(out), {x},
      [x = Tensor<T>(x)](TensorGrad<T>& grad, Backward<T>& backward) {
        if (grad.is_uniform()) {
          backward.add_uniform(x, grad.fill());
        } else {
          backward.add(x, grad.take());
        }
      });
}

/// The input seen as [outer, extent, inner] around dimension `axis`.
struct AxisSplit {
  std::size_t outer = 1, extent = 1, inner = 1;
};

inline AxisSplit split_at(const Shape& shape, std::size_t axis) {
  AxisSplit s;
  for (std::size_t d = 0; d < axis; ++d) s.outer *= shape[d];
  s.extent = shape[axis];
  for (std::size_t d = axis + 1; d < shape.rank(); ++d) s.inner *= shape[d];
  return s;
}

/// Copies rows along an axis: output row j (of `inner` values, in each of
/// `outer` blocks) is input row rows[j]. The gradient adds back.
template <class T>
Tensor<T> gather_rows(const char* operation, const Tensor<T>& x,
                      std::size_t axis, std::vector<std::size_t> rows) {
  const AxisSplit in = split_at(x.shape(), axis);
  Shape shape = x.shape();
  shape[axis] = rows.size();
  TensorState<T> out(shape);
  const std::size_t count = rows.size();
  const T* v = x.data();
  for (std::size_t o = 0; o < in.outer; ++o) {
    for (std::size_t j = 0; j < count; ++j) {
      const T* from = v + (o * in.extent + rows[j]) * in.inner;
      std::copy(from, from + in.inner, out.data + (o * count + j) * in.inner);
    }
  }
  return make_tensor_node<T>(
      operation, std::move(out), {x},
      [x = Tensor<T>(x), in, rows = std::move(rows)](TensorGrad<T>& grad,
                                      Backward<T>& backward) {
        Buffer<T> g(x.numel());
        std::fill_n(g.data(), g.size(), T(0));
        const std::size_t count = rows.size();
        for (std::size_t o = 0; o < in.outer; ++o) {
          for (std::size_t j = 0; j < count; ++j) {
            T* to = g.data() + (o * in.extent + rows[j]) * in.inner;
            const std::size_t from = (o * count + j) * in.inner;
            for (std::size_t i = 0; i < in.inner; ++i) to[i] += grad[from + i];
          }
        }
        backward.add(x, std::move(g));
      });
}

}  // namespace detail

/// The values of x in a tensor of another shape with as many elements.
/// One extent may be -1; it is inferred.
template <class T>
Tensor<T> reshape(const Tensor<T>& x, std::initializer_list<std::ptrdiff_t> extents) {
  Shape shape;
  std::size_t known = 1;
  std::ptrdiff_t inferred = -1;
  for (const std::ptrdiff_t e : extents) {
    if (e == -1 && inferred < 0) {
      inferred = static_cast<std::ptrdiff_t>(shape.rank());
      shape.push_back(1);
    } else if (e < 0) {
      throw std::invalid_argument(fmt::format(
          "reshape: invalid extents [{}]; extents must be >= 0, with at most "
          "one -1 to infer",
          fmt::join(extents, ", ")));
    } else {
      shape.push_back(static_cast<std::size_t>(e));
    }
  }
  // Checks that the extents' product fits before it is divided.
  Shape given = shape;
  if (inferred >= 0) given[static_cast<std::size_t>(inferred)] = 1;
  known = checked_numel(given, sizeof(T), "reshape");
  if (inferred >= 0) {
    if (known == 0 || x.numel() % known != 0) {
      throw std::invalid_argument(fmt::format(
          "reshape: cannot infer the -1 in [{}] for the {} elements of shape "
          "{}",
          fmt::join(extents, ", "), x.numel(), x.shape()));
    }
    shape[static_cast<std::size_t>(inferred)] = x.numel() / known;
  }
  return detail::view(x, shape, "reshape");
}

template <class T>
Tensor<T> reshape(const Tensor<T>& x, const Shape& shape) {
  return detail::view(x, shape, "reshape");
}

/// The values of x as a vector.
template <class T>
Tensor<T> flatten(const Tensor<T>& x) {
  return detail::view(x, Shape{x.numel()}, "flatten");
}

/// Removes dimension `axis`, whose extent must be 1.
template <class T>
Tensor<T> squeeze(const Tensor<T>& x, std::ptrdiff_t axis) {
  const std::size_t a = normalize_axis(axis, x.rank(), "squeeze");
  if (x.shape()[a] != 1) {
    throw std::invalid_argument(fmt::format(
        "squeeze: dimension {} of shape {} has extent {}, not 1", axis,
        x.shape(), x.shape()[a]));
  }
  Shape shape;
  for (std::size_t d = 0; d < x.rank(); ++d) {
    if (d != a) shape.push_back(x.shape()[d]);
  }
  return detail::view(x, shape, "squeeze");
}

/// Inserts a dimension of extent 1 before dimension `axis` (-1 appends).
template <class T>
Tensor<T> unsqueeze(const Tensor<T>& x, std::ptrdiff_t axis) {
  const auto r = static_cast<std::ptrdiff_t>(x.rank());
  if (axis < -r - 1 || axis > r) {
    throw std::invalid_argument(fmt::format(
        "unsqueeze: axis {} is out of range for shape {}; use an axis in "
        "[{}, {}]",
        axis, x.shape(), -r - 1, r));
  }
  const std::size_t a = static_cast<std::size_t>(axis < 0 ? axis + r + 1 : axis);
  Shape shape;
  for (std::size_t d = 0; d <= x.rank(); ++d) {
    if (d == a) shape.push_back(1);
    if (d < x.rank()) shape.push_back(x.shape()[d]);
  }
  return detail::view(x, shape, "unsqueeze");
}

/// Elements start, start + step, ... before stop along `axis`, with
/// Python's rules: negative start and stop count from the end, and both
/// are clamped to the extent. step must be positive.
template <class T>
Tensor<T> slice(const Tensor<T>& x, std::ptrdiff_t axis, std::ptrdiff_t start,
                std::ptrdiff_t stop, std::ptrdiff_t step = 1) {
  const std::size_t a = normalize_axis(axis, x.rank(), "slice");
  if (step <= 0) {
    throw std::invalid_argument(
        fmt::format("slice: step {} must be positive", step));
  }
  const auto extent = static_cast<std::ptrdiff_t>(x.shape()[a]);
  const auto clamp_index = [extent](std::ptrdiff_t i) {
    if (i < 0) i += extent;
    return std::clamp<std::ptrdiff_t>(i, 0, extent);
  };
  std::vector<std::size_t> rows;
  const std::ptrdiff_t first = clamp_index(start);
  const std::ptrdiff_t last = clamp_index(stop);
  if (first < last) {
    // Counted rather than stepped, so that a huge step cannot overflow.
    const std::ptrdiff_t count = (last - first - 1) / step + 1;
    for (std::ptrdiff_t k = 0; k < count; ++k) {
      rows.push_back(static_cast<std::size_t>(first + k * step));
    }
  }
  return detail::gather_rows("slice", x, a, std::move(rows));
}

/// The entries `indices` along `axis`, in that order; an index may repeat.
template <class T>
Tensor<T> index_select(const Tensor<T>& x, std::ptrdiff_t axis,
                       std::span<const std::size_t> indices) {
  const std::size_t a = normalize_axis(axis, x.rank(), "index_select");
  for (const std::size_t i : indices) {
    if (i >= x.shape()[a]) {
      throw std::invalid_argument(fmt::format(
          "index_select: index {} is out of range for dimension {} of shape "
          "{}",
          i, axis, x.shape()));
    }
  }
  return detail::gather_rows(
      "index_select", x, a,
      std::vector<std::size_t>(indices.begin(), indices.end()));
}

template <class T>
Tensor<T> index_select(const Tensor<T>& x, std::ptrdiff_t axis,
                       std::initializer_list<std::size_t> indices) {
  return index_select(x, axis,
                      std::span<const std::size_t>(indices.begin(), indices.size()));
}

/// Joins tensors along an existing axis; all other extents must agree.
template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& parts, std::ptrdiff_t axis = 0) {
  if (parts.empty()) {
    throw std::invalid_argument(
        "concat: no tensors to join; pass at least one");
  }
  const Shape& first = parts[0].shape();
  const std::size_t a = normalize_axis(axis, first.rank(), "concat");
  Shape shape = first;
  shape[a] = 0;
  for (const Tensor<T>& part : parts) {
    const Shape& s = part.shape();
    bool fits = s.rank() == first.rank();
    for (std::size_t d = 0; fits && d < s.rank(); ++d) {
      fits = d == a || s[d] == first[d];
    }
    if (!fits) {
      throw std::invalid_argument(fmt::format(
          "concat: shapes {} and {} differ outside axis {}; every other "
          "extent must agree",
          first, s, axis));
    }
    shape[a] += s[a];
  }
  detail::TensorState<T> out(shape);
  const detail::AxisSplit whole = detail::split_at(shape, a);
  std::size_t offset = 0;  // rows of the output filled so far
  for (const Tensor<T>& part : parts) {
    const std::size_t rows = part.shape()[a];
    for (std::size_t o = 0; o < whole.outer; ++o) {
      const T* from = part.data() + o * rows * whole.inner;
      std::copy(from, from + rows * whole.inner,
                out.data + (o * whole.extent + offset) * whole.inner);
    }
    offset += rows;
  }
  return make_tensor_node<T>(
      "concat", std::move(out), std::span<const Tensor<T>>(parts),
      [parts = std::vector<Tensor<T>>(parts), whole, a](TensorGrad<T>& grad, Backward<T>& backward) {
        std::size_t offset = 0;
        for (const Tensor<T>& part : parts) {
          const std::size_t rows = part.shape()[a];
          if (part.requires_grad()) {
            detail::Buffer<T> g(part.numel());
            for (std::size_t o = 0; o < whole.outer; ++o) {
              const std::size_t from = (o * whole.extent + offset) * whole.inner;
              for (std::size_t i = 0; i < rows * whole.inner; ++i) {
                g[o * rows * whole.inner + i] = grad[from + i];
              }
            }
            backward.add(part, std::move(g));
          }
          offset += rows;
        }
      });
}

/// Joins tensors of one shape along a new axis.
template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& parts, std::ptrdiff_t axis = 0) {
  if (parts.empty()) {
    throw std::invalid_argument("stack: no tensors to join; pass at least one");
  }
  const auto r = static_cast<std::ptrdiff_t>(parts[0].rank());
  if (axis < -r - 1 || axis > r) {
    throw std::invalid_argument(fmt::format(
        "stack: axis {} is out of range for tensors of shape {}; use an axis "
        "in [{}, {}]",
        axis, parts[0].shape(), -r - 1, r));
  }
  std::vector<Tensor<T>> expanded;
  expanded.reserve(parts.size());
  for (const Tensor<T>& part : parts) {
    if (part.shape() != parts[0].shape()) {
      throw std::invalid_argument(fmt::format(
          "stack: shapes {} and {} differ; stacked tensors must have one "
          "shape",
          parts[0].shape(), part.shape()));
    }
    expanded.push_back(unsqueeze(part, axis));
  }
  return concat(expanded, axis);
}

}  // namespace adjoint
