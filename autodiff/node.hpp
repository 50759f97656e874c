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

#include <span>

#include "autodiff/tape.hpp"
#include "autodiff/var.hpp"

namespace adjoint {

/// An operand of a new node and the node's partial derivative with respect
/// to it.
template <class T>
struct Operand {
  const Var<T>& var;
  T partial;
};

/// Records a node with one operand and returns it.
template <class T>
Var<T> make_node(const char* operation, T value, const Operand<T>& x) {
  if (!x.var.requires_grad() || !is_grad_enabled()) {
    return Var<T>::constant(std::move(value));
  }
  Tape<T>& tape = Tape<T>::active();
  const std::uint32_t ix = tape.resolve(x.var, operation);
  tape.push_operand(ix, x.partial);
  return Var<T>::node(std::move(value), tape.finish_node(), tape.epoch());
}

/// Records a node with two operands and returns it. Either operand may be a
/// constant, which is not recorded.
template <class T>
Var<T> make_node(const char* operation, T value, const Operand<T>& x,
                 const Operand<T>& y) {
  if (!x.var.requires_grad()) return make_node(operation, std::move(value), y);
  if (!y.var.requires_grad()) return make_node(operation, std::move(value), x);
  if (!is_grad_enabled()) return Var<T>::constant(std::move(value));
  Tape<T>& tape = Tape<T>::active();
  const std::uint32_t ix = tape.resolve(x.var, operation);
  const std::uint32_t iy = tape.resolve(y.var, operation);
  tape.push_operand(ix, x.partial);
  tape.push_operand(iy, y.partial);
  return Var<T>::node(std::move(value), tape.finish_node(), tape.epoch());
}

/// Records a node with any number of operands; `partials[i]` is the partial
/// derivative with respect to `operands[i]`.
template <class T>
Var<T> make_node(const char* operation, T value,
                 std::span<const Var<T>> operands, std::span<const T> partials) {
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
  for (std::size_t i = 0; i < operands.size(); ++i) {
    if (operands[i].requires_grad()) {
      tape.push_operand(tape.resolve(operands[i], operation), partials[i]);
    }
  }
  return Var<T>::node(std::move(value), tape.finish_node(), tape.epoch());
}

}  // namespace adjoint
