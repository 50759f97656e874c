#pragma once

// The shape of a dense tensor, and NumPy's broadcasting rules.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <stdexcept>

namespace adjoint {

/// The extents of a tensor, outermost first. Up to max_rank dimensions are
/// stored inline, so making or copying a shape never allocates.
class Shape {
 public:
  static constexpr std::size_t max_rank = 8;

  /// The shape of a 0-dimensional tensor (one element).
  Shape() = default;

  template <std::integral I>
  Shape(std::initializer_list<I> extents)
      : Shape(std::span<const I>(extents.begin(), extents.size())) {}

  template <std::integral I>
  explicit Shape(std::span<const I> extents) {
    if (extents.size() > max_rank) {
      throw std::invalid_argument(fmt::format(
          "Shape: {} dimensions requested, at most {} are supported; reshape "
          "to fewer dimensions",
          extents.size(), max_rank));
    }
    for (const I extent : extents) {
      if constexpr (std::is_signed_v<I>) {
        if (extent < 0) {
          throw std::invalid_argument(fmt::format(
              "Shape: negative extent {} in [{}]; every extent must be >= 0",
              extent, fmt::join(extents, ", ")));
        }
      }
      dims_[rank_++] = static_cast<std::size_t>(extent);
    }
  }

  std::size_t rank() const { return rank_; }

  /// Extent of dimension `i` (0 is the outermost).
  std::size_t operator[](std::size_t i) const { return dims_[i]; }
  std::size_t& operator[](std::size_t i) { return dims_[i]; }

  /// Number of elements: the product of the extents, 1 for rank 0. See
  /// checked_numel() for a product that may overflow.
  std::size_t numel() const {
    std::size_t n = 1;
    for (std::size_t i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }

  const std::size_t* begin() const { return dims_.data(); }
  const std::size_t* end() const { return dims_.data() + rank_; }

  /// Appends an extent.
  void push_back(std::size_t extent) {
    if (rank_ == max_rank) {
      throw std::invalid_argument(fmt::format(
          "Shape: more than {} dimensions are not supported", max_rank));
    }
    dims_[rank_++] = extent;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (std::size_t i = 0; i < a.rank_; ++i) {
      if (a.dims_[i] != b.dims_[i]) return false;
    }
    return true;
  }

 private:
  std::array<std::size_t, max_rank> dims_{};
  std::size_t rank_ = 0;
};

/// Returns the number of elements of `shape`, and raises
/// std::invalid_argument naming `operation` when that number, or the bytes
/// of as many elements of `element_size` bytes, does not fit in size_t.
inline std::size_t checked_numel(const Shape& shape, std::size_t element_size,
                                 const char* operation) {
  std::size_t n = 1;
  bool zero = false;
  bool overflow = false;
  for (std::size_t extent : shape) {
    if (extent == 0) zero = true;
    if (extent != 0 && n > std::numeric_limits<std::size_t>::max() / extent) {
      overflow = true;
    }
    n *= extent;
  }
  if (zero) return 0;
  if (overflow || n > std::numeric_limits<std::size_t>::max() / element_size) {
    throw std::invalid_argument(fmt::format(
        "{}: shape [{}] has more elements than memory can address; use "
        "smaller extents",
        operation, fmt::join(shape, ", ")));
  }
  return n;
}

/// Element strides of a contiguous row-major tensor of `shape`.
inline std::array<std::size_t, Shape::max_rank> strides_of(const Shape& shape) {
  std::array<std::size_t, Shape::max_rank> strides{};
  std::size_t stride = 1;
  for (std::size_t i = shape.rank(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

/// Resolves an axis that may count from the end (-1 is the last) against a
/// tensor of rank `rank`. `operation` names the caller in the error.
inline std::size_t normalize_axis(std::ptrdiff_t axis, std::size_t rank,
                                  const char* operation) {
  const auto r = static_cast<std::ptrdiff_t>(rank);
  if (rank == 0) {
    throw std::invalid_argument(fmt::format(
        "{}: axis {} given for a tensor of rank 0, which has no axes; "
        "reshape it to [1] first",
        operation, axis));
  }
  if (axis < -r || axis >= r) {
    throw std::invalid_argument(fmt::format(
        "{}: axis {} is out of range for a tensor of rank {}; use an axis in "
        "[{}, {}]",
        operation, axis, rank, -r, r - 1));
  }
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

}  // namespace adjoint

/// Formats a shape as [2, 3].
template <>
struct fmt::formatter<adjoint::Shape> {
  constexpr auto parse(format_parse_context& context) { return context.begin(); }
  auto format(const adjoint::Shape& shape, format_context& context) const {
    return fmt::format_to(context.out(), "[{}]", fmt::join(shape, ", "));
  }
};

namespace adjoint {

/// The shape that `a` and `b` broadcast to under NumPy's rules: extents are
/// matched from the last dimension, and each pair must be equal or contain a
/// 1. Raises std::invalid_argument naming `operation` and both shapes.
inline Shape broadcast_shapes(const Shape& a, const Shape& b,
                              const char* operation) {
  const std::size_t rank = std::max(a.rank(), b.rank());
  Shape result;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t ai = i + a.rank() < rank ? 1 : a[i + a.rank() - rank];
    const std::size_t bi = i + b.rank() < rank ? 1 : b[i + b.rank() - rank];
    if (ai != bi && ai != 1 && bi != 1) {
      throw std::invalid_argument(fmt::format(
          "{}: shapes {} and {} do not broadcast (dimension {} from the end "
          "is {} against {}); extents must match or one must be 1",
          operation, a, b, rank - i, ai, bi));
    }
    result.push_back(ai == 1 ? bi : ai);
  }
  return result;
}

namespace detail {

/// Strides for reading a tensor of shape `from` as if it had the broadcast
/// shape `to`: 0 along every broadcast dimension.
inline std::array<std::size_t, Shape::max_rank> broadcast_strides(
    const Shape& from, const Shape& to) {
  std::array<std::size_t, Shape::max_rank> result{};
  const std::array<std::size_t, Shape::max_rank> own = strides_of(from);
  const std::size_t offset = to.rank() - from.rank();
  for (std::size_t i = 0; i < from.rank(); ++i) {
    result[i + offset] = from[i] == 1 ? 0 : own[i];
  }
  return result;
}

/// Calls f(i, ia, ib) for every element i of a row-major tensor of `shape`,
/// where ia and ib are the offsets given by the strides `sa` and `sb`. The
/// innermost dimension is a plain loop.
template <class F>
void for_each_broadcast(const Shape& shape,
                        const std::array<std::size_t, Shape::max_rank>& sa,
                        const std::array<std::size_t, Shape::max_rank>& sb,
                        F&& f) {
  const std::size_t n = shape.numel();
  if (n == 0) return;
  if (shape.rank() == 0) {
    f(std::size_t{0}, std::size_t{0}, std::size_t{0});
    return;
  }
  const std::size_t last = shape.rank() - 1;
  const std::size_t inner = shape[last];
  const std::size_t step_a = sa[last];
  const std::size_t step_b = sb[last];
  std::array<std::size_t, Shape::max_rank> counter{};
  std::size_t ia = 0;
  std::size_t ib = 0;
  for (std::size_t i = 0; i < n; i += inner) {
    for (std::size_t k = 0; k < inner; ++k) {
      f(i + k, ia + k * step_a, ib + k * step_b);
    }
    // Advance the odometer over the outer dimensions.
    for (std::size_t d = last; d-- > 0;) {
      ia += sa[d];
      ib += sb[d];
      if (++counter[d] < shape[d]) break;
      ia -= sa[d] * shape[d];
      ib -= sb[d] * shape[d];
      counter[d] = 0;
    }
  }
}

}  // namespace detail
}  // namespace adjoint
