#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "autodiff/error.hpp"
#include "optim/parameter.hpp"
#include "optim/state.hpp"

namespace adjoint::optim {

/// Parameters that share a learning rate, as in a PyTorch param group.
template <class T>
struct ParameterGroup {
  std::vector<Parameter<T>> parameters;
  std::optional<T> learning_rate;  // empty: the optimizer's learning rate
};

/// The parameters given to an optimizer: a list of Var and Tensor
/// parameters, which form one group, or a list of groups. Both convert
/// implicitly, so `Adam<double> adam({w, b})` and a vector of
/// ParameterGroup are the same constructor argument.
template <class T>
class ParameterList {
 public:
  /// An empty list, which the optimizers reject: `{}` names it.
  ParameterList() : ParameterList(std::vector<Parameter<T>>{}) {}
  ParameterList(std::vector<Parameter<T>> parameters) {
    groups_.push_back({std::move(parameters), std::nullopt});
  }
  ParameterList(std::initializer_list<Parameter<T>> parameters)
      : ParameterList(std::vector<Parameter<T>>(parameters)) {}
  ParameterList(std::vector<ParameterGroup<T>> groups)
      : groups_(std::move(groups)) {}
  ParameterList(std::initializer_list<ParameterGroup<T>> groups)
      : groups_(groups) {}

  std::vector<ParameterGroup<T>>& groups() { return groups_; }

 private:
  std::vector<ParameterGroup<T>> groups_;
};

// Checks of settings, for optimizers and schedules, including those written
// outside the library, so that every message has the same form.

/// Raises std::invalid_argument unless `valid`, naming the optimizer, the
/// setting, its value and the rule it breaks.
template <class T>
void check_setting(bool valid, std::string_view optimizer,
                   std::string_view setting, const T& value,
                   std::string_view rule) {
  if (valid) return;
  throw std::invalid_argument(fmt::format("{}: invalid {} {}; it must be {}",
                                          optimizer, setting,
                                          static_cast<double>(value), rule));
}

/// Raises std::invalid_argument unless `value` is finite and >= 0.
template <class T>
void check_non_negative(std::string_view optimizer, std::string_view setting,
                        const T& value) {
  using std::isfinite;
  check_setting(isfinite(value) && value >= T(0), optimizer, setting, value,
                "a finite number >= 0");
}

/// Raises std::invalid_argument unless `value` is in [0, 1), the range of
/// decay rates such as Adam's betas and RMSProp's alpha.
template <class T>
void check_unit_interval(std::string_view optimizer, std::string_view setting,
                         const T& value) {
  check_setting(value >= T(0) && value < T(1), optimizer, setting, value,
                "in [0, 1)");
}

/// The range of a buffer's values, checked when a state is loaded.
enum class BufferValues { any, non_negative };

/// Base of every optimizer: the parameters in groups with their learning
/// rates, the step count, per-parameter buffers and the saving and loading
/// of all of it.
///
/// The optimizer keeps handles that share each parameter's values and
/// gradient, so the caller's Var and Tensor objects see every update. A
/// subclass implements update(), which reads gradients and sets values,
/// and keeps whatever it carries from step to step (momentum, moments) in
/// buffers made with add_buffer(), which state() and load_state() cover.
template <class T>
class Optimizer {
 public:
  /// Computes the loss at the current parameter values, with recording on.
  /// Optimizers that evaluate the loss several times per step (L-BFGS) call
  /// it; they clear the gradients before and run backward() after each call.
  using Closure = std::function<Var<T>()>;

  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  /// Returns the optimizer's name, as used in messages and saved states.
  const std::string& name() const { return name_; }

  /// Updates every parameter from its gradient. Records nothing.
  void step() {
    if (needs_closure()) {
      throw std::invalid_argument(fmt::format(
          "{}: step() without a closure; this optimizer evaluates the loss "
          "several times per step, so call step(closure) with a function "
          "that returns the loss",
          name_));
    }
    check_parameters();
    const StepCount count(steps_);
    NoGradGuard no_grad;
    update();
    count.commit();
  }

  /// Takes one step with a closure that computes the loss, and returns the
  /// loss before the step. The closure must not call zero_grad() or
  /// backward(): the optimizer does both around each call. An optimizer that
  /// needs one evaluation per step evaluates the closure once and then
  /// proceeds as step() does.
  T step(const Closure& closure) {
    check_parameters();
    const StepCount count(steps_);
    const T loss = update_with_closure(closure, std::nullopt);
    count.commit();
    return loss;
  }

  /// Takes one step with a closure when the gradients already hold the
  /// gradient of the loss at the current values and `current_loss` is the
  /// loss there, as after a training loop's own evaluation. The optimizer
  /// then skips its first evaluation. Returns `current_loss`.
  T step(const Closure& closure, const T& current_loss) {
    check_parameters();
    const StepCount count(steps_);
    const T loss = update_with_closure(closure, current_loss);
    count.commit();
    return loss;
  }

  /// Returns whether step() needs the closure form.
  virtual bool needs_closure() const { return false; }

  /// Sets the gradient of every parameter to zero.
  void zero_grad() {
    for (Parameter<T>& parameter : parameters_) parameter.zero_grad();
  }

  /// Returns the parameters of every group, in the order they were given.
  const std::vector<Parameter<T>>& parameters() const { return parameters_; }

  std::size_t group_count() const { return learning_rates_.size(); }

  /// Returns the group index of parameters()[parameter].
  std::size_t group_of(std::size_t parameter) const {
    if (parameter < group_of_.size()) return group_of_[parameter];
    throw std::invalid_argument(
        fmt::format("{}: parameter {} does not exist; there are {} parameters",
                    name_, parameter, group_of_.size()));
  }

  const T& learning_rate(std::size_t group = 0) const {
    check_group(group);
    return learning_rates_[group];
  }

  /// Sets the learning rate of every group.
  void set_learning_rate(const T& learning_rate) {
    check_learning_rate(learning_rate);
    for (T& rate : learning_rates_) rate = learning_rate;
  }

  void set_learning_rate(std::size_t group, const T& learning_rate) {
    check_group(group);
    check_learning_rate(learning_rate);
    learning_rates_[group] = learning_rate;
  }

  /// Returns the number of steps taken, counting those of a loaded state.
  std::uint64_t steps() const { return steps_; }

  /// Returns a copy of everything the optimizer changes as it runs: step
  /// count, learning rates and buffers. Settings given to the constructor are
  /// not part of it.
  OptimizerState<T> state() const {
    OptimizerState<T> state;
    state.optimizer = name_;
    state.steps = steps_;
    state.learning_rates = learning_rates_;
    for (const Parameter<T>& p : parameters_) {
      state.parameter_sizes.push_back(p.size());
    }
    for (const Buffer& buffer : buffers_) {
      for (std::size_t i = 0; i < parameters_.size(); ++i) {
        state.buffers[buffer_key(buffer.name, i)] = buffer.values[i];
      }
    }
    save_extra(state);
    return state;
  }

  /// Restores a state from state() of an optimizer of the same kind with the
  /// same groups and parameter sizes. Raises std::invalid_argument naming
  /// the first difference, and changes nothing in that case.
  void load_state(const OptimizerState<T>& state) {
    check_state(state);
    for (Buffer& buffer : buffers_) {
      for (std::size_t i = 0; i < parameters_.size(); ++i) {
        buffer.values[i] = state.buffers.at(buffer_key(buffer.name, i));
      }
    }
    load_extra(state);
    steps_ = state.steps;
    learning_rates_ = state.learning_rates;
  }

 protected:
  /// Takes parameters whose groups' learning rate defaults to
  /// `learning_rate`.
  Optimizer(std::string name, ParameterList<T> parameters,
            const T& learning_rate)
      : name_(std::move(name)) {
    std::vector<ParameterGroup<T>>& groups = parameters.groups();
    check_name("optimizer name", name_);
    if (groups.empty()) {
      throw std::invalid_argument(fmt::format(
          "{}: the list of parameter groups is empty; pass the Var or Tensor "
          "parameters to optimize",
          name_));
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (groups[g].parameters.empty()) {
        throw std::invalid_argument(fmt::format(
            "{}: the parameter list{} is empty; pass the Var or Tensor "
            "parameters to optimize",
            name_, groups.size() > 1 ? fmt::format(" of group {}", g) : ""));
      }
      const T& rate = groups[g].learning_rate.value_or(learning_rate);
      check_learning_rate(rate);
      learning_rates_.push_back(rate);
      for (Parameter<T>& p : groups[g].parameters) {
        parameters_.push_back(std::move(p));
        group_of_.push_back(g);
      }
    }
    std::unordered_map<const void*, std::size_t> seen;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      check_parameter(i);
      const auto [first, inserted] = seen.emplace(parameters_[i].id(), i);
      if (!inserted) {
        throw std::invalid_argument(fmt::format(
            "{}: parameters {} and {} are the same parameter, which would be "
            "updated twice per step; pass each parameter once",
            name_, first->second, i));
      }
    }
  }

  /// Applies one update to parameters(). Called by step() with recording
  /// off and steps() already counting this step.
  virtual void update() = 0;

  /// Takes one step with a closure and returns the loss before the step.
  /// `current_loss`, when given, is the loss at the current values, whose
  /// gradient the parameters already hold. Optimizers that evaluate the
  /// loss more than once override this.
  virtual T update_with_closure(const Closure& closure,
                                const std::optional<T>& current_loss) {
    const T loss = current_loss ? *current_loss : evaluate(closure);
    NoGradGuard no_grad;
    update();
    return loss;
  }

  /// Clears the gradients, calls the closure, runs backward() and returns
  /// the loss.
  T evaluate(const Closure& closure) {
    zero_grad();
    const Var<T> loss = closure();
    if (!loss.requires_grad()) {
      throw std::invalid_argument(fmt::format(
          "{}: the closure's loss depends on no parameter (it was computed "
          "from constants or under NoGradGuard); compute it from the "
          "optimizer's parameters with recording on",
          name_));
    }
    loss.backward();
    return loss.value();
  }

  /// Adds a buffer with one array per parameter, of the parameter's size,
  /// filled with `initial`, and returns its index for buffer(). The name is
  /// a word without spaces. load_state() accepts only finite values, and
  /// only values >= 0 for a buffer of `BufferValues::non_negative` (such as a
  /// mean of squares).
  std::size_t add_buffer(std::string name, const T& initial = T(0),
                         BufferValues values = BufferValues::any) {
    check_name("buffer name", name);
    Buffer buffer{std::move(name), {}, values == BufferValues::non_negative};
    for (const Parameter<T>& p : parameters_) {
      buffer.values.emplace_back(p.size(), initial);
    }
    buffers_.push_back(std::move(buffer));
    return buffers_.size() - 1;
  }

  std::span<T> buffer(std::size_t index, std::size_t parameter) {
    return buffers_[index].values[parameter];
  }

  /// Adds state that is not a per-parameter buffer to a saved state.
  virtual void save_extra(OptimizerState<T>&) const {}

  /// Checks the state that save_extra() writes; raises
  /// std::invalid_argument for a missing or malformed entry. Called before
  /// anything is loaded.
  virtual void check_extra(const OptimizerState<T>&) const {}

  /// Loads the state that save_extra() wrote, after check_extra() passed.
  virtual void load_extra(const OptimizerState<T>&) {}

  std::vector<Parameter<T>>& mutable_parameters() { return parameters_; }

 private:
  struct Buffer {
    std::string name;
    std::vector<std::vector<T>> values;  // one array per parameter
    bool non_negative = false;
  };

  // Counts a step that is under way, and takes the count back unless
  // commit() is called, so that a step that raises is not counted.
  class StepCount {
   public:
    explicit StepCount(std::uint64_t& steps) : steps_(steps) { ++steps_; }
    StepCount(const StepCount&) = delete;
    StepCount& operator=(const StepCount&) = delete;
    ~StepCount() {
      if (!committed_) --steps_;
    }
    void commit() const { committed_ = true; }

   private:
    std::uint64_t& steps_;
    mutable bool committed_ = false;
  };

  void check_name(const char* kind, const std::string& name) const {
    detail::check_state_name(name_.empty() ? "Optimizer" : name_, kind, name);
  }

  static std::string buffer_key(const std::string& name, std::size_t i) {
    return fmt::format("{}.{}", name, i);
  }

  void check_learning_rate(const T& learning_rate) const {
    check_non_negative(name_, "learning_rate", learning_rate);
  }

  void check_group(std::size_t group) const {
    if (group < learning_rates_.size()) return;
    throw std::invalid_argument(fmt::format(
        "{}: group {} does not exist; there are {} parameter groups", name_,
        group, learning_rates_.size()));
  }

  void check_parameter(std::size_t i) const {
    if (parameters_[i].is_leaf()) return;
    throw std::invalid_argument(
        fmt::format("{}: parameter {} is {}, not a parameter; create it with "
                    "Var<T>{{value}} or adjoint::parameter(tensor)",
                    name_, i, parameters_[i].kind()));
  }

  void check_parameters() const {
    for (std::size_t i = 0; i < parameters_.size(); ++i) check_parameter(i);
  }

  void check_buffer_values(const std::string& key, const std::vector<T>& values,
                           bool non_negative) const {
    using std::isfinite;
    for (std::size_t k = 0; k < values.size(); ++k) {
      if (isfinite(values[k]) && (!non_negative || values[k] >= T(0))) {
        continue;
      }
      throw std::invalid_argument(fmt::format(
          "{}: buffer '{}' element {} is {}; it must be {} to continue a run",
          name_, key, k, static_cast<double>(values[k]),
          non_negative ? "finite and >= 0" : "finite"));
    }
  }

  void check_state(const OptimizerState<T>& state) const {
    if (state.optimizer != name_) {
      throw std::invalid_argument(
          fmt::format("{}: cannot load the state of a {} optimizer", name_,
                      state.optimizer));
    }
    if (state.learning_rates.size() != learning_rates_.size()) {
      throw std::invalid_argument(fmt::format(
          "{}: the state has {} parameter groups, this optimizer {}", name_,
          state.learning_rates.size(), learning_rates_.size()));
    }
    for (const T& rate : state.learning_rates) check_learning_rate(rate);
    std::vector<std::size_t> sizes;
    for (const Parameter<T>& p : parameters_) sizes.push_back(p.size());
    if (state.parameter_sizes != sizes) {
      throw std::invalid_argument(fmt::format(
          "{}: the state's parameter sizes [{}] differ from this optimizer's "
          "[{}]; load a state saved with the same parameters",
          name_, fmt::join(state.parameter_sizes, ", "),
          fmt::join(sizes, ", ")));
    }
    for (const Buffer& buffer : buffers_) {
      for (std::size_t i = 0; i < parameters_.size(); ++i) {
        const std::string key = buffer_key(buffer.name, i);
        const auto found = state.buffers.find(key);
        if (found == state.buffers.end()) {
          throw std::invalid_argument(
              fmt::format("{}: the state has no buffer '{}'", name_, key));
        }
        if (found->second.size() != sizes[i]) {
          throw std::invalid_argument(
              fmt::format("{}: buffer '{}' has {} values; parameter {} has {}",
                          name_, key, found->second.size(), i, sizes[i]));
        }
        check_buffer_values(key, found->second, buffer.non_negative);
      }
    }
    if (state.steps == std::numeric_limits<std::uint64_t>::max()) {
      throw std::invalid_argument(fmt::format(
          "{}: the state's step count {} leaves no room for another step",
          name_, state.steps));
    }
    check_extra(state);
  }

  std::string name_;
  std::vector<Parameter<T>> parameters_;
  std::vector<std::size_t> group_of_;  // group index of each parameter
  std::vector<T> learning_rates_;      // one per group
  std::vector<Buffer> buffers_;
  std::uint64_t steps_ = 0;
};

}  // namespace adjoint::optim
