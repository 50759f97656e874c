#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <deque>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

enum class LineSearch {
  none,          // step by learning_rate along the direction, as given
  strong_wolfe,  // search for a step that meets the strong Wolfe conditions
};

/// Settings of LBFGS, named and defaulted as torch.optim.LBFGS's, except
/// that the strong-Wolfe line search is on by default, where PyTorch uses no
/// line search unless asked.
template <class T>
struct LBFGSOptions {
  T learning_rate = T(1);
  std::size_t max_iter = 20;  // iterations per step()
  // Loss evaluations per step(); empty means max_iter * 5 / 4.
  std::optional<std::size_t> max_eval = std::nullopt;
  T tolerance_grad = T(1e-7);    // stop when max |g_i| is at most this
  T tolerance_change = T(1e-9);  // stop when loss or step changes less
  std::size_t history_size = 100;
  LineSearch line_search = LineSearch::strong_wolfe;
};

/// Limited-memory BFGS (Nocedal and Wright, "Numerical Optimization", 2nd
/// ed., algorithms 7.4 and 7.5), as torch.optim.LBFGS: each step(closure)
/// runs up to max_iter iterations over all parameters as one vector x with
/// gradient g.
///
///     d = -H g     H from the last history_size pairs (s, y) by the
///                  two-loop recursion, scaled by gamma = s'y / y'y of the
///                  newest pair; d = -g on the first iteration
///     x <- x + t d t from the strong-Wolfe line search (c1 = 1e-4,
///                  c2 = 0.9, at most 25 evaluations, cubic interpolation),
///                  started at lr, or min(1, 1 / sum|g_i|) lr on the very
///                  first iteration; with no line search, t is that start
///     s = x_new - x, y = g_new - g, kept only if s'y > 1e-10
///
/// An iteration also stops the step when max |g_i| <= tolerance_grad,
/// when the directional derivative g'd > -tolerance_change, or when the
/// loss or max |t d_i| changes less than tolerance_change. The history
/// carries over from one step() to the next, as in PyTorch.
///
/// NOTE: a step that stops on g'd > -tolerance_change moves nothing, and so
/// does every later one, because the history and the direction stay the
/// same. With max_iter = 1 under minimize() that is a silent stall; set a
/// step_tolerance there, or lower tolerance_change.
template <class T>
class LBFGS : public Optimizer<T> {
 public:
  using Options = LBFGSOptions<T>;
  using typename Optimizer<T>::Closure;

  LBFGS(std::vector<Parameter<T>> parameters, Options options = {})
      : Optimizer<T>("LBFGS", std::move(parameters), options.learning_rate),
        options_(std::move(options)) {
    const std::string& name = this->name();
    check_setting(options_.max_iter > 0, name, "max_iter", options_.max_iter,
                  ">= 1");
    if (!options_.max_eval) {
      // max_iter * 5 / 4 without overflow, capped at the largest size_t.
      const std::size_t n = options_.max_iter;
      const std::size_t cap = std::numeric_limits<std::size_t>::max();
      options_.max_eval = n / 4 > (cap - n) ? cap : n + n / 4;
    }
    check_setting(*options_.max_eval > 0, name, "max_eval", *options_.max_eval,
                  ">= 1");
    check_non_negative(name, "tolerance_grad", options_.tolerance_grad);
    check_non_negative(name, "tolerance_change", options_.tolerance_change);
    check_setting(options_.history_size > 0, name, "history_size",
                  options_.history_size, ">= 1");
    for (const Parameter<T>& p : this->parameters()) size_ += p.size();
  }

  bool needs_closure() const override { return true; }

  const Options& options() const { return options_; }

  /// Returns the number of iterations over all steps so far.
  std::size_t iterations() const { return iterations_; }

  /// Returns the number of loss evaluations over all steps so far.
  std::size_t evaluations() const { return evaluations_; }

 protected:
  // Never called: step() without a closure raises for this optimizer.
  void update() override {}

  T update_with_closure(const Closure& closure,
                        const std::optional<T>& current_loss) override {
    using std::abs;
    Vector g;
    const T first_loss =
        current_loss ? gradient(g, *current_loss) : evaluate_at(closure, g);
    T loss = first_loss;
    std::size_t evaluations = 1;
    check_finite(first_loss, g, "the start of the step");
    if (max_abs(g) <= options_.tolerance_grad) return first_loss;

    const T& lr = this->learning_rate();
    for (std::size_t n = 1; n <= options_.max_iter; ++n) {
      ++iterations_;
      if (iterations_ == 1) {
        direction_ = scaled(g, T(-1));
        y_.clear();
        s_.clear();
        rho_.clear();
        gamma_ = T(1);
      } else {
        remember(g);
        direction_ = two_loop(g);
      }
      previous_gradient_ = g;
      previous_loss_ = loss;

      using std::min;
      t_ = iterations_ == 1 ? T(min(T(1), T(T(1) / sum_abs(g))) * lr) : lr;
      const T slope = dot(g, direction_);
      if (slope > -options_.tolerance_change) break;

      if (options_.line_search == LineSearch::strong_wolfe) {
        const Vector start = values();
        evaluations += strong_wolfe(closure, start, slope, loss, g);
        check_finite(loss, g, "the point the line search accepted");
        set_values(start, t_);
      } else {
        set_values(values(), t_);
        if (n != options_.max_iter) {
          loss = evaluate_at(closure, g);
          check_finite(loss, g, "the new point");
          ++evaluations;
        }
      }

      if (n == options_.max_iter) break;
      if (evaluations >= *options_.max_eval) break;
      if (max_abs(g) <= options_.tolerance_grad) break;
      if (abs(t_) * max_abs(direction_) <= options_.tolerance_change) break;
      if (abs(T(loss - previous_loss_)) < options_.tolerance_change) break;
    }
    return first_loss;
  }

  void save_extra(OptimizerState<T>& state) const override {
    state.buffers["lbfgs.direction"] = direction_;
    state.buffers["lbfgs.previous_gradient"] = previous_gradient_;
    state.buffers["lbfgs.rho"] = std::vector<T>(rho_.begin(), rho_.end());
    state.buffers["lbfgs.scalars"] = {t_, gamma_, previous_loss_,
                                      T(static_cast<double>(iterations_)),
                                      T(static_cast<double>(evaluations_))};
    for (std::size_t k = 0; k < rho_.size(); ++k) {
      state.buffers[fmt::format("lbfgs.y.{}", k)] = y_[k];
      state.buffers[fmt::format("lbfgs.s.{}", k)] = s_[k];
    }
  }

  void check_extra(const OptimizerState<T>& state) const override {
    using std::isfinite;
    const auto entry = [&](const std::string& key) -> const std::vector<T>& {
      const auto found = state.buffers.find(key);
      if (found == state.buffers.end()) {
        throw std::invalid_argument(
            fmt::format("LBFGS: the state has no buffer '{}'", key));
      }
      for (std::size_t k = 0; k < found->second.size(); ++k) {
        if (isfinite(found->second[k])) continue;
        throw std::invalid_argument(fmt::format(
            "LBFGS: buffer '{}' element {} is {}; it must be finite to "
            "continue a run",
            key, k, static_cast<double>(found->second[k])));
      }
      return found->second;
    };

    const auto sized = [&](const std::string& key, std::size_t size) {
      const std::size_t actual = entry(key).size();
      if (actual == size) return;
      throw std::invalid_argument(fmt::format(
          "LBFGS: buffer '{}' has {} values; expected {}", key, actual, size));
    };

    sized("lbfgs.scalars", 5);
    const std::vector<T>& scalars = entry("lbfgs.scalars");
    for (std::size_t k : {3, 4}) {
      // Iteration and evaluation counts are whole numbers that a double
      // represents exactly.
      using std::floor;
      const T& count = scalars[k];
      if (count >= T(0) && count <= T(9007199254740992.0) &&
          count == floor(count)) {
        continue;
      }
      throw std::invalid_argument(fmt::format(
          "LBFGS: the state's {} count {} is not a whole number in [0, 2^53]",
          k == 3 ? "iteration" : "evaluation", static_cast<double>(count)));
    }

    // Before the first iteration the direction and gradient are empty.
    const bool started = scalars[3] > T(0);
    sized("lbfgs.direction", started ? size_ : 0);
    sized("lbfgs.previous_gradient", started ? size_ : 0);
    const std::size_t pairs = entry("lbfgs.rho").size();
    if (pairs > options_.history_size) {
      throw std::invalid_argument(
          fmt::format("LBFGS: the state holds {} correction pairs, more than "
                      "history_size {}",
                      pairs, options_.history_size));
    }
    for (std::size_t k = 0; k < pairs; ++k) {
      sized(fmt::format("lbfgs.y.{}", k), size_);
      sized(fmt::format("lbfgs.s.{}", k), size_);
    }
  }

  void load_extra(const OptimizerState<T>& state) override {
    direction_ = state.buffers.at("lbfgs.direction");
    previous_gradient_ = state.buffers.at("lbfgs.previous_gradient");
    const std::vector<T>& rho = state.buffers.at("lbfgs.rho");
    rho_.assign(rho.begin(), rho.end());
    const std::vector<T>& scalars = state.buffers.at("lbfgs.scalars");
    t_ = scalars[0];
    gamma_ = scalars[1];
    previous_loss_ = scalars[2];
    iterations_ = static_cast<std::size_t>(static_cast<double>(scalars[3]));
    evaluations_ = static_cast<std::size_t>(static_cast<double>(scalars[4]));
    y_.clear();
    s_.clear();
    for (std::size_t k = 0; k < rho_.size(); ++k) {
      y_.push_back(state.buffers.at(fmt::format("lbfgs.y.{}", k)));
      s_.push_back(state.buffers.at(fmt::format("lbfgs.s.{}", k)));
    }
  }

 private:
  using Vector = std::vector<T>;

  // The line search's constants, as in Nocedal and Wright and PyTorch.
  static constexpr double sufficient_decrease = 1e-4;  // c1
  static constexpr double curvature = 0.9;             // c2
  static constexpr std::size_t max_line_search = 25;

  // One evaluation of the line search: x = start + t d.
  struct Trial {
    T t;
    T loss;
    Vector g;
    T slope;  // g'd
  };

  static T dot(const Vector& a, const Vector& b) {
    T sum(0);
    for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
    return sum;
  }

  // Raises std::runtime_error when the loss or gradient at `where` is not
  // finite, since no search direction can be computed from it.
  static void check_finite(const T& loss, const Vector& g, const char* where) {
    using std::isfinite;
    std::size_t bad = g.size();
    for (std::size_t i = 0; i < g.size() && bad == g.size(); ++i) {
      if (!isfinite(g[i])) bad = i;
    }
    if (isfinite(loss) && bad == g.size()) return;
    throw std::runtime_error(fmt::format(
        "LBFGS: the {} at {} is {}, so no search direction exists; start "
        "from a point where the loss and its gradient are finite",
        bad == g.size() ? "loss" : fmt::format("gradient element {}", bad),
        where, static_cast<double>(bad == g.size() ? loss : g[bad])));
  }

  static T max_abs(const Vector& v) {
    using std::abs;
    T largest(0);
    for (const T& x : v) largest = std::max(largest, T(abs(x)));
    return largest;
  }

  static T sum_abs(const Vector& v) {
    using std::abs;
    T sum(0);
    for (const T& x : v) sum += abs(x);
    return sum;
  }

  static Vector scaled(const Vector& v, const T& factor) {
    Vector out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = factor * v[i];
    return out;
  }

  Vector values() {
    Vector x;
    x.reserve(size_);
    for (Parameter<T>& p : this->mutable_parameters()) {
      for (const T& v : p.values()) x.push_back(v);
    }
    return x;
  }

  // Sets the parameters to start + t direction_.
  void set_values(const Vector& start, const T& t) {
    std::size_t i = 0;
    for (Parameter<T>& p : this->mutable_parameters()) {
      for (T& v : p.values()) {
        v = start[i] + t * direction_[i];
        ++i;
      }
    }
  }

  T evaluate_at(const Closure& closure, Vector& g) {
    const T loss = this->evaluate(closure);
    ++evaluations_;
    return gradient(g, loss);
  }

  // Gathers the parameters' gradients into g and returns `loss`.
  T gradient(Vector& g, const T& loss) const {
    g.clear();
    g.reserve(size_);
    for (const Parameter<T>& p : this->parameters()) {
      for (const T& v : p.grad()) g.push_back(v);
    }
    return loss;
  }

  // Adds the pair from the last iteration to the history, unless its
  // curvature s'y is too small to keep H positive definite.
  void remember(const Vector& g) {
    Vector y(size_);
    Vector s(size_);
    for (std::size_t i = 0; i < size_; ++i) {
      y[i] = g[i] - previous_gradient_[i];
      s[i] = t_ * direction_[i];
    }
    const T ys = dot(y, s);
    if (!(ys > T(1e-10))) return;
    if (rho_.size() == options_.history_size) {
      y_.pop_front();
      s_.pop_front();
      rho_.pop_front();
    }
    gamma_ = ys / dot(y, y);
    y_.push_back(std::move(y));
    s_.push_back(std::move(s));
    rho_.push_back(T(1) / ys);
  }

  // Returns -H g by the two-loop recursion over the history.
  Vector two_loop(const Vector& g) const {
    const std::size_t m = rho_.size();
    Vector q = scaled(g, T(-1));
    Vector alpha(m);
    for (std::size_t k = m; k-- > 0;) {
      alpha[k] = rho_[k] * dot(s_[k], q);
      for (std::size_t i = 0; i < size_; ++i) q[i] -= alpha[k] * y_[k][i];
    }
    Vector r = scaled(q, gamma_);
    for (std::size_t k = 0; k < m; ++k) {
      const T beta = rho_[k] * dot(y_[k], r);
      for (std::size_t i = 0; i < size_; ++i) {
        r[i] += s_[k][i] * (alpha[k] - beta);
      }
    }
    return r;
  }

  Trial try_step(const Closure& closure, const Vector& start, const T& t) {
    set_values(start, t);
    Trial trial{t, T(0), {}, T(0)};
    trial.loss = evaluate_at(closure, trial.g);
    trial.slope = dot(trial.g, direction_);
    return trial;
  }

  // Returns the minimizer of the cubic through (x1, f1) and (x2, f2) with
  // slopes g1 and g2, clamped to [low, high], or the midpoint of the bounds
  // when the cubic has no minimizer (Nocedal and Wright, eq. 3.59).
  static T cubic_minimizer(const T& x1, const T& f1, const T& g1, const T& x2,
                           const T& f2, const T& g2, const T& low,
                           const T& high) {
    using std::sqrt;
    const T d1 = g1 + g2 - T(3) * (f1 - f2) / (x1 - x2);
    const T d2_square = d1 * d1 - g1 * g2;
    if (!(d2_square >= T(0))) return (low + high) / T(2);
    const T d2 = sqrt(d2_square);
    const T x =
        x1 <= x2 ? T(x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + T(2) * d2)))
                 : T(x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + T(2) * d2)));
    if (!(x == x)) return (low + high) / T(2);  // 0/0 from equal points
    return std::clamp(x, low, high);
  }

  static T cubic_minimizer(const Trial& a, const Trial& b) {
    const auto [low, high] = std::minmax(a.t, b.t);
    return cubic_minimizer(a.t, a.loss, a.slope, b.t, b.loss, b.slope, low,
                           high);
  }

  // Searches along direction_ from `start` for a step t_ that meets the
  // strong Wolfe conditions (Nocedal and Wright, algorithms 3.5 and 3.6):
  //   f(t) <= f(0) + c1 t f'(0)   and   |f'(t)| <= c2 |f'(0)|.
  // On return the parameters are at start + t_ d, loss and g hold the loss
  // and gradient there, and the result is the number of evaluations.
  std::size_t strong_wolfe(const Closure& closure, const Vector& start,
                           const T& slope0, T& loss, Vector& g) {
    using std::abs;
    const T loss0 = loss;
    const T c1(sufficient_decrease);
    const T c2(curvature);
    const auto sufficient = [&](const Trial& trial) {
      return trial.loss <= loss0 + c1 * trial.t * slope0;
    };
    const auto flat = [&](const Trial& trial) {
      return abs(trial.slope) <= -c2 * slope0;
    };

    Trial previous{T(0), loss0, g, slope0};
    Trial current = try_step(closure, start, t_);
    std::size_t evaluations = 1;

    // Bracketing: grow t until [previous, current] contains an acceptable step.
    Trial low = previous;
    Trial high = current;
    bool done = false;
    bool bracketed = false;
    while (evaluations < max_line_search) {
      if (!sufficient(current) ||
          (evaluations > 1 && current.loss >= previous.loss)) {
        low = previous;
        high = current;
        bracketed = true;
        break;
      }
      if (flat(current)) {
        low = current;
        done = true;
        break;
      }
      if (current.slope >= T(0)) {
        low = current;
        high = previous;
        bracketed = true;
        break;
      }
      const T min_step = current.t + T(0.01) * (current.t - previous.t);
      const T max_step = T(10) * current.t;
      const T next =
          cubic_minimizer(previous.t, previous.loss, previous.slope, current.t,
                          current.loss, current.slope, min_step, max_step);
      previous = std::move(current);
      current = try_step(closure, start, next);
      ++evaluations;
    }
    if (!done && !bracketed) {
      // The evaluation budget ran out while t grew: take the last trial if
      // it decreased the loss, otherwise the trial before it.
      low = current.loss < loss0 ? current : previous;
      done = true;
    }

    // Zoom: shrink [low, high] (low always has the smaller loss) until a
    // trial meets both conditions.
    bool poor_progress = false;
    while (!done && evaluations < max_line_search) {
      if (abs(T(high.t - low.t)) * max_abs(direction_) <
          options_.tolerance_change) {
        break;
      }
      T t = cubic_minimizer(low, high);
      const auto [left, right] = std::minmax(low.t, high.t);
      const T margin = T(0.1) * (right - left);
      using std::min;
      if (min(T(right - t), T(t - left)) < margin) {
        // Too close to an end: move away from it, at once if the last
        // interpolation was already close or fell outside.
        if (poor_progress || t >= right || t <= left) {
          t = abs(T(t - right)) < abs(T(t - left)) ? T(right - margin)
                                                   : T(left + margin);
          poor_progress = false;
        } else {
          poor_progress = true;
        }
      } else {
        poor_progress = false;
      }
      Trial trial = try_step(closure, start, t);
      ++evaluations;
      if (!sufficient(trial) || trial.loss >= low.loss) {
        high = std::move(trial);
      } else {
        if (flat(trial)) {
          done = true;
        } else if (trial.slope * (high.t - low.t) >= T(0)) {
          high = low;
        }
        low = std::move(trial);
      }
    }

    t_ = low.t;
    loss = low.loss;
    g = low.g;
    set_values(start, t_);
    return evaluations;
  }

  Options options_;
  std::size_t size_ = 0;  // total number of parameter elements
  // State carried between steps, as PyTorch keeps it.
  Vector direction_;
  Vector previous_gradient_;
  std::deque<Vector> y_;  // gradient differences, oldest first
  std::deque<Vector> s_;  // steps, oldest first
  std::deque<T> rho_;     // 1 / s'y of each pair
  T t_ = T(0);            // last step length along direction_
  T gamma_ = T(1);        // initial Hessian scale s'y / y'y
  T previous_loss_ = T(0);
  std::size_t iterations_ = 0;
  std::size_t evaluations_ = 0;
};

}  // namespace adjoint::optim
