#pragma once

// Learning-rate schedules, as in torch.optim.lr_scheduler. A schedule holds a
// reference to an optimizer, which must outlive it, and sets the learning
// rate of every parameter group each time its step() is called, usually
// once per epoch.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

/// The state a schedule changes as it runs. load_state() of a schedule of
/// the same kind continues from it. The plateau fields are used by
/// ReduceLROnPlateau only.
template <class T>
struct ScheduleState {
  std::size_t epoch = 0;
  std::vector<T> base_learning_rates;  // one per group, at construction
  T best = std::numeric_limits<T>::infinity();
  std::size_t bad_epochs = 0;
  std::size_t cooldown_left = 0;

  bool operator==(const ScheduleState&) const = default;
};

/// Base of the schedules whose rate is a function of the epoch count and
/// each group's initial rate (PyTorch's closed forms).
template <class T>
class LearningRateSchedule {
 public:
  LearningRateSchedule(const LearningRateSchedule&) = delete;
  LearningRateSchedule& operator=(const LearningRateSchedule&) = delete;
  virtual ~LearningRateSchedule() = default;

  /// Advances one epoch and sets every group's learning rate.
  void step() { apply(epoch_ + 1, base_); }

  std::size_t epoch() const { return epoch_; }

  /// Returns the learning rate at `epoch` for a group whose initial rate
  /// is `base`.
  virtual T rate(const T& base, std::size_t epoch) const = 0;

  ScheduleState<T> state() const { return {epoch_, base_, T(0), 0, 0}; }

  /// Continues from a saved state and sets the learning rates for its
  /// epoch.
  void load_state(const ScheduleState<T>& state) {
    if (state.base_learning_rates.size() != base_.size()) {
      throw std::invalid_argument(fmt::format(
          "{}: the state has {} base learning rates; the optimizer has {} "
          "parameter groups",
          name_, state.base_learning_rates.size(), base_.size()));
    }
    for (const T& rate : state.base_learning_rates) {
      check_non_negative(name_, "base learning rate", rate);
    }
    apply(state.epoch, state.base_learning_rates);
  }

 protected:
  LearningRateSchedule(const char* name, Optimizer<T>& optimizer)
      : name_(name), optimizer_(optimizer) {
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) {
      base_.push_back(optimizer.learning_rate(g));
    }
  }

  const char* name() const { return name_; }

 private:
  // Sets every group's rate for `epoch` from `base`, then adopts both. A
  // rate that is not finite raises before anything changes.
  void apply(std::size_t epoch, const std::vector<T>& base) {
    using std::isfinite;
    std::vector<T> rates;
    for (const T& initial : base) {
      rates.push_back(rate(initial, epoch));
      if (isfinite(rates.back()) && rates.back() >= T(0)) continue;
      throw std::invalid_argument(fmt::format(
          "{}: the learning rate at epoch {} would be {} (from {}); choose "
          "settings that keep it finite over the epochs you run",
          name_, epoch, static_cast<double>(rates.back()),
          static_cast<double>(initial)));
    }
    for (std::size_t g = 0; g < rates.size(); ++g) {
      optimizer_.set_learning_rate(g, rates[g]);
    }
    epoch_ = epoch;
    base_ = base;
  }

  const char* name_;
  Optimizer<T>& optimizer_;
  std::vector<T> base_;  // initial learning rate of each group
  std::size_t epoch_ = 0;
};

/// Multiplies the rate by gamma every step_size epochs:
/// lr = lr_0 gamma^floor(epoch / step_size).
template <class T>
class StepLR : public LearningRateSchedule<T> {
 public:
  StepLR(Optimizer<T>& optimizer, std::size_t step_size,
         const std::type_identity_t<T>& gamma = T(0.1))
      : LearningRateSchedule<T>("StepLR", optimizer),
        step_size_(step_size),
        gamma_(gamma) {
    check_setting(step_size > 0, "StepLR", "step_size", step_size, ">= 1");
    check_non_negative("StepLR", "gamma", gamma_);
  }

  T rate(const T& base, std::size_t epoch) const override {
    using std::pow;
    return base * T(pow(gamma_, T(static_cast<double>(epoch / step_size_))));
  }

 private:
  std::size_t step_size_;
  T gamma_;
};

/// Multiplies the rate by gamma every epoch: lr = lr_0 gamma^epoch.
template <class T>
class ExponentialLR : public LearningRateSchedule<T> {
 public:
  ExponentialLR(Optimizer<T>& optimizer, const std::type_identity_t<T>& gamma)
      : LearningRateSchedule<T>("ExponentialLR", optimizer), gamma_(gamma) {
    check_non_negative("ExponentialLR", "gamma", gamma_);
  }

  T rate(const T& base, std::size_t epoch) const override {
    using std::pow;
    return base * T(pow(gamma_, T(static_cast<double>(epoch))));
  }

 private:
  T gamma_;
};

/// Cosine annealing (Loshchilov and Hutter, 2017) without restarts:
/// lr = eta_min + (lr_0 - eta_min) (1 + cos(pi epoch / t_max)) / 2, which
/// reaches eta_min at epoch t_max and rises again after it, as PyTorch's
/// closed form does.
template <class T>
class CosineAnnealingLR : public LearningRateSchedule<T> {
 public:
  CosineAnnealingLR(Optimizer<T>& optimizer, std::size_t t_max,
                    const std::type_identity_t<T>& eta_min = T(0))
      : LearningRateSchedule<T>("CosineAnnealingLR", optimizer),
        t_max_(t_max),
        eta_min_(eta_min) {
    check_setting(t_max > 0, "CosineAnnealingLR", "t_max", t_max, ">= 1");
    check_non_negative("CosineAnnealingLR", "eta_min", eta_min_);
  }

  T rate(const T& base, std::size_t epoch) const override {
    using std::acos;
    using std::cos;
    const T pi = acos(T(-1));
    const T phase =
        T(static_cast<double>(epoch)) / T(static_cast<double>(t_max_));
    return eta_min_ + (base - eta_min_) * (T(1) + cos(T(pi * phase))) / T(2);
  }

 private:
  std::size_t t_max_;
  T eta_min_;
};

enum class ThresholdMode {
  relative,  // better means below best (1 - threshold)
  absolute,  // better means below best - threshold
};

/// Settings of ReduceLROnPlateau, named and defaulted as PyTorch's, for a
/// metric that should decrease (a loss).
template <class T>
struct PlateauOptions {
  T factor = T(0.1);  // new rate = old rate * factor
  std::size_t patience = 10;
  T threshold = T(1e-4);
  ThresholdMode threshold_mode = ThresholdMode::relative;
  std::size_t cooldown = 0;  // epochs to wait after a cut
  T min_lr = T(0);
  T eps = T(1e-8);  // cuts smaller than this are skipped
};

/// Cuts the learning rate by `factor` when the metric passed to step() has
/// not improved on the best so far for more than `patience` epochs in a
/// row, then waits `cooldown` epochs before counting again. Rates never go
/// below min_lr. Follows torch.optim.lr_scheduler.ReduceLROnPlateau in
/// mode "min".
template <class T>
class ReduceLROnPlateau {
 public:
  using Options = PlateauOptions<T>;

  explicit ReduceLROnPlateau(Optimizer<T>& optimizer, Options options = {})
      : optimizer_(optimizer), options_(std::move(options)) {
    const char* name = "ReduceLROnPlateau";
    check_setting(options_.factor >= T(0) && options_.factor < T(1), name,
                  "factor", options_.factor, "in [0, 1)");
    check_non_negative(name, "threshold", options_.threshold);
    check_non_negative(name, "min_lr", options_.min_lr);
    check_non_negative(name, "eps", options_.eps);
  }

  ReduceLROnPlateau(const ReduceLROnPlateau&) = delete;
  ReduceLROnPlateau& operator=(const ReduceLROnPlateau&) = delete;

  /// Records the metric of one epoch and cuts the rate if it has stalled.
  /// Returns whether the rate was cut. A NaN metric counts as no
  /// improvement.
  bool step(const T& metric) {
    ++epoch_;
    if (improves(metric)) {
      best_ = metric;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
    if (cooldown_left_ > 0) {
      --cooldown_left_;
      bad_epochs_ = 0;
    }
    if (bad_epochs_ <= options_.patience) return false;
    bool cut = false;
    for (std::size_t g = 0; g < optimizer_.group_count(); ++g) {
      const T old_rate = optimizer_.learning_rate(g);
      const T new_rate =
          std::max(T(old_rate * options_.factor), options_.min_lr);
      if (old_rate - new_rate > options_.eps) {
        optimizer_.set_learning_rate(g, new_rate);
        cut = true;
      }
    }
    cooldown_left_ = options_.cooldown;
    bad_epochs_ = 0;
    return cut;
  }

  const T& best() const { return best_; }
  std::size_t bad_epochs() const { return bad_epochs_; }

  ScheduleState<T> state() const {
    return {epoch_, {}, best_, bad_epochs_, cooldown_left_};
  }

  void load_state(const ScheduleState<T>& state) {
    epoch_ = state.epoch;
    best_ = state.best;
    bad_epochs_ = state.bad_epochs;
    cooldown_left_ = state.cooldown_left;
  }

 private:
  bool improves(const T& metric) const {
    if (options_.threshold_mode == ThresholdMode::relative) {
      return metric < best_ * (T(1) - options_.threshold);
    }
    return metric < best_ - options_.threshold;
  }

  Optimizer<T>& optimizer_;
  Options options_;
  std::size_t epoch_ = 0;
  T best_ = std::numeric_limits<T>::infinity();
  std::size_t bad_epochs_ = 0;
  std::size_t cooldown_left_ = 0;
};

}  // namespace adjoint::optim
