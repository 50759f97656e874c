#define BOOST_TEST_MODULE optim
#include "optim/optim.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace adjoint::optim {

// Lets Boost.Test print a StopReason in a failed check.
std::ostream& operator<<(std::ostream& out, StopReason reason) {
  return out << describe(reason);
}

}  // namespace adjoint::optim

using adjoint::Var;
using adjoint::optim::GradientDescent;
using adjoint::optim::minimize;
using adjoint::optim::StopCriteria;
using adjoint::optim::StopReason;

namespace {

// J(w) = sum((z - w x)^2) on x = 1, 2, 3 and z = 2x, so sum(x^2) = 14 and
// the minimum is at w = 2.
Var<double> tutorial_loss(const Var<double>& w) {
  const double xs[] = {1, 2, 3};
  Var<double> loss;
  for (double x : xs) loss += adjoint::square(2 * x - w * x);
  return loss;
}

bool message_contains(const std::exception& error, const std::string& text) {
  return std::string(error.what()).find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optim)

BOOST_AUTO_TEST_CASE(gradient_descent_one_step) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.01);
  tutorial_loss(w).backward();
  BOOST_TEST(w.grad() == -56.0);
  optimizer.step();
  BOOST_TEST(w.value() == 0.56);
}

BOOST_AUTO_TEST_CASE(step_updates_every_copy) {
  Var<double> a{1.0};
  Var<double> b{-2.0};
  GradientDescent<double> optimizer({a, b}, 0.5);
  (a * b).backward();
  optimizer.step();
  BOOST_TEST(a.value() == 2.0);   // 1 - 0.5 * (-2)
  BOOST_TEST(b.value() == -2.5);  // -2 - 0.5 * 1
}

BOOST_AUTO_TEST_CASE(zero_grad_clears_parameters) {
  Var<double> w{3.0};
  GradientDescent<double> optimizer({w}, 0.1);
  adjoint::square(w).backward();
  BOOST_TEST(w.grad() == 6.0);
  optimizer.zero_grad();
  BOOST_TEST(w.grad() == 0.0);
}

BOOST_AUTO_TEST_CASE(step_records_nothing) {
  Var<double> w{3.0};
  GradientDescent<double> optimizer({w}, 0.1);
  adjoint::square(w).backward();
  optimizer.step();
  BOOST_TEST(adjoint::Tape<double>::active().size() == 0u);
}

BOOST_AUTO_TEST_CASE(rejects_negative_learning_rate) {
  Var<double> w{0.0};
  BOOST_CHECK_EXCEPTION(GradientDescent<double>({w}, -0.1),
                        std::invalid_argument, [](const auto& error) {
                          return message_contains(error, "learning_rate -0.1");
                        });
}

BOOST_AUTO_TEST_CASE(rejects_non_finite_learning_rate) {
  Var<double> w{0.0};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BOOST_CHECK_THROW(GradientDescent<double>({w}, nan), std::invalid_argument);
  GradientDescent<double> optimizer({w}, 0.1);
  BOOST_CHECK_THROW(
      optimizer.set_learning_rate(std::numeric_limits<double>::infinity()),
      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(rejects_empty_parameter_list) {
  BOOST_CHECK_EXCEPTION(
      GradientDescent<double>({}, 0.1), std::invalid_argument,
      [](const auto& error) { return message_contains(error, "empty"); });
}

BOOST_AUTO_TEST_CASE(rejects_constant_and_intermediate) {
  Var<double> w{1.0};
  BOOST_CHECK_EXCEPTION(
      GradientDescent<double>({w, adjoint::constant(2.0)}, 0.1),
      std::invalid_argument,
      [](const auto& error) { return message_contains(error, "parameter 1"); });
  BOOST_CHECK_THROW(GradientDescent<double>({w * 2.0}, 0.1),
                    std::invalid_argument);
  adjoint::Tape<double>::active().clear();
}

BOOST_AUTO_TEST_CASE(rejects_repeated_parameter) {
  Var<double> w{1.0};
  const Var<double> copy = w;
  BOOST_CHECK_EXCEPTION(GradientDescent<double>({w, w}, 0.1),
                        std::invalid_argument, [](const auto& error) {
                          return message_contains(
                              error, "parameters 0 and 1 are the same");
                        });
  BOOST_CHECK_THROW(GradientDescent<double>({w, Var<double>{2.0}, copy}, 0.1),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(minimize_converges_on_loss) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.01);
  StopCriteria criteria;
  criteria.loss_tolerance = 1e-10;
  const auto result = minimize(
      optimizer, [&] { return tutorial_loss(w); }, criteria);
  BOOST_TEST(result.reason == StopReason::loss_below_tolerance);
  BOOST_TEST(result.loss <= 1e-10);
  BOOST_TEST(std::abs(w.value() - 2.0) < 1e-5);
  // The error w - 2 shrinks by 0.72 per step, so the loss 56 * 0.72^(2k)
  // falls under 1e-10 first at k = 42.
  BOOST_TEST(result.steps == 42u);
}

BOOST_AUTO_TEST_CASE(minimize_converges_on_step_size) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.01);
  StopCriteria criteria;
  criteria.step_tolerance = 1e-6;
  const auto result = minimize(
      optimizer, [&] { return tutorial_loss(w); }, criteria);
  BOOST_TEST(result.reason == StopReason::step_below_tolerance);
  BOOST_TEST(adjoint::optim::converged(result.reason));
  BOOST_TEST(std::abs(w.value() - 2.0) < 1e-5);
}

BOOST_AUTO_TEST_CASE(minimize_converges_on_gradient) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.01);
  StopCriteria criteria;
  criteria.gradient_tolerance = 1e-6;
  std::vector<double> gradients;
  const auto result = minimize(
      optimizer, [&] { return tutorial_loss(w); }, criteria,
      [&](std::size_t, double) { gradients.push_back(w.grad()); });
  BOOST_TEST(result.reason == StopReason::gradient_below_tolerance);
  BOOST_TEST(std::abs(gradients.back()) <= 1e-6);
  BOOST_TEST(std::abs(gradients[gradients.size() - 2]) > 1e-6);
  BOOST_TEST(adjoint::optim::gradient_norm(optimizer) == std::abs(w.grad()));
}

BOOST_AUTO_TEST_CASE(gradient_norm_of_several_parameters) {
  Var<double> a{3.0};
  Var<double> b{4.0};
  GradientDescent<double> optimizer({a, b}, 0.1);
  (a * 3.0 + b * 4.0).backward();
  BOOST_TEST(adjoint::optim::gradient_norm(optimizer) == 5.0);
}

BOOST_AUTO_TEST_CASE(gradient_norm_at_the_ends_of_the_range) {
  Var<double> a{0.0};
  Var<double> b{0.0};
  GradientDescent<double> optimizer({a, b}, 0.1);
  // Squared, 3e-300 and 4e-300 underflow to 0, and 3e200 and 4e200
  // overflow to inf.
  (a * 3e-300 + b * 4e-300).backward();
  BOOST_TEST(adjoint::optim::gradient_norm(optimizer) == 5e-300,
             boost::test_tools::tolerance(1e-15));
  optimizer.zero_grad();
  (a * 3e200 + b * 4e200).backward();
  BOOST_TEST(adjoint::optim::gradient_norm(optimizer) == 5e200,
             boost::test_tools::tolerance(1e-15));
  optimizer.zero_grad();
  (a * std::numeric_limits<double>::quiet_NaN() + b * 1.0).backward();
  BOOST_TEST(std::isnan(adjoint::optim::gradient_norm(optimizer)));
}

BOOST_AUTO_TEST_CASE(tiny_gradient_does_not_converge) {
  // A gradient of 2e-304 squares to 0, but it is not below a tolerance of 0.
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 1e-300);
  StopCriteria criteria;
  criteria.gradient_tolerance = 0.0;
  criteria.max_steps = 3;
  const auto result = minimize(
      optimizer, [&] { return w * 2e-304; }, criteria);
  BOOST_TEST(result.reason == StopReason::max_steps_reached);
}

BOOST_AUTO_TEST_CASE(minimize_stops_at_step_limit) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 1e-6);
  StopCriteria criteria;
  criteria.loss_tolerance = 1e-10;
  criteria.max_steps = 25;
  std::size_t observed = 0;
  const auto result = minimize(
      optimizer, [&] { return tutorial_loss(w); }, criteria,
      [&](std::size_t step, double) { observed = step + 1; });
  BOOST_TEST(result.reason == StopReason::max_steps_reached);
  BOOST_TEST(result.steps == 25u);
  BOOST_TEST(observed == 26u);  // the start and 25 updated points
  BOOST_TEST(!adjoint::optim::converged(result.reason));
}

BOOST_AUTO_TEST_CASE(minimize_detects_growing_loss) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);  // factor -1.8 per step
  StopCriteria criteria;
  criteria.growth_limit = 3;
  const auto result = minimize(
      optimizer, [&] { return tutorial_loss(w); }, criteria);
  BOOST_TEST(result.reason == StopReason::loss_growing);
  BOOST_TEST(result.steps == 3u);
  BOOST_TEST(adjoint::optim::diverged(result.reason));
}

BOOST_AUTO_TEST_CASE(minimize_detects_non_finite_loss) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  StopCriteria criteria;
  criteria.growth_limit = 0;
  criteria.max_steps = 100000;
  const auto result = minimize(
      optimizer, [&] { return tutorial_loss(w); }, criteria);
  BOOST_TEST(result.reason == StopReason::loss_not_finite);
  // 56 * 1.8^(2k) first overflows double at k = 601.
  BOOST_TEST(result.steps == 601u);
  BOOST_TEST(std::isfinite(w.value()));
}

BOOST_AUTO_TEST_CASE(observer_sees_gradient_of_each_step) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.01);
  StopCriteria criteria;
  criteria.max_steps = 2;
  std::vector<double> gradients;
  minimize(
      optimizer, [&] { return tutorial_loss(w); }, criteria,
      [&](std::size_t, double) { gradients.push_back(w.grad()); });
  BOOST_TEST(gradients.size() == 3u);
  BOOST_TEST(gradients[0] == -56.0);
  // dJ/dw = -2 * 14 * (2 - w) at w = 0.56 and w = 0.9632.
  BOOST_TEST(gradients[1] == -40.32, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(gradients[2] == -29.0304, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_SUITE_END()
