#define BOOST_TEST_MODULE gradient_cases
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <source_location>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "optim/optim.hpp"

// Reference gradient cases written with the scalar API, each followed by
// neighbouring cases of the same kind of fault. Every expected value names
// its source: a hand derivation, PyTorch 1.13 (float64, Debian 12's
// python3-torch) or mpmath at 40 to 60 digits.

namespace {

using adjoint::graph_error;
using adjoint::NoGradGuard;
using adjoint::Var;
using adjoint::testing::expect_close;

constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr double quiet_nan = std::numeric_limits<double>::quiet_NaN();

/// Tolerance of the cases that give one: |got - want| <= 1e-12 + 1e-12 |want|.
constexpr double tolerance = 1e-12;

void expect_near(
    double got, double want,
    std::source_location caller = std::source_location::current()) {
  expect_close(got, want, tolerance, tolerance, caller);
}

/// Makes one independent parameter per value. A vector filled with copies
/// of one Var would hold a single shared parameter.
std::vector<Var<double>> parameters(const std::vector<double>& values) {
  std::vector<Var<double>> result;
  for (const double value : values) result.emplace_back(value);
  return result;
}

struct EmptyTape {
  EmptyTape() { adjoint::Tape<double>::active().clear(); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(gradient_cases, EmptyTape)

// Reuse of an intermediate node

BOOST_AUTO_TEST_CASE(intermediate_node_reused) {
  Var<double> x{2.0};
  Var<double> y{3.0};
  Var<double> z{2.0};
  const Var<double> a = x * y;
  const Var<double> b = z + 1.0;
  const Var<double> loss = a * a + a + (b * b) * (b * 3.0);
  loss.backward();
  // Hand: a = 6 and b = 3, so L = a^2 + a + 3 b^3 = 123, dL/da = 2a + 1 =
  // 13 and dL/db = 9 b^2 = 81: dx = 13 y = 39, dy = 13 x = 26, dz = 81.
  expect_near(loss.value(), 123.0);
  expect_near(x.grad(), 39.0);
  expect_near(y.grad(), 26.0);
  expect_near(z.grad(), 81.0);
}

BOOST_AUTO_TEST_CASE(parameter_squared_by_product) {
  Var<double> x{3.0};
  const Var<double> loss = x * x;
  loss.backward();
  // Hand: d(x^2)/dx = 2x.
  expect_near(loss.value(), 9.0);
  expect_near(x.grad(), 6.0);
}

BOOST_AUTO_TEST_CASE(intermediate_divided_by_itself) {
  Var<double> x{1.0};
  Var<double> y{4.0};
  const Var<double> a = x / y;
  const Var<double> loss = a / a + a * a;
  loss.backward();
  // Hand: a / a contributes 1/a - a/a^2 = 0, so dL/da = 2a = 0.5,
  // dx = 0.5 / y = 0.125 and dy = -0.5 x / y^2 = -0.03125.
  expect_near(loss.value(), 1.0625);
  expect_near(x.grad(), 0.125);
  expect_near(y.grad(), -0.03125);
}

BOOST_AUTO_TEST_CASE(intermediate_with_three_consumers) {
  Var<double> x{0.5};
  Var<double> y{0.25};
  const Var<double> u = x + y;
  const Var<double> loss = (u * u) * sin(u) + u;
  loss.backward();
  // PyTorch: u = x + y; L = (u * u) * torch.sin(u) + u.
  expect_near(loss.value(), 1.1334218025131255);
  expect_near(x.grad(), 2.434033128776526);
  expect_near(y.grad(), 2.434033128776526);
}

BOOST_AUTO_TEST_CASE(intermediate_reused_down_chain) {
  Var<double> x{1.5};
  Var<double> y{-2.0};
  const Var<double> a = x * y;
  const Var<double> b = a + x;
  const Var<double> loss = b * a + b * b;
  loss.backward();
  // PyTorch, and by hand: a = -3, b = -1.5, L = 4.5 + 2.25.
  expect_near(loss.value(), 6.75);
  expect_near(x.grad(), 9.0);
  expect_near(y.grad(), -11.25);
}

// backward() more than once

BOOST_AUTO_TEST_CASE(backward_called_twice) {
  Var<double> a{3.0};
  Var<double> b{2.0};
  Var<double> d{1.0};
  const Var<double> c = a + b;
  const Var<double> e = c * d;
  e.backward(adjoint::retain_graph);
  e.backward();
  // Hand: one pass gives de/da = de/db = d = 1 and de/dd = c = 5. Two
  // passes without zero_grad() give exactly twice that.
  expect_near(e.value(), 5.0);
  expect_near(a.grad(), 2.0);
  expect_near(b.grad(), 2.0);
  expect_near(d.grad(), 10.0);
  BOOST_TEST(a.grad() == 2.0);
  BOOST_TEST(d.grad() == 10.0);
}

BOOST_AUTO_TEST_CASE(backward_called_three_times) {
  Var<double> a{3.0};
  Var<double> b{2.0};
  Var<double> d{1.0};
  const Var<double> e = (a + b) * d;
  e.backward(adjoint::retain_graph);
  e.backward(adjoint::retain_graph);
  e.backward();
  // Hand: three times the single pass (1, 1, 5).
  BOOST_TEST(a.grad() == 3.0);
  BOOST_TEST(b.grad() == 3.0);
  BOOST_TEST(d.grad() == 15.0);
}

BOOST_AUTO_TEST_CASE(zero_grad_between_backward_calls) {
  Var<double> a{3.0};
  Var<double> b{2.0};
  Var<double> d{1.0};
  const Var<double> e = (a + b) * d;
  e.backward(adjoint::retain_graph);
  a.zero_grad();
  b.zero_grad();
  d.zero_grad();
  e.backward();
  // Hand: the single pass (1, 1, 5).
  BOOST_TEST(a.grad() == 1.0);
  BOOST_TEST(b.grad() == 1.0);
  BOOST_TEST(d.grad() == 5.0);
}

BOOST_AUTO_TEST_CASE(two_outputs_of_one_graph) {
  Var<double> a{3.0};
  Var<double> b{2.0};
  Var<double> d{1.0};
  const Var<double> c = a + b;
  const Var<double> e = c * d;
  const Var<double> f = c * c;
  e.backward(adjoint::retain_graph);
  f.backward();
  // Hand: de/da = d = 1 plus df/da = 2c = 10. de/dd = c = 5, since f has
  // no d.
  BOOST_TEST(a.grad() == 11.0);
  BOOST_TEST(b.grad() == 11.0);
  BOOST_TEST(d.grad() == 5.0);
}

BOOST_AUTO_TEST_CASE(second_backward_without_retain_raises) {
  Var<double> a{3.0};
  Var<double> b{2.0};
  Var<double> d{1.0};
  const Var<double> e = (a + b) * d;
  e.backward();
  BOOST_CHECK_THROW(e.backward(), graph_error);
  // Hand: the single pass (1, 1, 5), unchanged by the failed call.
  BOOST_TEST(a.grad() == 1.0);
  BOOST_TEST(b.grad() == 1.0);
  BOOST_TEST(d.grad() == 5.0);
}

// pow at a zero base

BOOST_AUTO_TEST_CASE(pow_zero_base) {
  const std::vector<Var<double>> x = parameters({0, 0, 0, 0, 0});
  const std::vector<double> p = {3, 2, 1, 0, 0.5};
  const std::vector<double> a = {0, 2};
  const std::vector<Var<double>> b = parameters({1, 1});
  Var<double> loss;
  for (std::size_t i = 0; i < x.size(); ++i) loss = loss + pow(x[i], p[i]);
  for (std::size_t j = 0; j < b.size(); ++j) loss = loss + pow(a[j], b[j]);
  loss.backward();
  // PyTorch: L = (x ** p).sum() + (a ** b).sum(), with 0^0 = 1.
  expect_near(loss.value(), 3.0);
  const std::vector<double> dx = {0, 0, 1, 0, infinity};
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST_CONTEXT("x[" << i << "]") { expect_near(x[i].grad(), dx[i]); }
  }
  expect_near(b[0].grad(), 0.0);
  expect_near(b[1].grad(), 1.3862943611198906);
}

BOOST_AUTO_TEST_CASE(pow_zero_base_both_variables) {
  const std::vector<Var<double>> x = parameters({0, 0, 0, 0, 0});
  const std::vector<Var<double>> p = parameters({3, 2, 1, 0, 0.5});
  Var<double> loss;
  for (std::size_t i = 0; i < x.size(); ++i) loss = loss + pow(x[i], p[i]);
  loss.backward();
  // PyTorch: (x ** p).sum() with both tensors requiring grad. d/dp is 0,
  // not 0 * log(0), for every p >= 0.
  expect_near(loss.value(), 1.0);
  const std::vector<double> dx = {0, 0, 1, 0, infinity};
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST_CONTEXT("index " << i) {
      expect_near(x[i].grad(), dx[i]);
      expect_near(p[i].grad(), 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(pow_zero_base_negative_exponent) {
  const std::vector<Var<double>> x = parameters({0, 0});
  const std::vector<Var<double>> p = parameters({-1, -2});
  const Var<double> loss = pow(x[0], p[0]) + pow(x[1], p[1]);
  loss.backward();
  // PyTorch: 0^p = inf, d/dx = p 0^(p-1) = -inf, d/dp = inf * log(0) = -inf.
  expect_near(loss.value(), infinity);
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST_CONTEXT("index " << i) {
      expect_near(x[i].grad(), -infinity);
      expect_near(p[i].grad(), -infinity);
    }
  }
}

BOOST_AUTO_TEST_CASE(pow_negative_zero_base) {
  const std::vector<double> p = {3, 1, 0.5, -1};
  const std::vector<double> value = {-0.0, -0.0, 0.0, -infinity};
  const std::vector<double> dx = {0, 1, infinity, -infinity};
  for (std::size_t i = 0; i < p.size(); ++i) {
    BOOST_TEST_CONTEXT("exponent " << p[i]) {
      Var<double> x{-0.0};
      const Var<double> power = pow(x, p[i]);
      power.backward();
      // PyTorch: torch.tensor(-0.0) ** p, which follows C's pow for the
      // value and p x^(p-1) for the gradient.
      expect_near(power.value(), value[i]);
      BOOST_TEST(std::signbit(power.value()) == std::signbit(value[i]));
      expect_near(x.grad(), dx[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE(pow_negative_base_integer_exponent) {
  const std::vector<Var<double>> x = parameters({-2, -2, -2});
  const std::vector<double> p = {2, 3, -1};
  Var<double> loss;
  for (std::size_t i = 0; i < x.size(); ++i) loss = loss + pow(x[i], p[i]);
  loss.backward();
  // PyTorch, and by hand: 4 - 8 - 0.5; d/dx = 2x, 3x^2, -x^-2.
  expect_near(loss.value(), -4.5);
  expect_near(x[0].grad(), -4.0);
  expect_near(x[1].grad(), 12.0);
  expect_near(x[2].grad(), -0.25);

  // d/dp of (-2)^p is (-2)^p log(-2), which is not real: NaN, as in PyTorch.
  const std::vector<Var<double>> b = parameters({2, 3});
  const Var<double> signed_powers = pow(-2.0, b[0]) + pow(-2.0, b[1]);
  signed_powers.backward();
  expect_near(signed_powers.value(), -4.0);
  expect_near(b[0].grad(), quiet_nan);
  expect_near(b[1].grad(), quiet_nan);
}

// Kinks

BOOST_AUTO_TEST_CASE(relu_abs_at_kink) {
  const std::vector<Var<double>> r = parameters({-1, 0, 2});
  const std::vector<Var<double>> a = parameters({-1, 0, 2});
  Var<double> loss;
  for (const Var<double>& v : r) loss = loss + relu(v);
  for (const Var<double>& v : a) loss = loss + abs(v);
  loss.backward();
  // PyTorch: torch.relu(r).sum() + torch.abs(a).sum(), with relu'(0) = 0
  // and abs'(0) = 0.
  expect_near(loss.value(), 5.0);
  const std::vector<double> dr = {0, 0, 1};
  const std::vector<double> da = {-1, 0, 1};
  for (std::size_t i = 0; i < r.size(); ++i) {
    BOOST_TEST_CONTEXT("index " << i) {
      expect_near(r[i].grad(), dr[i]);
      expect_near(a[i].grad(), da[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE(max_and_min_with_zero_at_kink) {
  // max(x, 0) is torch.maximum, not relu: the tie at 0 gives 1/2.
  const std::vector<Var<double>> x = parameters({-1, 0, 2});
  const std::vector<Var<double>> y = parameters({-1, 0, 2});
  Var<double> loss;
  for (const Var<double>& v : x) loss = loss + max(v, 0.0);
  for (const Var<double>& v : y) loss = loss + min(v, 0.0);
  loss.backward();
  // PyTorch: torch.maximum(x, zeros) and torch.minimum(y, zeros).
  expect_near(loss.value(), 1.0);
  const std::vector<double> dx = {0, 0.5, 1};
  const std::vector<double> dy = {1, 0.5, 0};
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST_CONTEXT("index " << i) {
      expect_near(x[i].grad(), dx[i]);
      expect_near(y[i].grad(), dy[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE(relu_abs_at_signed_zero_and_tiny) {
  const std::vector<Var<double>> x = parameters({-0.0, 0.0, 1e-300, -1e-300});
  Var<double> loss;
  for (const Var<double>& v : x) loss = loss + relu(v) + abs(v);
  loss.backward();
  // PyTorch: torch.relu(x).sum() + torch.abs(x).sum(). Both zeros are the
  // kink; ±1e-300 are ordinary points.
  expect_near(loss.value(), 3e-300);
  const std::vector<double> dx = {0, 0, 2, -1};
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST_CONTEXT("index " << i) { expect_near(x[i].grad(), dx[i]); }
  }
}

BOOST_AUTO_TEST_CASE(max_tie_and_nan_operand) {
  Var<double> a{1.5};
  Var<double> b{1.5};
  max(a, b).backward();
  // PyTorch: torch.maximum splits a tie, 1/2 to each operand.
  expect_near(a.grad(), 0.5);
  expect_near(b.grad(), 0.5);

  Var<double> n{quiet_nan};
  Var<double> one{1.0};
  const Var<double> m = max(n, one);
  m.backward();
  // PyTorch: torch.maximum(nan, 1) is NaN and both operands get 1.
  expect_near(m.value(), quiet_nan);
  expect_near(n.grad(), 1.0);
  expect_near(one.grad(), 1.0);
}

// Saturation

BOOST_AUTO_TEST_CASE(tanh_sigmoid_saturation) {
  const std::vector<double> points = {-1000, -20, 0, 20, 1000};
  const std::vector<Var<double>> x = parameters(points);
  const std::vector<Var<double>> y = parameters(points);
  Var<double> loss;
  for (const Var<double>& v : x) loss = loss + tanh(v);
  for (const Var<double>& v : y) loss = loss + sigmoid(v);
  loss.backward();
  // mpmath at 60 digits: tanh'(x) = 1 / cosh(x)^2 and sigmoid'(x) =
  // e^-|x| / (1 + e^-|x|)^2. PyTorch 1.13 does not serve here: it computes
  // 1 - tanh^2, which is 0 at ±20, and s (1 - s), which is 3.6e-8 off
  // relative at 20.
  expect_near(loss.value(), 2.5);
  const std::vector<double> dx = {0, 1.6993417021166355e-17, 1,
                                  1.6993417021166355e-17, 0};
  const std::vector<double> dy = {0, 2.061153613941849e-09, 0.25,
                                  2.061153613941849e-09, 0};
  for (std::size_t i = 0; i < points.size(); ++i) {
    BOOST_TEST_CONTEXT("x = " << points[i]) {
      expect_near(x[i].grad(), dx[i]);
      expect_near(y[i].grad(), dy[i]);
      // The derivative formulas are accurate to 1e-15 relative, far beyond
      // the case's absolute tolerance of 1e-12.
      expect_close(x[i].grad(), dx[i], 0, 1e-15);
      expect_close(y[i].grad(), dy[i], 0, 1e-15);
    }
  }
}

BOOST_AUTO_TEST_CASE(tanh_sigmoid_past_double_rounding) {
  // At ±40, tanh(x) and sigmoid(x) round to ±1 and 1 in double, and at ±354
  // 1 / cosh(x)^2 is still a normal double. mpmath at 40 digits.
  const std::vector<double> points = {-40, 40, -354, 354};
  const std::vector<double> tanh_slopes = {
      7.2194055513816606892e-35, 7.2194055513816606892e-35,
      1.3230212014553631985e-307, 1.3230212014553631985e-307};
  const std::vector<double> sigmoid_slopes = {
      4.2483542552915889592e-18, 4.2483542552915889592e-18,
      1.8186679201103229435e-154, 1.8186679201103229435e-154};
  for (std::size_t i = 0; i < points.size(); ++i) {
    BOOST_TEST_CONTEXT("x = " << points[i]) {
      Var<double> x{points[i]};
      Var<double> y{points[i]};
      (tanh(x) + sigmoid(y)).backward();
      expect_close(x.grad(), tanh_slopes[i], 0, 1e-15);
      expect_close(y.grad(), sigmoid_slopes[i], 0, 1e-15);
    }
  }
}

BOOST_AUTO_TEST_CASE(tanh_sigmoid_underflow_to_zero) {
  // Hand: tanh'(±710) = 4 e^-1420 and sigmoid'(±746) = e^-746 are below the
  // smallest subnormal double, so the gradient is 0, with no NaN from
  // cosh(710)^2 = inf.
  for (const double point : {-710.0, 710.0}) {
    Var<double> x{point};
    const Var<double> value = tanh(x);
    value.backward();
    BOOST_TEST_INFO("x = " << point);
    BOOST_TEST(x.grad() == 0.0);
    BOOST_TEST(value.value() == (point > 0 ? 1.0 : -1.0));
  }
  for (const double point : {-746.0, 746.0}) {
    Var<double> y{point};
    const Var<double> value = sigmoid(y);
    value.backward();
    BOOST_TEST_INFO("x = " << point);
    BOOST_TEST(y.grad() == 0.0);
    BOOST_TEST(value.value() == (point > 0 ? 1.0 : 0.0));
  }
}

// Deep chains

BOOST_AUTO_TEST_CASE(deep_chain_graph) {
  {
    Var<double> x{0.5};
    Var<double> t{1.0};
    Var<double> s = x;
    for (int k = 2; k <= 200'000; ++k) s = s + x;
    Var<double> y = t;
    for (int k = 1; k <= 100'000; ++k) y = tanh(y);
    const Var<double> loss = s + y;
    loss.backward();
    // mpmath at 40 digits: y_100000 = 0.0038729218269701339 and
    // dy/dt = prod 1 / cosh(y_k)^2 = 5.189230816762451e-08. PyTorch gives
    // 100000.00387292182 and 5.189230816762446e-08. dx = 200000 by hand.
    expect_near(loss.value(), 100000.00387292182);
    BOOST_TEST(x.grad() == 200000.0);
    expect_close(t.grad(), 5.189230816762451e-08, 0, 1e-6);
    // Every handle, and the parameters, are destroyed at the end of the
    // scope.
  }
  BOOST_TEST(adjoint::Tape<double>::active().size() == 0u);
}

BOOST_AUTO_TEST_CASE(deep_product_chain) {
  Var<double> x{1.0};
  Var<double> s = x;
  for (int k = 2; k <= 200'000; ++k) s = s * x;
  s.backward();
  // Hand: d(x^n)/dx = n x^(n-1) = n at x = 1, and every partial is 1.
  BOOST_TEST(s.value() == 1.0);
  BOOST_TEST(x.grad() == 200000.0);
}

BOOST_AUTO_TEST_CASE(deep_compound_assignment_chain) {
  // s += x moves s into the addition, the form the tape may fold into one
  // record; the gradient must match s = s + x.
  Var<double> x{0.5};
  Var<double> s = x;
  for (int k = 2; k <= 200'000; ++k) s += x;
  s *= 2.0;
  s.backward();
  // Hand: s = 2 n x, ds/dx = 2n.
  BOOST_TEST(s.value() == 200000.0);
  BOOST_TEST(x.grad() == 400000.0);
}

BOOST_AUTO_TEST_CASE(deep_chain_destroyed_without_backward) {
  Var<double> t{1.0};
  {
    Var<double> y = t;
    for (int k = 1; k <= 100'000; ++k) y = tanh(y);
  }
  adjoint::Tape<double>::active().clear();
  // A new graph on the same parameter works after the release.
  const Var<double> y = tanh(t);
  y.backward();
  // mpmath: 1 / cosh(1)^2.
  expect_near(t.grad(), 0.41997434161402606);
}

BOOST_AUTO_TEST_CASE(deep_chain_retained_twice) {
  Var<double> t{1.0};
  Var<double> y = t;
  for (int k = 1; k <= 100'000; ++k) y = tanh(y);
  y.backward(adjoint::retain_graph);
  const double single = t.grad();
  y.backward();
  // Hand: the second pass adds the same product again, exactly.
  BOOST_TEST(t.grad() == 2 * single);
  expect_close(single, 5.189230816762451e-08, 0, 1e-6);
}

// Magnitudes and zero adjoints

BOOST_AUTO_TEST_CASE(large_factors_in_one_expression) {
  // Hand: L = x * 1e200 * 1e200 * 1e-300, so dL/dx = 1e100 at any x. The
  // product of the three partials, 1e400, overflows, but the exact
  // gradient and every adjoint on the way (1e-300, 1e-100, 1e100) are
  // finite. Written with named steps or as one expression, the result
  // must be the same.
  Var<double> x{1e-300};
  const Var<double> a = x * 1e200;
  const Var<double> b = a * 1e200;
  const Var<double> named = b * 1e-300;
  named.backward();
  expect_close(named.value(), 1e-200, 0, tolerance);
  expect_close(x.grad(), 1e100, 0, tolerance);

  x.zero_grad();
  const Var<double> expression = ((x * 1e200) * 1e200) * 1e-300;
  expression.backward();
  expect_close(expression.value(), 1e-200, 0, tolerance);
  expect_close(x.grad(), 1e100, 0, tolerance);
}

BOOST_AUTO_TEST_CASE(tiny_factors_in_one_expression) {
  // Hand: L = x * 1e-200 * 1e-200 * 1e300, so dL/dx = 1e-100. The product
  // of the partials, 1e-400, underflows to 0, but the exact gradient is a
  // normal double.
  Var<double> x{1e300};
  const Var<double> a = x * 1e-200;
  const Var<double> b = a * 1e-200;
  const Var<double> named = b * 1e300;
  named.backward();
  expect_close(named.value(), 1e200, 0, tolerance);
  expect_close(x.grad(), 1e-100, 0, tolerance);

  x.zero_grad();
  const Var<double> expression = ((x * 1e-200) * 1e-200) * 1e300;
  expression.backward();
  expect_close(expression.value(), 1e200, 0, tolerance);
  expect_close(x.grad(), 1e-100, 0, tolerance);
}

BOOST_AUTO_TEST_CASE(zero_adjoint_skips_infinite_partials) {
  // The sweep skips a node whose adjoint is exactly 0, and a partial of
  // exactly 0 is never stored, so an infinite partial behind a zero one is
  // never multiplied: 0 * inf gives 0 here. PyTorch 1.13 gives NaN for the
  // first two (it multiplies every edge).
  Var<double> x{0.0};
  (sqrt(x) * 0.0).backward();
  BOOST_TEST(x.grad() == 0.0);

  // relu'(log(0)) = relu'(-inf) = 0 and log'(0) = +inf.
  x.zero_grad();
  const Var<double> rectified = relu(log(x));
  rectified.backward();
  BOOST_TEST(x.grad() == 0.0);
  BOOST_TEST(rectified.value() == 0.0);

  // max picks the constant 1 over sqrt(0) = 0, so sqrt gets adjoint 0.
  x.zero_grad();
  max(sqrt(x), 1.0).backward();
  BOOST_TEST(x.grad() == 0.0);

  // A node recorded after the root, with an infinite partial, adds nothing.
  Var<double> y{0.0};
  const Var<double> loss = y * 2.0;
  const Var<double> metric = log(y);
  loss.backward();
  BOOST_TEST(y.grad() == 2.0);
  BOOST_TEST(std::isinf(metric.value()));
}

// Stopping the gradient

BOOST_AUTO_TEST_CASE(stop_gradient) {
  Var<double> x{3.0};
  const std::vector<Var<double>> v = parameters({1, 2, 3});
  Var<double> sum;
  Var<double> sum_of_squares;
  for (const Var<double>& vi : v) {
    sum = sum + vi;
    sum_of_squares = sum_of_squares + pow(vi, 2.0);
  }
  const Var<double> loss = x * x.detach() + sum + sum_of_squares.detach();
  loss.backward();
  // Hand: L = 9 + 6 + 14 = 29. d(x detach(x))/dx = detach(x) = 3, and only
  // sum(v) reaches v.
  expect_near(loss.value(), 29.0);
  expect_near(x.grad(), 3.0);
  for (std::size_t i = 0; i < v.size(); ++i) {
    BOOST_TEST_CONTEXT("v[" << i << "]") { expect_near(v[i].grad(), 1.0); }
  }
}

BOOST_AUTO_TEST_CASE(no_grad_value_used_as_constant) {
  Var<double> x{3.0};
  Var<double> c;
  {
    NoGradGuard no_grad;
    c = x * x;
  }
  const Var<double> loss = c * x;
  loss.backward();
  // Hand: c is the constant 9, so dL/dx = 9 rather than 3 x^2 = 27.
  expect_near(loss.value(), 27.0);
  expect_near(x.grad(), 9.0);
}

BOOST_AUTO_TEST_CASE(detached_copy_of_intermediate) {
  Var<double> x{3.0};
  const Var<double> y = x * x;
  const Var<double> loss = y * y.detach();
  loss.backward();
  // Hand: dL/dx = detach(y) dy/dx = 9 * 2x = 54, half of d(x^4)/dx = 108.
  expect_near(loss.value(), 81.0);
  expect_near(x.grad(), 54.0);
}

BOOST_AUTO_TEST_CASE(fully_detached_loss_raises) {
  const std::vector<Var<double>> v = parameters({1, 2, 3});
  Var<double> sum;
  for (const Var<double>& vi : v) sum = sum + vi;
  const Var<double> loss = sum.detach() * 2.0;
  BOOST_CHECK_THROW(loss.backward(), graph_error);
  for (const Var<double>& vi : v) BOOST_TEST(vi.grad() == 0.0);
}

// Gradient descent and divergence

namespace {

/// L(w) = sum_i (z_i - w x_i)^2 with x = (1, 2, 3) and z = 2x. By hand,
/// L = 14 (2 - w)^2 and dL/dw = -28 (2 - w).
Var<double> least_squares(const Var<double>& w) {
  const double x[] = {1, 2, 3};
  Var<double> sum;
  for (const double xi : x) sum = sum + square(2 * xi - w * xi);
  return sum;
}

/// Loss and parameter value at each step that minimize() observes.
struct Trajectory {
  std::vector<double> loss;
  std::vector<double> w;
};

adjoint::optim::MinimizeResult<double> descend(
    Var<double>& w, double learning_rate,
    const adjoint::optim::StopCriteria& criteria, Trajectory& trajectory) {
  adjoint::optim::GradientDescent<double> optimizer({w}, learning_rate);
  return adjoint::optim::minimize(
      optimizer, [&w] { return least_squares(w); }, criteria,
      [&](std::size_t, double loss) {
        trajectory.loss.push_back(loss);
        trajectory.w.push_back(w.value());
      });
}

}  // namespace

BOOST_AUTO_TEST_CASE(gd_learning_rate_divergence) {
  const double absolute = 1e-9;
  const double relative = 1e-12;
  {
    Var<double> w{0.0};
    const Var<double> loss = least_squares(w);
    loss.backward();
    expect_close(loss.value(), 56.0, absolute, relative);
    expect_close(w.grad(), -56.0, absolute, relative);
  }

  adjoint::optim::StopCriteria three_steps;
  three_steps.max_steps = 3;
  three_steps.growth_limit = 0;

  // Hand: w <- w + 0.28 (2 - w), so 2 - w shrinks by 0.72 each step.
  {
    Var<double> w{0.0};
    Trajectory path;
    const auto result = descend(w, 0.01, three_steps, path);
    BOOST_TEST(result.steps == 3u);
    BOOST_TEST_REQUIRE(path.loss.size() == 4u);
    const double loss[] = {56, 29.0304, 15.04935936};
    const double after[] = {0.56, 0.9632, 1.253504};
    for (std::size_t k = 0; k < 3; ++k) {
      BOOST_TEST_CONTEXT("learning rate 0.01, step " << k) {
        expect_close(path.loss[k], loss[k], absolute, relative);
        expect_close(path.w[k + 1], after[k], absolute, relative);
      }
    }
  }

  // Hand: w <- w + 2.8 (2 - w), so 2 - w = 2 (-1.8)^k and L = 56 * 3.24^k.
  {
    Var<double> w{0.0};
    Trajectory path;
    descend(w, 0.1, three_steps, path);
    BOOST_TEST_REQUIRE(path.loss.size() == 4u);
    const double loss[] = {56, 181.44, 587.8656};
    const double after[] = {5.6, -4.48, 13.664};
    for (std::size_t k = 0; k < 3; ++k) {
      BOOST_TEST_CONTEXT("learning rate 0.1, step " << k) {
        expect_close(path.loss[k], loss[k], absolute, relative);
        expect_close(path.w[k + 1], after[k], absolute, relative);
      }
    }
  }

  // 56 * 3.24^k first exceeds the largest double at k = 601 (mpmath:
  // 1.19e308 at 600, 3.85e308 at 601), while w = 2 + 2 * 1.8^601 =
  // 5.2457255217709358e153 is still finite.
  {
    Var<double> w{0.0};
    Trajectory path;
    adjoint::optim::StopCriteria criteria;
    criteria.max_steps = 1000;
    criteria.growth_limit = 0;
    const auto result = descend(w, 0.1, criteria, path);
    BOOST_TEST((result.reason == adjoint::optim::StopReason::loss_not_finite));
    BOOST_TEST(result.steps == 601u);
    BOOST_TEST(std::isinf(result.loss));
    BOOST_TEST_REQUIRE(path.loss.size() == 602u);
    BOOST_TEST(std::isfinite(path.loss[600]));
    BOOST_TEST(std::isinf(path.loss[601]));
    BOOST_TEST(std::isfinite(w.value()));
    expect_close(w.value(), 5.2457255217709358e153, 0, 1e-12);
  }
}

BOOST_AUTO_TEST_CASE(gd_zero_learning_rate_stays) {
  Var<double> w{0.0};
  Trajectory path;
  adjoint::optim::StopCriteria criteria;
  criteria.max_steps = 5;
  const auto result = descend(w, 0.0, criteria, path);
  // Hand: nothing moves, so L stays 56 until the step limit.
  BOOST_TEST((result.reason == adjoint::optim::StopReason::max_steps_reached));
  BOOST_TEST(result.steps == 5u);
  BOOST_TEST(w.value() == 0.0);
  for (const double loss : path.loss) BOOST_TEST(loss == 56.0);
}

BOOST_AUTO_TEST_CASE(gd_growth_limit_stops_divergence) {
  Var<double> w{0.0};
  Trajectory path;
  adjoint::optim::StopCriteria criteria;
  criteria.max_steps = 1000;
  criteria.growth_limit = 5;
  const auto result = descend(w, 0.1, criteria, path);
  // Hand: L = 56 * 3.24^k grows at every step, so the fifth growth in a
  // row, at step 5, stops the loop long before the loss overflows.
  BOOST_TEST((result.reason == adjoint::optim::StopReason::loss_growing));
  BOOST_TEST(result.steps == 5u);
  expect_close(result.loss, 56 * std::pow(3.24, 5), 1e-9, 1e-12);
}

BOOST_AUTO_TEST_CASE(gd_exact_learning_rate_converges) {
  Var<double> w{0.0};
  Trajectory path;
  adjoint::optim::StopCriteria criteria;
  criteria.loss_tolerance = 1e-20;
  const auto result = descend(w, 1.0 / 28, criteria, path);
  // Hand: lr = 1/28 turns w + 28 lr (2 - w) into 2 in one step, and in
  // double (1/28) * 56 rounds to 2 exactly.
  BOOST_TEST((result.reason == adjoint::optim::StopReason::loss_below_tolerance));
  BOOST_TEST(result.steps == 1u);
  BOOST_TEST(w.value() == 2.0);
  BOOST_TEST(result.loss == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
