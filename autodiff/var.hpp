#pragma once

#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <span>
#include <utility>

#include "autodiff/error.hpp"
#include "autodiff/tape.hpp"

namespace adjoint {

template <class T>
class GraphRecorder;

/// Tag for backward() that keeps the graph for another backward() call.
struct RetainGraph {
  bool value = false;
};
inline constexpr RetainGraph retain_graph{true};

/// A scalar node of the reverse-mode graph.
///
/// A Var is one of three things:
/// - a parameter (leaf), made by `Var<T>{value}`: it has a gradient, which
///   backward() adds to and zero_grad() clears. Copies of a parameter share
///   its value and gradient, as PyTorch tensors do.
/// - an intermediate node, the result of an operation on a parameter or on
///   another node while recording is on. It refers to the tape of the thread
///   that made it and is valid until that graph is released.
/// - a constant: `Var<T>()`, `constant(value)`, `detach()`, or any result
///   computed from constants only or inside a NoGradGuard.
///
/// An intermediate node belongs to the thread that recorded it. A parameter
/// may be used by several threads one after another, never at once: its
/// reference count and gradient are not synchronised.
template <class T>
class Var {
 public:
  using value_type = T;

  /// A constant zero.
  Var() = default;

  /// A parameter with the given starting value.
  explicit Var(T value) : leaf_(new detail::LeafState<T>{std::move(value)}) {}

  /// Copies the handle. Both handles are marked shared, so that no
  /// operation on one of them rewrites the node the other refers to.
  Var(const Var& other)
      : value_(other.value_),
        leaf_(other.leaf_),
        index_(other.index_ |= shared_bit),
        epoch_(other.epoch_) {
    if (leaf_) ++leaf_->references;
  }

  /// Moves the handle. The moved-from Var keeps its value, but using it in
  /// an operation raises graph_error.
  Var(Var&& other) noexcept
      : value_(other.value()),
        leaf_(std::exchange(other.leaf_, nullptr)),
        index_(other.index_),
        epoch_(other.epoch_) {
    if (leaf_) other.value_ = value_;
    if (requires_grad()) other.epoch_ = detail::expired_epoch;
  }

  Var& operator=(const Var& other) {
    Var copy(other);
    swap(copy);
    return *this;
  }

  Var& operator=(Var&& other) noexcept {
    if (this == &other) return *this;
    if (leaf_) detail::release(leaf_);
    value_ = other.value();
    leaf_ = std::exchange(other.leaf_, nullptr);
    index_ = other.index_;
    epoch_ = other.epoch_;
    if (leaf_) other.value_ = value_;
    if (requires_grad()) other.epoch_ = detail::expired_epoch;
    return *this;
  }

  ~Var() {
    if (leaf_) detail::release(leaf_);
  }

  /// A constant: no gradient flows through it.
  static Var constant(T value) { return Var(std::move(value), 0, 0); }

  /// Makes an intermediate node; used by make_node().
  static Var node(T value, std::uint32_t index, std::uint32_t epoch) {
    return Var(std::move(value), index, epoch);
  }

  /// Makes an intermediate node that no later operation folds into. A
  /// tensor reduction returns one, because its tensor record reads the
  /// node's adjoint, which must stay the adjoint of the reduction itself.
  static Var pinned_node(T value, std::uint32_t index, std::uint32_t epoch) {
    return Var(std::move(value), index | shared_bit, epoch);
  }

  const T& value() const { return leaf_ ? leaf_->value : value_; }

  bool is_leaf() const { return leaf_ != nullptr; }

  /// Returns an address that identifies a parameter: copies of one
  /// parameter return the same address. nullptr for other Vars.
  const void* parameter_id() const { return leaf_; }
  bool is_constant() const { return !leaf_ && epoch_ == 0; }
  bool requires_grad() const { return !is_constant(); }

  /// Returns the accumulated gradient of a parameter. Only parameters keep
  /// one, so intermediate nodes and constants raise graph_error.
  const T& grad() const {
    check_leaf("grad");
    return leaf_->grad;
  }

  void zero_grad() {
    check_leaf("zero_grad");
    leaf_->grad = T(0);
  }

  /// Sets the value of a parameter, for example in an optimizer step.
  void set_value(T value) {
    check_leaf("set_value");
    leaf_->value = std::move(value);
  }

  /// Returns the value of a parameter as an array of one element, so that an
  /// optimizer can treat Var and Tensor parameters alike.
  std::span<T> mutable_values() {
    check_leaf("mutable_values");
    return {&leaf_->value, 1};
  }

  /// Returns the gradient of a parameter as an array of one element.
  std::span<const T> grad_values() const {
    check_leaf("grad_values");
    return {&leaf_->grad, 1};
  }

  /// Returns the gradient of a parameter as an array of one element that a
  /// caller may change, for example to clip it before an optimizer step.
  std::span<T> mutable_grad_values() {
    check_leaf("mutable_grad_values");
    return {&leaf_->grad, 1};
  }

  /// Returns this node's value as a constant.
  Var detach() const { return constant(value()); }

  /// Adds d(this)/d(p) to the gradient of every parameter p this node
  /// depends on.
  ///
  /// By default the call releases this thread's graph for T (every node
  /// recorded since the last release), so memory does not grow across
  /// training steps, and a second backward() on the same graph raises
  /// graph_error. Pass retain_graph to keep the graph; each later call then
  /// adds the same gradients again, exactly.
  void backward(RetainGraph retain = {}) const {
    if (leaf_) {
      leaf_->grad += T(1);
      return;
    }
    if (is_constant()) {
      throw graph_error(
          "backward: this value depends on no parameter (it is a constant, a "
          "detach() result or was computed under NoGradGuard); make the "
          "inputs parameters with Var<T>{value}");
    }
    Tape<T>& tape = Tape<T>::active();
    if (epoch_ == detail::expired_epoch) {
      throw graph_error(
          "backward: this handle was moved from, or was a temporary folded "
          "into a later operation; call backward() on the handle that holds "
          "the result");
    }
    if (epoch_ != tape.epoch() || index() >= tape.size()) {
      throw graph_error(
          "backward: the graph behind this node was released, either by an "
          "earlier backward() or by Tape::clear(); to call backward() again "
          "on the same graph, pass adjoint::retain_graph to the earlier "
          "calls, or recompute the value");
    }
    tape.sweep(index());
    if (!retain.value) tape.clear();
  }

  void swap(Var& other) noexcept {
    using std::swap;
    swap(value_, other.value_);
    swap(leaf_, other.leaf_);
    swap(index_, other.index_);
    swap(epoch_, other.epoch_);
  }

  // Comparisons compare values and record nothing.
  friend bool operator==(const Var& a, const Var& b) {
    return a.value() == b.value();
  }
  friend bool operator==(const Var& a, const T& b) { return a.value() == b; }
  friend std::partial_ordering operator<=>(const Var& a, const Var& b) {
    return compare(a.value(), b.value());
  }
  friend std::partial_ordering operator<=>(const Var& a, const T& b) {
    return compare(a.value(), b);
  }

 private:
  friend class Tape<T>;
  friend class GraphRecorder<T>;

  Var(T value, std::uint32_t index, std::uint32_t epoch)
      : value_(std::move(value)), index_(index), epoch_(epoch) {}

  static std::partial_ordering compare(const T& a, const T& b) {
    if (a < b) return std::partial_ordering::less;
    if (b < a) return std::partial_ordering::greater;
    if (a == b) return std::partial_ordering::equivalent;
    return std::partial_ordering::unordered;
  }

  static constexpr std::uint32_t shared_bit = 1u << 31;

  std::uint32_t index() const { return index_ & ~shared_bit; }
  bool is_shared() const { return (index_ & shared_bit) != 0; }

  void check_leaf(const char* operation) const {
    if (leaf_) [[likely]]
      return;
    const char* kind = is_constant() ? "a constant"
                       : epoch_ == detail::expired_epoch
                           ? "moved from"
                           : "an intermediate node";
    throw graph_error(fmt::format(
        "{}: only parameters (made with Var<T>{{value}}) have a gradient, "
        "but this Var is {}",
        operation, kind));
  }

  T value_{0};                            // unused for parameters
  detail::LeafState<T>* leaf_ = nullptr;  // set for parameters only
  // Node index of an intermediate node, with shared_bit set once the handle
  // has been copied. Mutable because copying marks the source too.
  mutable std::uint32_t index_ = 0;
  // Epoch of the graph an intermediate node belongs to; 0 for constants and
  // parameters, detail::expired_epoch for a moved-from or fused handle.
  std::uint32_t epoch_ = 0;
};

/// A constant of the given value.
template <class T>
Var<T> constant(T value) {
  return Var<T>::constant(std::move(value));
}

template <class T>
inline std::uint32_t Tape<T>::resolve(const Var<T>& operand,
                                      const char* operation) {
  if (detail::LeafState<T>* leaf = operand.leaf_) {
    if (leaf->epoch != epoch_) [[unlikely]]
      add_leaf(leaf);
    return leaf->node;
  }
  // The index check also catches a handle whose epoch came round again
  // after 2^32 releases.
  if (operand.epoch_ != epoch_ || operand.index() >= size()) [[unlikely]]
    throw_released(operation);
  return operand.index();
}

template <class T>
void Tape<T>::pin(const Var<T>& operand) const {
  operand.index_ |= Var<T>::shared_bit;
}

template <class T>
inline std::optional<std::uint32_t> Tape<T>::fuse(Var<T>& expiring,
                                                  const T& factor) {
  const std::uint32_t node = expiring.index_;  // no shared_bit if fusable
  if (expiring.leaf_ || expiring.epoch_ != epoch_ || node + 1 != size() ||
      !rescale_last(offsets_[node], factor)) {
    return std::nullopt;
  }
  expiring.epoch_ = detail::expired_epoch;
  return node;
}

template <class T>
inline std::optional<std::uint32_t> Tape<T>::fuse(Var<T>& expiring,
                                                  const T& factor,
                                                  std::uint32_t extra_index,
                                                  const T& extra_partial) {
  const std::optional<std::uint32_t> node = fuse(expiring, factor);
  if (node) {
    push_operand(extra_index, extra_partial);
    offsets_.back() = static_cast<std::uint32_t>(codes_.size());
  }
  return node;
}

template <class T>
bool Tape<T>::rebuild_last(std::size_t begin, const T& factor) {
  // Units may turn into general partials, and a zero factor drops every
  // operand, as an unfused zero partial would.
  constexpr std::size_t max_rebuilt = 4;
  const std::size_t count = codes_.size() - begin;
  if (count > max_rebuilt) return false;
  std::uint32_t indices[max_rebuilt];
  T partials[max_rebuilt];
  std::size_t general = 0;
  for (std::size_t k = 0; k < count; ++k) {
    general += (codes_[begin + k] & detail::kind_mask) == detail::general;
  }
  std::size_t partial = partials_.size() - general;
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint32_t word = codes_[begin + k];
    indices[k] = word >> detail::kind_bits;
    switch (word & detail::kind_mask) {
      case detail::general:
        partials[k] = partials_[partial++];
        break;
      case detail::plus_one:
        partials[k] = T(1);
        break;
      default:
        partials[k] = T(-1);
        break;
    }
    if (factor != T(0)) {
      partials[k] *= factor;
      if (!detail::is_normal(partials[k])) return false;
    }
  }
  codes_.resize(begin);
  partials_.resize(partials_.size() - general);
  if (factor != T(0)) {
    for (std::size_t k = 0; k < count; ++k) {
      push_operand(indices[k], partials[k]);
    }
  }
  offsets_.back() = static_cast<std::uint32_t>(codes_.size());
  return true;
}

}  // namespace adjoint

/// Formats a Var as its value, with the format spec of T.
template <class T>
struct fmt::formatter<adjoint::Var<T>> : fmt::formatter<T> {
  auto format(const adjoint::Var<T>& v, format_context& context) const {
    return fmt::formatter<T>::format(v.value(), context);
  }
};
