#pragma once

// The optimizers of the example, the settings each one takes and the
// defaults it runs with on each function.

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "optim/optim.hpp"
#include "problems.hpp"
#include "rprop.hpp"

namespace optimizers {

enum class OptimizerKind {
  gd,
  momentum,
  nesterov,
  adam,
  adamw,
  rmsprop,
  adagrad,
  lbfgs,
  rprop,
};

inline constexpr std::array<OptimizerKind, 9> all_optimizers = {
    OptimizerKind::gd,      OptimizerKind::momentum, OptimizerKind::nesterov,
    OptimizerKind::adam,    OptimizerKind::adamw,    OptimizerKind::rmsprop,
    OptimizerKind::adagrad, OptimizerKind::lbfgs,    OptimizerKind::rprop};

/// Returns the name that --optimizer takes and the table and file names
/// show.
constexpr std::string_view name_of(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::gd:
      return "gd";
    case OptimizerKind::momentum:
      return "momentum";
    case OptimizerKind::nesterov:
      return "nesterov";
    case OptimizerKind::adam:
      return "adam";
    case OptimizerKind::adamw:
      return "adamw";
    case OptimizerKind::rmsprop:
      return "rmsprop";
    case OptimizerKind::adagrad:
      return "adagrad";
    case OptimizerKind::lbfgs:
      return "lbfgs";
    case OptimizerKind::rprop:
      return "rprop";
  }
  return "unknown";
}

/// The optimizer settings of the command line. An empty field keeps the
/// default of the (function, optimizer) pair, and failing that the
/// library's default.
struct Settings {
  std::optional<double> learning_rate;
  std::optional<double> momentum;
  std::optional<double> beta1;
  std::optional<double> beta2;
  std::optional<double> eps;
  std::optional<double> weight_decay;
  std::optional<double> alpha;
};

/// A command-line option that sets a field of Settings, and the optimizers
/// that use it.
struct SettingOption {
  std::string_view option;  // without the leading "--"
  std::optional<double> Settings::*field;
  std::vector<OptimizerKind> optimizers;
};

inline const std::vector<SettingOption>& setting_options() {
  using K = OptimizerKind;
  static const std::vector<SettingOption> options = {
      {"lr",
       &Settings::learning_rate,
       {all_optimizers.begin(), all_optimizers.end()}},
      {"momentum", &Settings::momentum, {K::momentum, K::nesterov, K::rmsprop}},
      {"beta1", &Settings::beta1, {K::adam, K::adamw}},
      {"beta2", &Settings::beta2, {K::adam, K::adamw}},
      {"eps", &Settings::eps, {K::adam, K::adamw, K::rmsprop, K::adagrad}},
      {"weight-decay",
       &Settings::weight_decay,
       {K::gd, K::momentum, K::nesterov, K::adam, K::adamw, K::rmsprop,
        K::adagrad}},
      {"alpha", &Settings::alpha, {K::rmsprop}},
  };
  return options;
}

/// Returns the settings that `kind` runs with on `function` unless the
/// command line overrides them: the learning rate, and momentum 0.9 for
/// momentum and nesterov. The rates were picked from runs at 1e-4, 3e-4,
/// 1e-3, ..., 3 with the default --steps and --tolerance. On the tutorial
/// loss every optimizer converges within 200 steps, except adamw, whose
/// default weight decay slows it to some 8500. On the Rosenbrock function
/// gd, adamw, rmsprop, adagrad and rprop converge at no rate in that range
/// within 10000 steps. There gd uses 1e-3, half the stability limit 2/1001.6
/// at the minimum, and on the tutorial 0.4, the default of
/// examples/gradient_descent. adamw uses adam's rate, so that the table shows
/// what the weight decay changes, and rprop keeps PyTorch's default 0.01 on
/// both functions.
inline Settings default_settings(Function function, OptimizerKind kind) {
  const bool tutorial = function == Function::tutorial;
  Settings settings;
  switch (kind) {
    case OptimizerKind::gd:
      settings.learning_rate = tutorial ? 0.4 : 1e-3;
      break;
    case OptimizerKind::momentum:
    case OptimizerKind::nesterov:
      settings.learning_rate = tutorial ? 0.1 : 1e-3;
      settings.momentum = 0.9;
      break;
    case OptimizerKind::adam:
    case OptimizerKind::adamw:
      settings.learning_rate = 0.1;
      break;
    case OptimizerKind::rmsprop:
      settings.learning_rate = tutorial ? 0.1 : 1e-3;
      break;
    case OptimizerKind::adagrad:
      settings.learning_rate = 1;
      break;
    case OptimizerKind::lbfgs:
      settings.learning_rate = 1;
      break;
    case OptimizerKind::rprop:
      settings.learning_rate = 0.01;
      break;
  }
  return settings;
}

/// Returns `base` with every setting that `overrides` has replaced.
inline Settings merge(Settings base, const Settings& overrides) {
  for (const SettingOption& option : setting_options()) {
    if (overrides.*option.field) base.*option.field = overrides.*option.field;
  }
  return base;
}

template <class Options>
void set_if_given(double Options::*field, Options& options,
                  const std::optional<double>& value) {
  if (value) options.*field = *value;
}

/// Returns Adam's or AdamW's options with the settings given, which the two
/// share.
template <class Options>
Options adam_options(const Settings& settings) {
  Options options;
  set_if_given(&Options::learning_rate, options, settings.learning_rate);
  set_if_given(&Options::beta1, options, settings.beta1);
  set_if_given(&Options::beta2, options, settings.beta2);
  set_if_given(&Options::eps, options, settings.eps);
  set_if_given(&Options::weight_decay, options, settings.weight_decay);
  return options;
}

/// Creates the optimizer `kind` with `settings` over `parameters`. The
/// library raises std::invalid_argument for a setting out of range, naming
/// the setting and its value.
inline std::unique_ptr<adjoint::optim::Optimizer<double>> make_optimizer(
    OptimizerKind kind, const Settings& settings,
    const std::vector<adjoint::Var<double>>& parameters) {
  namespace optim = adjoint::optim;
  std::vector<optim::Parameter<double>> handles(parameters.begin(),
                                                parameters.end());
  switch (kind) {
    case OptimizerKind::gd:
    case OptimizerKind::momentum:
    case OptimizerKind::nesterov: {
      optim::GradientDescentOptions<double> options;
      set_if_given(&decltype(options)::learning_rate, options,
                   settings.learning_rate);
      set_if_given(&decltype(options)::momentum, options, settings.momentum);
      set_if_given(&decltype(options)::weight_decay, options,
                   settings.weight_decay);
      options.nesterov = kind == OptimizerKind::nesterov;
      return std::make_unique<optim::GradientDescent<double>>(
          std::move(handles), options);
    }
    case OptimizerKind::adam:
      return std::make_unique<optim::Adam<double>>(
          std::move(handles),
          adam_options<optim::AdamOptions<double>>(settings));
    case OptimizerKind::adamw:
      return std::make_unique<optim::AdamW<double>>(
          std::move(handles),
          adam_options<optim::AdamWOptions<double>>(settings));
    case OptimizerKind::rmsprop: {
      optim::RMSPropOptions<double> options;
      set_if_given(&decltype(options)::learning_rate, options,
                   settings.learning_rate);
      set_if_given(&decltype(options)::alpha, options, settings.alpha);
      set_if_given(&decltype(options)::eps, options, settings.eps);
      set_if_given(&decltype(options)::weight_decay, options,
                   settings.weight_decay);
      set_if_given(&decltype(options)::momentum, options, settings.momentum);
      return std::make_unique<optim::RMSProp<double>>(std::move(handles),
                                                      options);
    }
    case OptimizerKind::adagrad: {
      optim::AdagradOptions<double> options;
      set_if_given(&decltype(options)::learning_rate, options,
                   settings.learning_rate);
      set_if_given(&decltype(options)::eps, options, settings.eps);
      set_if_given(&decltype(options)::weight_decay, options,
                   settings.weight_decay);
      return std::make_unique<optim::Adagrad<double>>(std::move(handles),
                                                      options);
    }
    case OptimizerKind::lbfgs: {
      // One iteration per step, so that the table counts iterations as
      // steps; the strong-Wolfe line search may evaluate the loss several
      // times in each. The tolerances are off, because with PyTorch's
      // defaults a step does nothing once g'd > -1e-9, which happens near a
      // loss of 1e-10, and every later step repeats the same test. So
      // --tolerance alone decides when the run stops.
      optim::LBFGSOptions<double> options{
          .max_iter = 1, .tolerance_grad = 0, .tolerance_change = 0};
      set_if_given(&decltype(options)::learning_rate, options,
                   settings.learning_rate);
      return std::make_unique<optim::LBFGS<double>>(std::move(handles),
                                                    options);
    }
    case OptimizerKind::rprop: {
      RpropOptions<double> options;
      set_if_given(&decltype(options)::learning_rate, options,
                   settings.learning_rate);
      return std::make_unique<Rprop<double>>(std::move(handles), options);
    }
  }
  throw std::logic_error("make_optimizer: unknown optimizer");
}

}  // namespace optimizers
