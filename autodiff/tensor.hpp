#pragma once

// Dense tensors on the same graph as the scalar nodes.
//
// A Tensor<T> is a handle to shared state: a shape, row-major contiguous
// values and the tensor's role in the graph. Like a Var, a tensor is a
// constant (data, no gradient), a parameter (made with parameter(), with a
// gradient that backward() adds to) or an intermediate, the result of an
// operation recorded on the thread's Tape<T>.
//
// A tensor operation records one TensorRecord holding its output and a
// backward rule. During the sweep the rule reads the gradient collected for
// the output and adds to the gradients of the inputs. A reduction to a
// scalar, such as sum(t), also records a scalar node whose adjoint its rule
// reads, and a Var used in a tensor expression becomes a 0-dimensional
// tensor whose rule adds to the Var's adjoint. One backward() therefore runs
// through both kinds of node.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "autodiff/error.hpp"
#include "autodiff/shape.hpp"
#include "autodiff/storage.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/var.hpp"

namespace adjoint {

template <class T>
class Tensor;

namespace detail {

enum class Role : std::uint8_t { constant, parameter, intermediate };

/// The gradient collected for an intermediate tensor during the sweep:
/// nothing yet, the same value for every element (the gradient of a sum),
/// or one value per element.
template <class T>
struct Pending {
  enum State : std::uint8_t { empty, uniform, dense };
  State state = empty;
  T fill{0};
  Buffer<T> values;
};

/// The shared state behind a Tensor handle.
template <class T>
struct TensorState {
  Shape shape;
  std::size_t size = 0;              // shape.numel()
  T* data = nullptr;                 // `size` values, row-major
  Buffer<T> owned;                   // the values, unless this tensor is a view
  std::shared_ptr<const void> base;  // keeps the values of a view alive
  Role role = Role::constant;
  std::uint32_t epoch = 0;  // intermediates: the tape's epoch when recorded
  bool has_grad = false;    // parameters: whether `grad` contains values
  Buffer<T> grad;           // parameters: the accumulated gradient
  Pending<T> pending;       // intermediates, during a sweep

  TensorState() = default;

  /// A tensor of `s` with uninitialized values (value-initialized for types
  /// that are not trivially copyable).
  explicit TensorState(const Shape& s)
      : shape(s), size(checked_numel(s, sizeof(T), "Tensor")), owned(size) {
    data = owned.data();
  }

  /// A view of the values at `values`, which `owner` keeps alive.
  TensorState(const Shape& s, T* values, std::shared_ptr<const void> owner)
      : shape(s),
        size(checked_numel(s, sizeof(T), "Tensor")),
        data(values),
        base(std::move(owner)) {}

  TensorState(TensorState&&) noexcept = default;
  TensorState& operator=(TensorState&&) noexcept = default;
};

/// Sum of term(i) for i in [0, n), with eight partial sums so that the
/// additions do not wait on each other.
template <class T, class F>
T sum_of(std::size_t n, F&& term) {
  if constexpr (std::is_trivially_copyable_v<T>) {
    T s[8] = {};
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (std::size_t k = 0; k < 8; ++k) s[k] += term(i + k);
    }
    for (std::size_t k = 0; i < n; ++i, ++k) s[k] += term(i);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  } else {
    T s(0);
    for (std::size_t i = 0; i < n; ++i) s += term(i);
    return s;
  }
}

/// Adds `grad` (as many values as the tensor has) to the gradient of a
/// parameter or to the pending gradient of an intermediate. Either may take
/// over the buffer instead of copying it.
template <class T>
void accumulate(TensorState<T>& target, Buffer<T>&& grad) {
  const std::size_t n = target.size;
  if (target.role == Role::parameter) {
    if (!target.has_grad) {
      target.grad = std::move(grad);
      target.has_grad = true;
    } else {
      T* to = target.grad.data();
      for (std::size_t i = 0; i < n; ++i) to[i] += grad[i];
    }
  } else if (target.role == Role::intermediate) {
    Pending<T>& pending = target.pending;
    if (pending.state == Pending<T>::empty) {
      pending.values = std::move(grad);
    } else if (pending.state == Pending<T>::uniform) {
      for (std::size_t i = 0; i < n; ++i) grad[i] += pending.fill;
      pending.values = std::move(grad);
    } else {
      T* to = pending.values.data();
      for (std::size_t i = 0; i < n; ++i) to[i] += grad[i];
    }
    pending.state = Pending<T>::dense;
  }
}

/// Adds value(i) to element i of the gradient of `target`, in place where
/// that gradient already has storage.
template <class T, class Value>
void accumulate_each(TensorState<T>& target, const Value& value) {
  const std::size_t n = target.size;
  T* to = nullptr;
  if (target.role == Role::parameter && target.has_grad) {
    to = target.grad.data();
  } else if (target.role == Role::intermediate &&
             target.pending.state == Pending<T>::dense) {
    to = target.pending.values.data();
  }
  if (to != nullptr) {
    for (std::size_t i = 0; i < n; ++i) to[i] += value(i);
    return;
  }
  if (target.role == Role::constant) return;
  Buffer<T> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = value(i);
  accumulate(target, std::move(values));
}

/// Adds `value` to every element of the gradient of `target`.
template <class T>
void accumulate_uniform(TensorState<T>& target, const T& value) {
  const std::size_t n = target.size;
  if (target.role == Role::parameter) {
    if (!target.has_grad) {
      target.grad = Buffer<T>(n);
      std::fill_n(target.grad.data(), n, value);
      target.has_grad = true;
    } else {
      T* to = target.grad.data();
      for (std::size_t i = 0; i < n; ++i) to[i] += value;
    }
  } else if (target.role == Role::intermediate) {
    Pending<T>& pending = target.pending;
    if (pending.state == Pending<T>::empty) {
      pending.fill = value;
      pending.state = Pending<T>::uniform;
    } else if (pending.state == Pending<T>::uniform) {
      pending.fill += value;
    } else {
      T* to = pending.values.data();
      for (std::size_t i = 0; i < n; ++i) to[i] += value;
    }
  }
}

}  // namespace detail

/// The gradient of an operation's output, handed to its backward rule.
///
/// It is either uniform (every element has the value fill(), as after a
/// sum) or dense. Rules that can use a uniform gradient directly avoid
/// writing a buffer full of one value.
template <class T>
class TensorGrad {
 public:
  TensorGrad(detail::Pending<T>&& pending, const Shape& shape, const T* result)
      : shape_(shape),
        size_(shape.numel()),
        uniform_(pending.state == detail::Pending<T>::uniform),
        fill_(std::move(pending.fill)),
        values_(std::move(pending.values)),
        result_(result) {
    pending.state = detail::Pending<T>::empty;
  }

  const Shape& shape() const { return shape_; }
  std::size_t size() const { return size_; }

  /// Whether every element has the value fill().
  bool is_uniform() const { return uniform_; }
  const T& fill() const { return fill_; }

  /// Element i of the gradient.
  T operator[](std::size_t i) const { return uniform_ ? fill_ : values_[i]; }

  /// Returns the gradient's values, writing out a uniform gradient first.
  const T* data() {
    if (uniform_) {
      values_ = detail::Buffer<T>(size_);
      std::fill_n(values_.data(), size_, fill_);
      uniform_ = false;
    }
    return values_.data();
  }

  /// Returns the gradient's values in a buffer the caller owns and may
  /// overwrite, without a copy when possible. Afterwards only shape() and
  /// result() may be used.
  detail::Buffer<T> take() {
    data();
    return std::move(values_);
  }

  /// Returns a copy of the gradient's values.
  detail::Buffer<T> copy() const {
    detail::Buffer<T> out(size_);
    for (std::size_t i = 0; i < size_; ++i) out[i] = (*this)[i];
    return out;
  }

  /// Sum of all elements.
  T sum() const {
    if (uniform_) return T(fill_ * T(size_));
    const T* g = values_.data();
    return detail::sum_of<T>(size_, [g](std::size_t i) { return g[i]; });
  }

  /// The output values of the operation.
  const T* result() const { return result_; }

 private:
  Shape shape_;
  std::size_t size_;
  bool uniform_;
  T fill_;
  detail::Buffer<T> values_;
  const T* result_;
};

/// The target of a backward rule: the gradients of the operation's inputs.
template <class T>
class Backward {
 public:
  explicit Backward(T* scalar_adjoints) : adjoints_(scalar_adjoints) {}

  /// The adjoint of scalar node `node` (see Tensor::as_tensor).
  T& scalar_adjoint(std::uint32_t node) { return adjoints_[node]; }

  /// Adds `grad`, one value per element of `input`, to the gradient of
  /// `input`. Does nothing for a constant.
  void add(const Tensor<T>& input, detail::Buffer<T>&& grad);

  /// Adds `value` to every element of the gradient of `input`.
  void add_uniform(const Tensor<T>& input, const T& value);

  /// Adds value(i) to element i of the gradient of `input`, without a
  /// temporary buffer where that gradient already has storage.
  template <class Value>
  void add_each(const Tensor<T>& input, const Value& value);

  /// Adds the output gradient `grad` (or its negation) to the gradient of
  /// `input`, summed over the dimensions along which `input` was broadcast
  /// to the output's shape. With `may_take` the rule gives up `grad`, whose
  /// buffer may then be reused.
  void add_reduced(const Tensor<T>& input, TensorGrad<T>& grad, bool negate,
                   bool may_take);

 private:
  T* adjoints_;
};

namespace detail {

/// The record of a tensor operation: its output and its backward rule
/// `rule(TensorGrad<T>&, Backward<T>&)`, which the sweep calls once the
/// output has a gradient.
template <class T, class Rule>
class TensorOp final : public TensorRecord<T> {
 public:
  template <class R>
  TensorOp(TensorState<T>&& output, R&& rule)
      : state(std::move(output)), rule_(std::in_place, std::forward<R>(rule)) {}

  void backward(T* scalar_adjoints) override {
    if (state.pending.state == Pending<T>::empty || !rule_) return;
    TensorGrad<T> grad(std::move(state.pending), state.shape, state.data);
    Backward<T> backward(scalar_adjoints);
    (*rule_)(grad, backward);
  }

  void release() noexcept override {
    rule_.reset();
    state.pending = Pending<T>{};
  }

  const TensorState<T>* output() const override { return &state; }

  TensorState<T> state;

 private:
  std::optional<Rule> rule_;
};

/// The record of an operation whose result is scalar node `node`: its rule
/// `rule(const T& adjoint, Backward<T>&)` runs with that node's adjoint.
template <class T, class Rule>
class ScalarOp final : public TensorRecord<T> {
 public:
  template <class R>
  ScalarOp(std::uint32_t node, R&& rule)
      : node_(node), rule_(std::in_place, std::forward<R>(rule)) {}

  void backward(T* scalar_adjoints) override {
    const T adjoint = scalar_adjoints[node_];
    if (adjoint == T(0) || !rule_) return;
    Backward<T> backward(scalar_adjoints);
    (*rule_)(adjoint, backward);
  }

  void release() noexcept override { rule_.reset(); }

 private:
  std::uint32_t node_;
  std::optional<Rule> rule_;
};

[[noreturn, gnu::cold]] inline void throw_released_tensor(
    const char* operation) {
  throw graph_error(fmt::format(
      "{}: a tensor operand belongs to a graph that was released (by "
      "backward() or Tape::clear()) or to another thread; recompute it, or "
      "use detach() to keep its values as a constant",
      operation));
}

}  // namespace detail

/// A dense tensor of scalar type T: a constant, a parameter or an
/// intermediate result (see the top of this file). Copies of the handle
/// share the state, so an optimizer holding a copy of a parameter updates
/// the caller's tensor. Braces make nested lists (Tensor<double>{{1, 2},
/// {3, 4}}); parentheses take a shape and values (Tensor<double>({2, 2},
/// values)).
template <class T>
class Tensor {
 public:
  using value_type = T;

  /// A 0-dimensional constant 0.
  Tensor() : Tensor(Shape{}, std::vector<T>{T(0)}) {}

  /// A constant of `shape` with the given values in row-major order.
  Tensor(const Shape& shape, std::span<const T> values)
      : state_(std::make_shared<detail::TensorState<T>>(shape)) {
    if (values.size() != state_->size) {
      throw std::invalid_argument(fmt::format(
          "Tensor: {} values for shape {}, which has {} elements; pass one "
          "value per element in row-major order",
          values.size(), shape, state_->size));
    }
    std::copy(values.begin(), values.end(), state_->data);
  }

  Tensor(const Shape& shape, const std::vector<T>& values)
      : Tensor(shape, std::span<const T>(values)) {}

  /// A 1-dimensional constant: Tensor<double>{1, 2, 3}.
  Tensor(std::initializer_list<T> values)
      : Tensor(Shape{values.size()},
               std::span<const T>(values.begin(), values.size())) {}

  /// A 2-dimensional constant from rows: Tensor<double>{{1, 2}, {3, 4}}.
  Tensor(std::initializer_list<std::initializer_list<T>> rows)
      : Tensor(nested_shape(rows), flatten_nested(rows)) {}

  /// A 3-dimensional constant from matrices.
  Tensor(std::initializer_list<std::initializer_list<std::initializer_list<T>>>
             blocks)
      : Tensor(nested_shape(blocks), flatten_nested(blocks)) {}

  /// Wraps existing state; used by operations.
  explicit Tensor(std::shared_ptr<detail::TensorState<T>> state)
      : state_(std::move(state)) {}

  const Shape& shape() const { return state().shape; }
  std::size_t rank() const { return state().shape.rank(); }
  std::size_t numel() const { return state().size; }

  /// The values in row-major order.
  std::span<const T> values() const { return {state().data, state().size}; }
  const T* data() const { return state().data; }

  /// The element at the given indices, one per dimension. Raises
  /// std::invalid_argument for a wrong count or an index out of range.
  template <std::integral... I>
  const T& operator()(I... indices) const {
    if (((indices < 0) || ...)) {
      const long long list[] = {static_cast<long long>(indices)..., 0};
      throw std::invalid_argument(fmt::format(
          "Tensor: negative index in ({}) for shape {}; indices count from 0",
          fmt::join(list, list + sizeof...(I), ", "), shape()));
    }
    const std::size_t list[] = {static_cast<std::size_t>(indices)..., 0};
    return at(std::span<const std::size_t>(list, sizeof...(I)));
  }

  const T& at(std::span<const std::size_t> indices) const {
    const Shape& s = shape();
    if (indices.size() != s.rank()) {
      throw std::invalid_argument(fmt::format(
          "Tensor: {} indices for a tensor of shape {}; pass one index per "
          "dimension",
          indices.size(), s));
    }
    std::size_t offset = 0;
    for (std::size_t d = 0; d < s.rank(); ++d) {
      if (indices[d] >= s[d]) {
        throw std::invalid_argument(fmt::format(
            "Tensor: index {} is out of range for dimension {} of shape {}",
            indices[d], d, s));
      }
      offset = offset * s[d] + indices[d];
    }
    return state().data[offset];
  }

  /// Returns the value of a tensor with exactly one element.
  const T& item() const {
    if (numel() != 1) {
      throw std::invalid_argument(fmt::format(
          "Tensor::item: the tensor has shape {} with {} elements; item() "
          "needs exactly one",
          shape(), numel()));
    }
    return state().data[0];
  }

  bool is_leaf() const { return state().role == detail::Role::parameter; }
  bool is_constant() const { return state().role == detail::Role::constant; }
  bool requires_grad() const { return !is_constant(); }

  /// Returns an address shared by every copy of a parameter; nullptr for
  /// other tensors.
  const void* parameter_id() const { return is_leaf() ? &state() : nullptr; }

  /// Returns the accumulated gradient of a parameter, as a constant that shares
  /// its values (zero_grad() and later backward() calls change them).
  Tensor grad() const {
    check_leaf("grad");
    const std::span<const T> values = grad_values();
    return Tensor(std::make_shared<detail::TensorState<T>>(
        shape(), const_cast<T*>(values.data()), state_));
  }

  /// Returns the gradient of a parameter in row-major order (zeros before the
  /// first backward()).
  std::span<const T> grad_values() const {
    check_leaf("grad_values");
    return allocated_grad();
  }

  /// Returns the gradient of a parameter in row-major order, for a caller
  /// that changes it, for example to clip it before an optimizer step.
  std::span<T> mutable_grad_values() {
    check_leaf("mutable_grad_values");
    return allocated_grad();
  }

  /// Sets the gradient of a parameter to zero.
  void zero_grad() {
    check_leaf("zero_grad");
    if (state().has_grad) {
      std::fill_n(state().grad.data(), state().size, T(0));
    }
  }

  /// Returns the values of a parameter, for an optimizer to update in place.
  /// Changing them between an operation and backward() changes the
  /// gradient that backward() computes.
  std::span<T> mutable_values() {
    check_leaf("mutable_values");
    return {state().data, state().size};
  }

  /// Returns a constant that shares this tensor's values.
  Tensor detach() const {
    return Tensor(std::make_shared<detail::TensorState<T>>(
        shape(), state().data, values_owner()));
  }

  /// Returns the state that owns this tensor's values: the tensor itself,
  /// or the tensor a view was taken from. Views refer to the owner rather than
  /// to their input, so that a chain of views never makes a chain of owners
  /// whose destruction would recurse.
  std::shared_ptr<const void> values_owner() const {
    if (state().base) return state().base;
    return state_;
  }

  /// The shared state; for operations. Raises graph_error for a handle
  /// that was moved from.
  detail::TensorState<T>& state() const {
    if (!state_) [[unlikely]]
      throw_moved();
    return *state_;
  }

 private:
  [[noreturn, gnu::cold]] static void throw_moved() {
    throw graph_error(
        "Tensor: this handle was moved from and refers to no tensor; use the "
        "handle it was moved to, or assign a new tensor to it");
  }

  void check_leaf(const char* operation) const {
    if (is_leaf()) [[likely]]
      return;
    throw graph_error(fmt::format(
        "Tensor::{}: only parameters (made with adjoint::parameter()) have a "
        "gradient, but this tensor is {}",
        operation, is_constant() ? "a constant" : "an intermediate result"));
  }

  // Allocates the gradient of a parameter as zeros on first use.
  std::span<T> allocated_grad() const {
    detail::TensorState<T>& s = *state_;
    if (!s.has_grad) {
      s.grad = detail::Buffer<T>(s.size);
      std::fill_n(s.grad.data(), s.size, T(0));
      s.has_grad = true;
    }
    return {s.grad.data(), s.size};
  }

  template <class List>
  static Shape nested_shape(const List& list) {
    Shape shape{list.size()};
    if constexpr (requires { list.begin()->begin(); }) {
      const Shape inner = list.size() == 0 ? Shape{std::size_t{0}}
                                           : nested_shape(*list.begin());
      for (const auto& item : list) {
        if (nested_shape(item) != inner) {
          throw std::invalid_argument(fmt::format(
              "Tensor: nested lists of different lengths ({} and {}); every "
              "row must have the same shape",
              inner, nested_shape(item)));
        }
      }
      for (std::size_t extent : inner) shape.push_back(extent);
    }
    return shape;
  }

  template <class List>
  static std::vector<T> flatten_nested(const List& list) {
    std::vector<T> out;
    append_nested(list, out);
    return out;
  }

  template <class List>
  static void append_nested(const List& list, std::vector<T>& out) {
    for (const auto& item : list) {
      if constexpr (requires { item.begin(); }) {
        append_nested(item, out);
      } else {
        out.push_back(item);
      }
    }
  }

  std::shared_ptr<detail::TensorState<T>> state_;
};

template <class T>
void Backward<T>::add(const Tensor<T>& input, detail::Buffer<T>&& grad) {
  if (grad.size() != input.numel()) [[unlikely]] {
    // A backward rule's bug, which would read or write out of bounds.
    throw std::invalid_argument(fmt::format(
        "Backward::add: a gradient of {} values for an input of shape {} "
        "({} elements); the backward rule must give one value per element",
        grad.size(), input.shape(), input.numel()));
  }
  detail::accumulate(input.state(), std::move(grad));
}

template <class T>
template <class Value>
void Backward<T>::add_each(const Tensor<T>& input, const Value& value) {
  detail::accumulate_each(input.state(), value);
}

template <class T>
void Backward<T>::add_uniform(const Tensor<T>& input, const T& value) {
  detail::accumulate_uniform(input.state(), value);
}

namespace detail {

/// Sums `grad`, whose shape is a broadcast of `to`, over the broadcast
/// dimensions, and negates it when asked.
template <class T>
Buffer<T> reduce_to_shape(const TensorGrad<T>& grad, const Shape& to,
                          bool negate) {
  const std::size_t m = to.numel();
  Buffer<T> out(m);
  std::fill_n(out.data(), m, T(0));
  if (m == 1) {
    out[0] = grad.sum();
  } else if (m > 0) {
    const auto strides = broadcast_strides(to, grad.shape());
    const std::array<std::size_t, Shape::max_rank> none{};
    for_each_broadcast(grad.shape(), strides, none,
                       [&](std::size_t i, std::size_t io, std::size_t) {
                         out[io] += grad[i];
                       });
  }
  if (negate) {
    for (std::size_t i = 0; i < m; ++i) out[i] = -out[i];
  }
  return out;
}

}  // namespace detail

template <class T>
void Backward<T>::add_reduced(const Tensor<T>& input, TensorGrad<T>& grad,
                              bool negate, bool may_take) {
  if (!input.requires_grad()) return;
  if (input.shape() == grad.shape()) {
    if (grad.is_uniform()) {
      add_uniform(input, negate ? T(-grad.fill()) : grad.fill());
      return;
    }
    if (!may_take) {
      if (negate) {
        add_each(input, [&grad](std::size_t i) { return T(-grad[i]); });
      } else {
        add_each(input, [&grad](std::size_t i) { return grad[i]; });
      }
      return;
    }
    detail::Buffer<T> values = grad.take();
    if (negate) {
      for (T& v : values) v = -v;
    }
    add(input, std::move(values));
  } else if (grad.is_uniform()) {
    const std::size_t m = input.numel();
    if (m == 0) return;
    const T each = grad.fill() * T(grad.size() / m);
    add_uniform(input, negate ? T(-each) : each);
  } else {
    add(input, detail::reduce_to_shape(grad, input.shape(), negate));
  }
}

/// Returns a parameter with the shape and values of `values`. Copies of the
/// returned handle share its values and gradient.
template <class T>
Tensor<T> parameter(const Tensor<T>& values) {
  auto state = std::make_shared<detail::TensorState<T>>(values.shape());
  std::copy(values.values().begin(), values.values().end(), state->data);
  state->role = detail::Role::parameter;
  return Tensor<T>(std::move(state));
}

namespace detail {

/// Whether an operation on `inputs` is recorded: recording is on and some
/// input requires a gradient. Raises graph_error for an intermediate input
/// from a released graph.
template <class T, class Inputs>
bool needs_record(const Inputs& inputs, const char* operation) {
  if (!is_grad_enabled()) return false;
  bool any = false;
  for (const Tensor<T>& input : inputs) any = any || input.requires_grad();
  if (!any) return false;
  const std::uint32_t epoch = Tape<T>::active().epoch();
  for (const Tensor<T>& input : inputs) {
    const TensorState<T>& s = input.state();
    if (s.role == Role::intermediate && s.epoch != epoch) {
      throw_released_tensor(operation);
    }
  }
  return true;
}

/// Reports a recorded tensor operation to the tape's graph log.
template <class T, class Inputs>
[[gnu::noinline]] void log_tensor_op(Tape<T>& tape, const char* operation,
                                     const Inputs& inputs,
                                     std::span<const std::uint32_t> scalars,
                                     const Tensor<T>& result) {
  std::vector<const Tensor<T>*> pointers;
  for (const Tensor<T>& input : inputs) pointers.push_back(&input);
  tape.graph_log()->tensor(operation, pointers, scalars, result);
}

/// Records the operation `operation` on `inputs` and on the scalar nodes
/// `scalars`, whose result `output` has the backward rule `rule`.
template <class T, class Inputs, class Rule>
Tensor<T> record_tensor_op(const char* operation, const Inputs& inputs,
                           std::span<const std::uint32_t> scalars,
                           TensorState<T>&& output, Rule&& rule) {
  Tape<T>& tape = Tape<T>::active();
  tape.reserve_tensor_record();
  using Op = TensorOp<T, std::decay_t<Rule>>;
  std::shared_ptr<Op> op = std::allocate_shared<Op>(
      CacheAllocator<Op>(), std::move(output), std::forward<Rule>(rule));
  op->state.role = Role::intermediate;
  op->state.epoch = tape.epoch();
  Tensor<T> result(std::shared_ptr<TensorState<T>>(op, &op->state));
  tape.record_tensor(std::move(op));
  if (recording_state() != recording) [[unlikely]] {
    if (tape.graph_log() != nullptr) {
      log_tensor_op(tape, operation, inputs, scalars, result);
    }
  }
  return result;
}

template <class T>
Tensor<T> constant_tensor(TensorState<T>&& output) {
  return Tensor<T>(std::allocate_shared<TensorState<T>>(
      CacheAllocator<TensorState<T>>(), std::move(output)));
}

}  // namespace detail

/// Receives every tensor operation on this thread while installed with
/// ObserveOperations, with its inputs and its result. The precision audit
/// uses it to compare each operation's result in two scalar types.
/// Operations of scalar Vars with each other are not reported, which keeps
/// them free of the check.
template <class T>
class OperationObserver {
 public:
  virtual ~OperationObserver() = default;
  virtual void tensor_operation(const char* operation,
                                std::span<const Tensor<T>* const> inputs,
                                const Tensor<T>& result) = 0;
  virtual void scalar_operation(const char* operation,
                                std::span<const Tensor<T>* const> inputs,
                                const T& result) = 0;
};

namespace detail {

template <class T>
inline constinit thread_local OperationObserver<T>* operation_observer =
    nullptr;

template <class T, class Inputs>
void observe_operation(const char* operation, const Inputs& inputs,
                       const auto& result) {
  std::vector<const Tensor<T>*> pointers;
  for (const Tensor<T>& input : inputs) pointers.push_back(&input);
  if constexpr (std::is_same_v<std::decay_t<decltype(result)>, Tensor<T>>) {
    operation_observer<T>->tensor_operation(operation, pointers, result);
  } else {
    operation_observer<T>->scalar_operation(operation, pointers, result);
  }
}

}  // namespace detail

/// Installs an OperationObserver on this thread for its lifetime, and puts
/// back the one before.
template <class T>
class ObserveOperations {
 public:
  explicit ObserveOperations(OperationObserver<T>& observer)
      : previous_(detail::operation_observer<T>) {
    detail::operation_observer<T> = &observer;
  }
  ObserveOperations(const ObserveOperations&) = delete;
  ObserveOperations& operator=(const ObserveOperations&) = delete;
  ~ObserveOperations() { detail::operation_observer<T> = previous_; }

 private:
  OperationObserver<T>* previous_;
};

namespace detail {

/// The body of both make_tensor_node() overloads: `inputs` is any range of
/// tensors.
template <class T, class Inputs, class Rule>
Tensor<T> make_tensor_node_from(const char* operation, TensorState<T>&& output,
                                const Inputs& inputs, Rule&& rule) {
  Tensor<T> result =
      needs_record<T>(inputs, operation)
          ? record_tensor_op(operation, inputs, {}, std::move(output),
                             std::forward<Rule>(rule))
          : constant_tensor(std::move(output));
  if (operation_observer<T> != nullptr) [[unlikely]] {
    observe_operation<T>(operation, inputs, result);
  }
  return result;
}

}  // namespace detail

/// The values of a new tensor, for make_tensor_node(): construct it with
/// the result's Shape, then write its `size` values through `data` in
/// row-major order.
template <class T>
using TensorOutput = detail::TensorState<T>;

/// Records a tensor operation and returns its output.
///
/// `output` holds the values the operation computed; `inputs` are the
/// tensors it read. When recording is on and some input requires a
/// gradient, the output becomes an intermediate whose `rule(TensorGrad<T>&
/// grad, Backward<T>& backward)` runs during backward(): it reads `grad`,
/// the gradient of the output, and adds each input's gradient through
/// `backward`. Otherwise the output is a constant and the rule is dropped.
/// The rule must capture (by value) every input it reads in the sweep, as
/// `[x = Tensor<T>(x)]` where x is a const reference: a plain `[x]` makes
/// a const member, which every move of the rule copies, reference counts
/// and all.
template <class T, class Rule>
Tensor<T> make_tensor_node(
    const char* operation, detail::TensorState<T>&& output,
    std::initializer_list<std::reference_wrapper<const Tensor<T>>> inputs,
    Rule&& rule) {
  return detail::make_tensor_node_from<T>(operation, std::move(output), inputs,
                                          std::forward<Rule>(rule));
}

/// As above, for an operation on any number of tensors.
template <class T, class Rule>
Tensor<T> make_tensor_node(const char* operation,
                           detail::TensorState<T>&& output,
                           std::span<const Tensor<T>> inputs, Rule&& rule) {
  return detail::make_tensor_node_from<T>(operation, std::move(output), inputs,
                                          std::forward<Rule>(rule));
}

/// Records an operation on tensors whose result is the scalar `value`, and
/// returns it as a scalar node. Its `rule(const T& adjoint, Backward<T>&
/// backward)` runs during backward() with the adjoint of that node.
template <class T, class Rule>
Var<T> make_scalar_node(
    const char* operation, T value,
    std::initializer_list<std::reference_wrapper<const Tensor<T>>> inputs,
    Rule&& rule) {
  const bool record = detail::needs_record<T>(inputs, operation);
  if (detail::operation_observer<T> != nullptr) [[unlikely]] {
    detail::observe_operation<T>(operation, inputs, value);
  }
  if (!record) return Var<T>::constant(std::move(value));
  Tape<T>& tape = Tape<T>::active();
  using Op = detail::ScalarOp<T, std::decay_t<Rule>>;
  tape.reserve_record(0);
  tape.reserve_tensor_record();
  const std::uint32_t node = static_cast<std::uint32_t>(tape.size());
  auto op = std::allocate_shared<Op>(detail::CacheAllocator<Op>(), node,
                                     std::forward<Rule>(rule));
  tape.finish_node();
  tape.record_tensor(std::move(op));
  if (tape.graph_log() != nullptr) [[unlikely]] {
    std::vector<const Tensor<T>*> pointers;
    for (const Tensor<T>& input : inputs) pointers.push_back(&input);
    tape.graph_log()->reduction(node, operation, value, pointers);
  }
  return Var<T>::pinned_node(std::move(value), node, tape.epoch());
}

/// A 0-dimensional tensor with the value of `x`. When x requires a
/// gradient, the tensor's gradient flows back into x.
template <class T>
Tensor<T> as_tensor(const Var<T>& x) {
  detail::TensorState<T> output{Shape{}};
  output.data[0] = x.value();
  if (!x.requires_grad() || !is_grad_enabled()) {
    return detail::constant_tensor(std::move(output));
  }
  Tape<T>& tape = Tape<T>::active();
  const std::uint32_t node = tape.resolve(x, "as_tensor");
  // The record reads the adjoint of x's node, so no later operation on x
  // may fold into that node.
  tape.pin(x);
  return detail::record_tensor_op(
      "as_tensor", std::span<const Tensor<T>>(), {&node, 1}, std::move(output),
      [node](TensorGrad<T>& grad, Backward<T>& backward) {
        backward.scalar_adjoint(node) += grad[0];
      });
}

/// A 0-dimensional constant.
template <class T>
Tensor<T> scalar_tensor(const T& value) {
  return Tensor<T>(Shape{}, std::vector<T>{value});
}

/// Whether `a` and `b` have the same shape and the same values, NaN
/// matching NaN. Records nothing.
template <class T>
bool same_values(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.shape() != b.shape()) return false;
  for (std::size_t i = 0; i < a.numel(); ++i) {
    const T& x = a.data()[i];
    const T& y = b.data()[i];
    if (!(x == y) && !(x != x && y != y)) return false;
  }
  return true;
}

// Creation. Each returns a constant; wrap it in parameter() to train it.

template <class T>
Tensor<T> full(const Shape& shape, const T& value) {
  auto state = std::make_shared<detail::TensorState<T>>(shape);
  std::fill_n(state->data, state->size, value);
  return Tensor<T>(std::move(state));
}

template <class T>
Tensor<T> zeros(const Shape& shape) {
  return full<T>(shape, T(0));
}

template <class T>
Tensor<T> ones(const Shape& shape) {
  return full<T>(shape, T(1));
}

/// start, start + step, ... up to but excluding stop, as numpy.arange.
template <class T>
Tensor<T> arange(const T& start, const T& stop, const T& step = T(1)) {
  using std::ceil;
  using std::isfinite;
  if (!(step != T(0)) || !isfinite(start) || !isfinite(stop) ||
      !isfinite(step)) {
    throw std::invalid_argument(fmt::format(
        "arange: start {}, stop {} and step {} must be finite and step "
        "nonzero",
        static_cast<double>(start), static_cast<double>(stop),
        static_cast<double>(step)));
  }
  const T count = ceil(T((stop - start) / step));
  // Compared as T, since a count beyond size_t cannot be converted.
  if (!(count < T(std::numeric_limits<std::size_t>::max() / sizeof(T)))) {
    throw std::invalid_argument(fmt::format(
        "arange: start {}, stop {} and step {} make {} elements, more than "
        "memory can hold; use a larger step",
        static_cast<double>(start), static_cast<double>(stop),
        static_cast<double>(step), static_cast<double>(count)));
  }
  const std::size_t n = count > T(0) ? static_cast<std::size_t>(count) : 0;
  auto state = std::make_shared<detail::TensorState<T>>(Shape{n});
  for (std::size_t i = 0; i < n; ++i) state->data[i] = start + T(i) * step;
  return Tensor<T>(std::move(state));
}

/// 0, 1, ..., n - 1.
template <class T>
Tensor<T> arange(std::size_t n) {
  auto state = std::make_shared<detail::TensorState<T>>(Shape{n});
  for (std::size_t i = 0; i < n; ++i) state->data[i] = T(i);
  return Tensor<T>(std::move(state));
}

/// `count` evenly spaced values from start to stop, both included.
template <class T>
Tensor<T> linspace(const T& start, const T& stop, std::size_t count) {
  auto state = std::make_shared<detail::TensorState<T>>(Shape{count});
  if (count == 1) state->data[0] = start;
  if (count > 1) {
    const T step = (stop - start) / T(count - 1);
    for (std::size_t i = 0; i < count; ++i) {
      state->data[i] = start + T(i) * step;
    }
    state->data[count - 1] = stop;
  }
  return Tensor<T>(std::move(state));
}

/// The n x n identity matrix.
template <class T>
Tensor<T> eye(std::size_t n) {
  Tensor<T> result = zeros<T>(Shape{n, n});
  for (std::size_t i = 0; i < n; ++i) result.state().data[i * n + i] = T(1);
  return result;
}

/// A seedable source of random tensors. The engine is std::mt19937_64 and
/// the distributions are computed here rather than by the standard library,
/// whose distributions differ between implementations. So the same seed
/// gives the same uniform values everywhere, and the same normal values
/// wherever std::log, std::sin and std::cos round alike.
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}

  /// Uniform on [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  /// Standard normal, by the Box-Muller transform.
  double normal() {
    if (spare_) {
      const double z = *spare_;
      spare_.reset();
      return z;
    }
    double u = 0;
    while (u == 0) u = uniform();
    const double v = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u));
    const double angle = 6.283185307179586476925286766559 * v;
    spare_ = radius * std::sin(angle);
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  std::optional<double> spare_;
};

/// Values drawn uniformly from [low, high).
template <class T>
Tensor<T> uniform(const Shape& shape, Generator& generator, const T& low = T(0),
                  const T& high = T(1)) {
  auto state = std::make_shared<detail::TensorState<T>>(shape);
  for (std::size_t i = 0; i < state->size; ++i) {
    state->data[i] = low + (high - low) * T(generator.uniform());
  }
  return Tensor<T>(std::move(state));
}

/// Values drawn from a normal distribution.
template <class T>
Tensor<T> normal(const Shape& shape, Generator& generator, const T& mean = T(0),
                 const T& stddev = T(1)) {
  auto state = std::make_shared<detail::TensorState<T>>(shape);
  for (std::size_t i = 0; i < state->size; ++i) {
    state->data[i] = mean + stddev * T(generator.normal());
  }
  return Tensor<T>(std::move(state));
}

}  // namespace adjoint

/// Formats a tensor with its values and shape, as
///
///   tensor([[1, 2, 3],
///           [4, 5, 6]], shape=[2, 3])
///
/// A format spec applies to each element ("{:.3f}"). Tensors with more than
/// 1000 elements are abridged as NumPy does: three items at each end of
/// every dimension, with "..." between.
template <class T>
struct fmt::formatter<adjoint::Tensor<T>> {
  using Element =
      std::conditional_t<fmt::is_formattable<T>::value, T, long double>;

  constexpr auto parse(format_parse_context& context) {
    return element.parse(context);
  }

  auto format(const adjoint::Tensor<T>& tensor, format_context& context) const {
    auto out = context.out();
    out = fmt::format_to(out, "tensor(");
    const adjoint::Shape& shape = tensor.shape();
    const bool abridged = tensor.numel() > threshold;
    if (shape.rank() == 0) {
      out = write_element(tensor.data()[0], context);
    } else {
      out = write_block(tensor, 0, 0, abridged, context);
    }
    return fmt::format_to(out, ", shape={})", shape);
  }

 private:
  static constexpr std::size_t threshold = 1000;
  static constexpr std::size_t edge = 3;
  static constexpr std::size_t indent = 7;  // strlen("tensor(")

  fmt::appender write_element(const T& value, format_context& context) const {
    if constexpr (std::is_same_v<Element, T>) {
      return element.format(value, context);
    } else {
      return element.format(static_cast<long double>(value), context);
    }
  }

  fmt::appender write_block(const adjoint::Tensor<T>& tensor, std::size_t dim,
                            std::size_t offset, bool abridged,
                            format_context& context) const {
    const adjoint::Shape& shape = tensor.shape();
    auto out = context.out();
    *out++ = '[';
    context.advance_to(out);
    std::size_t stride = 1;
    for (std::size_t d = dim + 1; d < shape.rank(); ++d) stride *= shape[d];
    const std::size_t n = shape[dim];
    const bool skip = abridged && n > 2 * edge;
    const bool last = dim + 1 == shape.rank();
    for (std::size_t i = 0; i < n; ++i) {
      if (skip && i == edge) {
        out = fmt::format_to(context.out(), "...");
        out = separator(out, dim, shape.rank());
        context.advance_to(out);
        i = n - edge;
      }
      if (last) {
        out = write_element(tensor.data()[offset + i], context);
      } else {
        out = write_block(tensor, dim + 1, offset + i * stride, abridged,
                          context);
      }
      if (i + 1 < n) out = separator(out, dim, shape.rank());
      context.advance_to(out);
    }
    out = context.out();
    *out++ = ']';
    context.advance_to(out);
    return out;
  }

  template <class Out>
  static Out separator(Out out, std::size_t dim, std::size_t rank) {
    *out++ = ',';
    if (dim + 1 == rank) {
      *out++ = ' ';
      return out;
    }
    // One line break per level below the innermost, as NumPy prints.
    for (std::size_t k = dim + 1; k < rank; ++k) *out++ = '\n';
    for (std::size_t k = 0; k < indent + dim + 1; ++k) *out++ = ' ';
    return out;
  }

  fmt::formatter<Element> element;
};
