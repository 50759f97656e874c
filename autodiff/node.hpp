#pragma once

// The mechanism every scalar operator is built on, built-in or user-defined.
//
// An operator computes its value and its local partial derivatives from the
// operands' values, then calls make_node(). make_node() records the node only
// when recording is on and some operand requires a gradient; otherwise it
// returns a constant and records nothing. For example:
//
//   template <class T>
//   adjoint::Var<T> cube(const adjoint::Var<T>& x) {
//     const T& v = x.value();
//     return adjoint::make_node("cube", T(v * v * v), {x, T(3 * v * v)});
//   }
//
// Taking the operand as a forwarding reference (`template <AnyVar V>
// cube(V&& x)` and `{std::forward<V>(x), ...}`) also lets make_node() fold
// the operation into the record of a temporary operand.

#include <concepts>
#include <span>
#include <type_traits>
#include <vector>

#include "autodiff/tape.hpp"
#include "autodiff/var.hpp"

namespace adjoint {

namespace detail {
template <class>
inline constexpr bool is_var = false;
template <class T>
inline constexpr bool is_var<Var<T>> = true;
}  // namespace detail

/// A Var of any scalar type, const or not, lvalue or rvalue. Operators take
/// their Var operands as `AnyVar auto&&` so that a temporary operand can be
/// fused into the new operation (see Tape::fuse).
template <class V>
concept AnyVar = detail::is_var<std::remove_cvref_t<V>>;

/// The scalar type of a Var operand.
template <AnyVar V>
using ScalarOf = typename std::remove_cvref_t<V>::value_type;

/// Two Var operands of the same scalar type.
template <class A, class B>
concept VarPair =
    AnyVar<A> && AnyVar<B> && std::same_as<ScalarOf<A>, ScalarOf<B>>;

/// An operand of a new node and the node's partial derivative with respect
/// to it. An operand made from an rvalue Var is expiring: make_node() may
/// fold the new operation into its record instead of adding one.
template <class T>
struct Operand {
  Operand(const Var<T>& operand, T local_partial)
      : var(operand), partial(std::move(local_partial)) {}
  Operand(Var<T>&& operand, T local_partial)
      : var(operand), partial(std::move(local_partial)), expiring(&operand) {}

  const Var<T>& var;
  T partial;
  Var<T>* expiring = nullptr;
};

namespace detail {

/// Records a node when recording is off or a graph log is attached on this
/// thread: returns a constant, or records the node without folding it into
/// an operand's record and reports it to the tape's log. Every operand
/// requires a gradient.
template <class T>
[[gnu::noinline]] Var<T> make_node_unfused(
    const char* operation, T value, std::span<const Var<T>* const> operands,
    std::span<const T> partials) {
  if (!is_grad_enabled()) return Var<T>::constant(std::move(value));
  Tape<T>& tape = Tape<T>::active();
  std::vector<std::uint32_t> indices;
  indices.reserve(operands.size());
  for (const Var<T>* operand : operands) {
    indices.push_back(tape.resolve(*operand, operation));
  }
  tape.reserve_record(indices.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    tape.push_operand(indices[k], partials[k]);
  }
  const std::uint32_t node = tape.finish_node();
  if (GraphLog<T>* log = tape.graph_log()) {
    log->scalar(node, operation, value, indices, partials);
  }
  return Var<T>::node(std::move(value), node, tape.epoch());
}

}  // namespace detail

/// Records a node with one operand and returns it.
template <class T>
[[gnu::always_inline]] inline Var<T> make_node(const char* operation, T value,
                                               const Operand<T>& x) {
  if (!x.var.requires_grad()) return Var<T>::constant(std::move(value));
  // One comparison for "recording on, no graph log attached".
  if (detail::recording_state() != detail::recording) [[unlikely]] {
    const Var<T>* operands[] = {&x.var};
    return detail::make_node_unfused<T>(operation, std::move(value), operands,
                                        {&x.partial, 1});
  }
  Tape<T>& tape = Tape<T>::active();
  const std::uint32_t ix = tape.resolve(x.var, operation);
  tape.reserve_record(1);
  if (x.expiring) {
    if (const auto node = tape.fuse(*x.expiring, x.partial)) {
      return Var<T>::node(std::move(value), *node, tape.epoch());
    }
  }
  tape.push_operand(ix, x.partial);
  return Var<T>::node(std::move(value), tape.finish_node(), tape.epoch());
}

/// Records a node with two operands and returns it. Either operand may be a
/// constant, which is not recorded.
template <class T>
[[gnu::always_inline]] inline Var<T> make_node(const char* operation, T value,
                                               const Operand<T>& x,
                                               const Operand<T>& y) {
  if (!x.var.requires_grad()) return make_node(operation, std::move(value), y);
  if (!y.var.requires_grad()) return make_node(operation, std::move(value), x);
  if (detail::recording_state() != detail::recording) [[unlikely]] {
    const Var<T>* operands[] = {&x.var, &y.var};
    const T partials[] = {x.partial, y.partial};
    return detail::make_node_unfused<T>(operation, std::move(value), operands,
                                        partials);
  }
  Tape<T>& tape = Tape<T>::active();
  const std::uint32_t ix = tape.resolve(x.var, operation);
  const std::uint32_t iy = tape.resolve(y.var, operation);
  tape.reserve_record(2);
  if (ix != iy) {
    // Fold into whichever operand is the last record; y usually is.
    if (y.expiring) {
      if (const auto node = tape.fuse(*y.expiring, y.partial, ix, x.partial)) {
        return Var<T>::node(std::move(value), *node, tape.epoch());
      }
    }
    if (x.expiring) {
      if (const auto node = tape.fuse(*x.expiring, x.partial, iy, y.partial)) {
        return Var<T>::node(std::move(value), *node, tape.epoch());
      }
    }
  }
  tape.push_operand(ix, x.partial);
  tape.push_operand(iy, y.partial);
  return Var<T>::node(std::move(value), tape.finish_node(), tape.epoch());
}

/// Records a node with any number of operands; `partials[i]` is the partial
/// derivative with respect to `operands[i]`.
template <class T>
Var<T> make_node(const char* operation, T value,
                 std::span<const Var<T>> operands,
                 std::span<const T> partials) {
  if (operands.size() != partials.size()) {
    throw std::invalid_argument(fmt::format(
        "{}: {} operands but {} partial derivatives; pass one partial per "
        "operand",
        operation, operands.size(), partials.size()));
  }
  if (!is_grad_enabled()) return Var<T>::constant(std::move(value));
  Tape<T>& tape = Tape<T>::active();
  bool any = false;
  for (const Var<T>& operand : operands) {
    if (operand.requires_grad()) {
      tape.resolve(operand, operation);
      any = true;
    }
  }
  if (!any) return Var<T>::constant(std::move(value));
  if (tape.graph_log() != nullptr) {
    std::vector<const Var<T>*> recorded;
    std::vector<T> recorded_partials;
    for (std::size_t i = 0; i < operands.size(); ++i) {
      if (operands[i].requires_grad()) {
        recorded.push_back(&operands[i]);
        recorded_partials.push_back(partials[i]);
      }
    }
    return detail::make_node_unfused<T>(operation, std::move(value), recorded,
                                        recorded_partials);
  }
  tape.reserve_record(operands.size());
  for (std::size_t i = 0; i < operands.size(); ++i) {
    if (operands[i].requires_grad()) {
      tape.push_operand(tape.resolve(operands[i], operation), partials[i]);
    }
  }
  return Var<T>::node(std::move(value), tape.finish_node(), tape.epoch());
}

}  // namespace adjoint
