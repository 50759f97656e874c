#pragma once

#include <compare>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "autodiff/error.hpp"
#include "autodiff/tape.hpp"

namespace adjoint {

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
/// A Var belongs to the thread that made it.
template <class T>
class Var {
 public:
  using value_type = T;

  /// A constant zero.
  Var() = default;

  /// A parameter with the given starting value.
  explicit Var(T value) : leaf_(new detail::LeafState<T>{std::move(value)}) {}

  Var(const Var& other)
      : value_(other.value_),
        leaf_(other.leaf_),
        index_(other.index_),
        epoch_(other.epoch_) {
    if (leaf_) ++leaf_->references;
  }

  Var(Var&& other) noexcept
      : value_(std::move(other.value_)),
        leaf_(std::exchange(other.leaf_, nullptr)),
        index_(other.index_),
        epoch_(other.epoch_) {}

  Var& operator=(const Var& other) {
    Var copy(other);
    swap(copy);
    return *this;
  }

  Var& operator=(Var&& other) noexcept {
    Var moved(std::move(other));
    swap(moved);
    return *this;
  }

  ~Var() {
    if (leaf_) detail::release(leaf_);
  }

  /// A constant: no gradient flows through it.
  static Var constant(T value) {
    Var result;
    result.value_ = std::move(value);
    return result;
  }

  /// Makes an intermediate node; used by make_node().
  static Var node(T value, std::uint32_t index, std::uint32_t epoch) {
    Var result;
    result.value_ = std::move(value);
    result.index_ = index;
    result.epoch_ = epoch;
    return result;
  }

  const T& value() const { return leaf_ ? leaf_->value : value_; }

  bool is_leaf() const { return leaf_ != nullptr; }
  bool is_constant() const { return !leaf_ && epoch_ == 0; }
  bool requires_grad() const { return !is_constant(); }

  /// The accumulated gradient of a parameter. Only parameters keep one:
  /// intermediate nodes and constants raise graph_error.
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
    if (epoch_ != tape.epoch()) {
      throw graph_error(
          "backward: the graph behind this node was released, either by an "
          "earlier backward() or by Tape::clear(); to call backward() again "
          "on the same graph, pass adjoint::retain_graph to the earlier "
          "calls, or recompute the value");
    }
    tape.sweep(index_);
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

  static std::partial_ordering compare(const T& a, const T& b) {
    if (a < b) return std::partial_ordering::less;
    if (b < a) return std::partial_ordering::greater;
    if (a == b) return std::partial_ordering::equivalent;
    return std::partial_ordering::unordered;
  }

  void check_leaf(const char* operation) const {
    if (leaf_) [[likely]] return;
    throw graph_error(fmt::format(
        "{}: only parameters (made with Var<T>{{value}}) have a gradient, "
        "but this Var is {}",
        operation, is_constant() ? "a constant" : "an intermediate node"));
  }

  T value_{0};                          // unused for parameters
  detail::LeafState<T>* leaf_ = nullptr;  // set for parameters only
  std::uint32_t index_ = 0;             // node index, for intermediate nodes
  std::uint32_t epoch_ = 0;             // 0 for constants and parameters
};

/// A constant of the given value.
template <class T>
Var<T> constant(T value) {
  return Var<T>::constant(std::move(value));
}

template <class T>
std::uint32_t Tape<T>::resolve(const Var<T>& operand, const char* operation) {
  if (detail::LeafState<T>* leaf = operand.leaf_) {
    if (leaf->epoch != epoch_) {
      leaf->node = finish_node();
      leaf->epoch = epoch_;
      ++leaf->references;
      leaves_.push_back(leaf);
    }
    return leaf->node;
  }
  if (operand.epoch_ != epoch_) [[unlikely]] {
    throw graph_error(fmt::format(
        "{}: an operand belongs to a graph that was released (by backward() "
        "or Tape::clear()) or to another thread; recompute it, or use "
        "detach() to keep its value as a constant",
        operation));
  }
  return operand.index_;
}

}  // namespace adjoint

/// Formats a Var as its value, with the format spec of T.
template <class T>
struct fmt::formatter<adjoint::Var<T>> : fmt::formatter<T> {
  auto format(const adjoint::Var<T>& v, format_context& context) const {
    return fmt::formatter<T>::format(v.value(), context);
  }
};
