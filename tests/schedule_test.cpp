#define BOOST_TEST_MODULE schedules_and_clipping
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "optim/optim.hpp"
#include "tensor_support.hpp"

using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::message_contains;
using namespace adjoint::optim;

namespace {

// Steps `schedule` and returns the learning rate of group 0 before the
// first step and after each of `epochs` steps.
template <class Schedule>
std::vector<double> rates(GradientDescent<double>& optimizer,
                          Schedule& schedule, std::size_t epochs) {
  std::vector<double> out{optimizer.learning_rate()};
  for (std::size_t k = 0; k < epochs; ++k) {
    schedule.step();
    out.push_back(optimizer.learning_rate());
  }
  return out;
}

void check_rates(const std::vector<double>& actual,
                 const std::vector<double>& expected, double tolerance) {
  BOOST_TEST_REQUIRE(actual.size() == expected.size());
  for (std::size_t k = 0; k < actual.size(); ++k) {
    BOOST_TEST_INFO("epoch " << k);
    BOOST_TEST(std::abs(actual[k] - expected[k]) <=
               tolerance * std::abs(expected[k]));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(schedules)

// Expected rates: torch.optim.lr_scheduler in PyTorch 1.13 on SGD with
// lr = 0.1, printed by scripts/optimizer_reference.py.

BOOST_AUTO_TEST_CASE(step_lr) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  StepLR<double> schedule(optimizer, 3, 0.5);
  check_rates(rates(optimizer, schedule, 8),
              {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025}, 0);
  BOOST_TEST(schedule.epoch() == 8u);
}

BOOST_AUTO_TEST_CASE(exponential_lr) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  ExponentialLR<double> schedule(optimizer, 0.9);
  // PyTorch multiplies step by step; the closed form 0.1 * 0.9^k agrees to
  // rounding.
  check_rates(rates(optimizer, schedule, 5),
              {0.1, 0.09000000000000001, 0.08100000000000002,
               0.07290000000000002, 0.06561000000000002, 0.05904900000000002},
              1e-15);
}

BOOST_AUTO_TEST_CASE(cosine_annealing_lr) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  CosineAnnealingLR<double> schedule(optimizer, 10, 0.001);
  const std::vector<double> actual = rates(optimizer, schedule, 12);
  check_rates(
      actual,
      {0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742,
       0.0657963412215599, 0.0505, 0.03520365877844011, 0.02140463001152259,
       0.010453658778440109, 0.0034227024433899004, 0.001,
       0.0034227024433899004, 0.01045365877844014},
      1e-12);
  BOOST_TEST(actual[5] == (0.1 + 0.001) / 2);  // half way, cos = 0
  BOOST_TEST(actual[10] == 0.001);             // eta_min at t_max
}

BOOST_AUTO_TEST_CASE(each_group_decays_from_its_own_rate) {
  Var<double> a{0.0};
  Var<double> b{0.0};
  GradientDescent<double> optimizer(
      std::vector<ParameterGroup<double>>{{{a}, 0.1}, {{b}, 0.4}}, {});
  ExponentialLR<double> schedule(optimizer, 0.5);
  schedule.step();
  schedule.step();
  BOOST_TEST(optimizer.learning_rate(0) == 0.025);
  BOOST_TEST(optimizer.learning_rate(1) == 0.1);
}

BOOST_AUTO_TEST_CASE(schedule_state_resumes) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  CosineAnnealingLR<double> schedule(optimizer, 10);
  for (int k = 0; k < 4; ++k) schedule.step();
  const ScheduleState<double> saved = schedule.state();
  const OptimizerState<double> optimizer_state = optimizer.state();
  schedule.step();
  const double expected = optimizer.learning_rate();

  // A new optimizer and schedule built with the original settings continue
  // from the saved states.
  Var<double> v{0.0};
  GradientDescent<double> resumed({v}, 0.1);
  CosineAnnealingLR<double> resumed_schedule(resumed, 10);
  resumed.load_state(optimizer_state);
  resumed_schedule.load_state(saved);
  BOOST_TEST(resumed_schedule.epoch() == 4u);
  resumed_schedule.step();
  BOOST_TEST(resumed.learning_rate() == expected);
}

BOOST_AUTO_TEST_CASE(overflowing_schedule_raises_and_keeps_state) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  ExponentialLR<double> schedule(optimizer, 1e100);
  schedule.step();
  schedule.step();
  schedule.step();
  BOOST_TEST(optimizer.learning_rate() == 0.1 * 1e100 * 1e100 * 1e100,
             boost::test_tools::tolerance(1e-14));
  BOOST_CHECK_EXCEPTION(schedule.step(), std::invalid_argument,
                        message_contains({"ExponentialLR", "epoch 4", "inf"}));
  BOOST_TEST(schedule.epoch() == 3u);
  BOOST_TEST(std::isfinite(optimizer.learning_rate()));

  ScheduleState<double> bad = schedule.state();
  bad.epoch = 0;
  bad.base_learning_rates = {std::numeric_limits<double>::quiet_NaN()};
  BOOST_CHECK_EXCEPTION(schedule.load_state(bad), std::invalid_argument,
                        message_contains({"base learning rate", "nan"}));
  BOOST_TEST(schedule.epoch() == 3u);
}

BOOST_AUTO_TEST_CASE(reduce_lr_on_plateau) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  ReduceLROnPlateau<double> schedule(optimizer, {.patience = 2, .cooldown = 1});
  // 3.9999 is not an improvement on 4 under the default relative threshold
  // 1e-4 (it would have to be below 3.9996).
  const std::vector<double> metrics = {5, 4, 4, 4, 4, 3.9999, 4, 4, 4, 4, 4, 4};
  std::vector<double> actual{optimizer.learning_rate()};
  std::vector<bool> cuts;
  for (double metric : metrics) {
    cuts.push_back(schedule.step(metric));
    actual.push_back(optimizer.learning_rate());
  }
  check_rates(
      actual,
      {0.1, 0.1, 0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002,
       0.010000000000000002, 0.010000000000000002, 0.0010000000000000002,
       0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002},
      0);
  BOOST_TEST(cuts[4]);
  BOOST_TEST(cuts[8]);
  BOOST_TEST(!cuts[5]);
  BOOST_TEST(schedule.best() == 4.0);
}

BOOST_AUTO_TEST_CASE(plateau_respects_min_lr_and_absolute_threshold) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  ReduceLROnPlateau<double> schedule(optimizer,
                                     {.factor = 0.5,
                                      .patience = 0,
                                      .threshold = 0.5,
                                      .threshold_mode = ThresholdMode::absolute,
                                      .min_lr = 0.03});
  BOOST_TEST(!schedule.step(10.0));  // first metric is the best
  BOOST_TEST(!schedule.step(9.0));   // 1 below the best: an improvement
  BOOST_TEST(schedule.step(8.6));    // 0.4 below: not an improvement
  BOOST_TEST(optimizer.learning_rate() == 0.05);
  BOOST_TEST(schedule.step(std::numeric_limits<double>::quiet_NaN()));
  BOOST_TEST(optimizer.learning_rate() == 0.03);  // clamped at min_lr
  BOOST_TEST(!schedule.step(8.0));  // already at min_lr: no cut reported
  BOOST_TEST(optimizer.learning_rate() == 0.03);
}

BOOST_AUTO_TEST_CASE(plateau_state_resumes) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  ReduceLROnPlateau<double> schedule(optimizer, {.patience = 1});
  schedule.step(3.0);
  schedule.step(3.0);
  ReduceLROnPlateau<double> resumed(optimizer, {.patience = 1});
  resumed.load_state(schedule.state());
  BOOST_TEST(resumed.best() == 3.0);
  BOOST_TEST(resumed.bad_epochs() == 1u);
  BOOST_TEST(resumed.step(3.0));  // the second bad epoch cuts
  BOOST_TEST(optimizer.learning_rate() == 0.1 * 0.1);
}

BOOST_AUTO_TEST_CASE(invalid_schedule_settings) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  BOOST_CHECK_EXCEPTION(StepLR<double>(optimizer, 0), std::invalid_argument,
                        message_contains({"StepLR", "step_size", "0"}));
  BOOST_CHECK_EXCEPTION(StepLR<double>(optimizer, 2, -0.5),
                        std::invalid_argument,
                        message_contains({"StepLR", "gamma", "-0.5"}));
  BOOST_CHECK_EXCEPTION(
      ExponentialLR<double>(optimizer, std::numeric_limits<double>::infinity()),
      std::invalid_argument,
      message_contains({"ExponentialLR", "gamma", "inf"}));
  BOOST_CHECK_EXCEPTION(CosineAnnealingLR<double>(optimizer, 0),
                        std::invalid_argument,
                        message_contains({"CosineAnnealingLR", "t_max", "0"}));
  BOOST_CHECK_EXCEPTION(CosineAnnealingLR<double>(optimizer, 5, -1.0),
                        std::invalid_argument,
                        message_contains({"eta_min", "-1"}));
  BOOST_CHECK_EXCEPTION(ReduceLROnPlateau<double>(optimizer, {.factor = 1.0}),
                        std::invalid_argument,
                        message_contains({"ReduceLROnPlateau", "factor", "1"}));
  BOOST_CHECK_EXCEPTION(
      ReduceLROnPlateau<double>(optimizer, {.threshold = -0.1}),
      std::invalid_argument, message_contains({"threshold", "-0.1"}));
  BOOST_CHECK_EXCEPTION(ReduceLROnPlateau<double>(optimizer, {.min_lr = -1}),
                        std::invalid_argument,
                        message_contains({"min_lr", "-1"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(clipping)

BOOST_AUTO_TEST_CASE(clip_grad_norm_scales_all_gradients) {
  // Gradients (3, 4) and (0, 0, 12) have the global norm 13.
  Var<double> a{0.0};
  Tensor<double> t = adjoint::parameter(Tensor<double>{0.0, 0.0, 0.0});
  (3.0 * a + sum(t * Tensor<double>{0.0, 4.0, 12.0})).backward();
  GradientDescent<double> optimizer({a, t}, 0.1);
  const double norm = clip_grad_norm(optimizer, 1.3);
  BOOST_TEST(norm == 13.0);
  const double factor = 1.3 / (13.0 + 1e-6);  // PyTorch's formula
  BOOST_TEST(a.grad() == 3.0 * factor);
  BOOST_TEST(t.grad_values()[1] == 4.0 * factor);
  BOOST_TEST(t.grad_values()[2] == 12.0 * factor);
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_leaves_small_gradients) {
  Var<double> a{0.0};
  Var<double> b{0.0};
  (3.0 * a + 4.0 * b).backward();
  GradientDescent<double> optimizer({a, b}, 0.1);
  BOOST_TEST(clip_grad_norm(optimizer, 6.0) == 5.0);
  BOOST_TEST(a.grad() == 3.0);
  BOOST_TEST(b.grad() == 4.0);
  // At exactly max_norm the 1e-6 in the factor still scales, as in PyTorch.
  BOOST_TEST(clip_grad_norm(optimizer, 5.0) == 5.0);
  BOOST_TEST(a.grad() == 3.0 * 5.0 / (5.0 + 1e-6));
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_other_norms) {
  Var<double> a{0.0};
  Var<double> b{0.0};
  (-3.0 * a + 4.0 * b).backward();
  GradientDescent<double> optimizer({a, b}, 0.1);
  const double infinity = std::numeric_limits<double>::infinity();
  BOOST_TEST(clip_grad_norm(optimizer, 8.0, infinity) == 4.0);
  BOOST_TEST(clip_grad_norm(optimizer, 8.0, 1.0) == 7.0);
  const double norm = clip_grad_norm(optimizer, 2.0, 1.0);
  BOOST_TEST(norm == 7.0);
  BOOST_TEST(std::abs(a.grad() + 3.0 * 2.0 / (7.0 + 1e-6)) <= 1e-15);
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_rejects_non_finite) {
  Var<double> a{0.0};
  (std::numeric_limits<double>::infinity() * a).backward();
  GradientDescent<double> optimizer({a}, 0.1);
  BOOST_CHECK_EXCEPTION(
      clip_grad_norm(optimizer, 1.0), std::runtime_error,
      message_contains({"clip_grad_norm", "gradient element", "inf"}));
  BOOST_TEST(std::isinf(a.grad()));  // left as it was
  BOOST_CHECK_EXCEPTION(clip_grad_norm(optimizer, -1.0), std::invalid_argument,
                        message_contains({"max_norm", "-1"}));
  BOOST_CHECK_EXCEPTION(clip_grad_norm(optimizer, 1.0, 0.0),
                        std::invalid_argument,
                        message_contains({"norm_type", "0"}));
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_extreme_values) {
  // Relative to the largest element, huge gradients and extreme orders
  // still give the right norm.
  Var<double> a{0.0};
  Var<double> b{0.0};
  (3e200 * a + 4e200 * b).backward();
  GradientDescent<double> optimizer({a, b}, 0.1);
  BOOST_TEST(clip_grad_norm(optimizer, 1e300) == 5e200,
             boost::test_tools::tolerance(1e-15));
  optimizer.zero_grad();
  (0.5 * a + 0.25 * b).backward();
  // The p-norm tends to the largest magnitude as p grows.
  BOOST_TEST(clip_grad_norm(optimizer, 0.25, 1e300) == 0.5);
  BOOST_TEST(std::abs(a.grad() - 0.5 * 0.25 / (0.5 + 1e-6)) <= 1e-15);
  optimizer.zero_grad();
  (0.5 * a + 0.25 * b).backward();
  BOOST_CHECK_EXCEPTION(clip_grad_norm(optimizer, 1.0, 1e-300),
                        std::runtime_error,
                        message_contains({"order 1e-300", "overflows"}));
  BOOST_TEST(a.grad() == 0.5);  // left as it was
}

BOOST_AUTO_TEST_CASE(clip_grad_value_clamps_each_element) {
  Tensor<double> t = adjoint::parameter(Tensor<double>{0.0, 0.0, 0.0, 0.0});
  sum(t * Tensor<double>{-5.0, -0.5, 0.5, 5.0}).backward();
  GradientDescent<double> optimizer({t}, 0.1);
  clip_grad_value(optimizer, 1.0);
  const std::vector<double> expected = {-1.0, -0.5, 0.5, 1.0};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(t.grad_values()[i] == expected[i]);
  }
  BOOST_CHECK_EXCEPTION(clip_grad_value(optimizer, -1.0), std::invalid_argument,
                        message_contains({"clip_value", "-1"}));
}

BOOST_AUTO_TEST_CASE(clipping_inside_minimize) {
  // Clipping in the observer bounds every step of gradient descent to
  // lr * max_norm, so a rate that diverges without clipping converges.
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  const auto loss = [&] {
    Var<double> sum;
    for (double x : {1.0, 2.0, 3.0}) sum += square(2 * x - w * x);
    return sum;
  };
  StopCriteria criteria;
  criteria.loss_tolerance = 1e-20;
  criteria.max_steps = 50;
  const auto unclipped = minimize(optimizer, loss, criteria);
  BOOST_TEST(diverged(unclipped.reason));

  w.set_value(0.0);
  GradientDescent<double> clipped_optimizer({w}, 0.02);
  criteria.max_steps = 1000;
  std::vector<double> steps;
  const auto clipped =
      minimize(clipped_optimizer, loss, criteria, [&](std::size_t, double) {
        clip_grad_norm(clipped_optimizer, 10.0);
        steps.push_back(w.value());
      });
  BOOST_TEST(converged(clipped.reason));
  BOOST_TEST(std::abs(steps.at(1) - steps.at(0)) <= 0.02 * 10.0);
}

BOOST_AUTO_TEST_SUITE_END()
