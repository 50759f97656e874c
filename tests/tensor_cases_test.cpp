#define BOOST_TEST_MODULE tensor_cases
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <limits>
#include <source_location>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "optim/optim.hpp"
#include "tensor_support.hpp"

// Reference gradient cases written with the tensor API, each followed by
// neighbouring cases of the same kind of fault. The kinds are powers at a
// zero base, kinks, gradients of broadcast operands, matrix products with
// vectors, large logits, saturation, empty tensors, detach(), backward()
// twice, a reused intermediate and gradient descent that diverges. The last
// test compares the tutorial loss on the shipped data in both APIs.
//
// Every expected value names its source: a hand derivation, PyTorch 1.13
// (float64, Debian 12's python3-torch) or mpmath at 40 or 50 digits.
// Non-finite values are compared exactly, and the others to |got - want| <=
// 1e-12 + 1e-12 |want| unless a case gives its own tolerance. The cases run
// in double, the type their reference values are given in.

namespace {

using adjoint::graph_error;
using adjoint::NoGradGuard;
using adjoint::parameter;
using adjoint::scalar_tensor;
using adjoint::Shape;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::EmptyTapes;
using adjoint::testing::expect_close;
using adjoint::testing::message_contains;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double quiet_nan = std::numeric_limits<double>::quiet_NaN();

constexpr double tolerance = 1e-12;

void expect_near(
    double got, double want,
    std::source_location caller = std::source_location::current()) {
  expect_close(got, want, tolerance, tolerance, caller);
}

/// Checks the shape of `got` and each value to the tolerance above; NaN
/// and infinities exactly.
void expect_values(
    const Tensor<double>& got, const Shape& shape,
    const std::vector<double>& want,
    std::source_location caller = std::source_location::current()) {
  BOOST_TEST_CONTEXT("called at line " << caller.line()) {
    BOOST_TEST_INFO("shape " << fmt::format("{}", got.shape()));
    BOOST_TEST_REQUIRE((got.shape() == shape));
    BOOST_TEST_REQUIRE(got.numel() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      BOOST_TEST_CONTEXT("element " << i) {
        expect_near(got.values()[i], want[i], caller);
      }
    }
  }
}

Tensor<double> parameter_of(const Shape& shape, std::vector<double> values) {
  return parameter(Tensor<double>(shape, values));
}

Tensor<double> empty(const Shape& shape) {
  return Tensor<double>(shape, std::vector<double>{});
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tensor_cases, EmptyTapes)

// pow at a zero base

BOOST_AUTO_TEST_CASE(pow_zero_base) {
  Tensor<double> x = parameter(Tensor<double>{0, 0, 0, 0, 0});
  const Tensor<double> p{3, 2, 1, 0, 0.5};
  const Tensor<double> a{0, 2};
  Tensor<double> b = parameter(Tensor<double>{1, 1});
  const Var<double> loss = sum(pow(x, p)) + sum(pow(a, b));
  loss.backward();
  // PyTorch: (x ** p).sum() + (a ** b).sum(). 0^0 = 1; d/dx of x^p at 0 is
  // 0 for p > 1, 1 for p = 1, 0 for p = 0 and +inf for 0 < p < 1; d/db of
  // 0^b is 0 rather than 0 * log(0), and of 2^b is 2 log(2).
  expect_near(loss.value(), 3.0);
  expect_values(x.grad(), {5}, {0, 0, 1, 0, inf});
  expect_values(b.grad(), {2}, {0, 1.3862943611198906});
}

BOOST_AUTO_TEST_CASE(pow_zero_base_both_variables) {
  Tensor<double> x = parameter(Tensor<double>{0, 0, 0, 0, 0});
  Tensor<double> p = parameter(Tensor<double>{3, 2, 1, 0, 0.5});
  const Var<double> loss = sum(pow(x, p));
  loss.backward();
  // PyTorch: (x ** p).sum() with both requiring grad.
  expect_near(loss.value(), 1.0);
  expect_values(x.grad(), {5}, {0, 0, 1, 0, inf});
  expect_values(p.grad(), {5}, {0, 0, 0, 0, 0});
}

BOOST_AUTO_TEST_CASE(pow_zero_base_negative_exponents) {
  Tensor<double> x = parameter(Tensor<double>{0, 0, -0.0});
  Tensor<double> p = parameter(Tensor<double>{-1, -2, -2});
  const Tensor<double> power = pow(x, p);
  sum(power).backward();
  // PyTorch: x ** p with x = [0, 0, -0.0] and p = [-1, -2, -2]: 0^p = inf,
  // d/dx = p x^(p-1) = -inf, +inf at -0.0 (since (-0)^-3 = -inf), and
  // d/dp = inf * log(0) = -inf.
  expect_values(power, {3}, {inf, inf, inf});
  expect_values(x.grad(), {3}, {-inf, -inf, inf});
  expect_values(p.grad(), {3}, {-inf, -inf, -inf});
}

BOOST_AUTO_TEST_CASE(pow_zero_base_broadcast_and_plain_numbers) {
  // A 0-dimensional exponent broadcast over zero bases, a plain-number
  // exponent and a plain-number zero base.
  Tensor<double> x = parameter(Tensor<double>{0, 0, 1.5});
  Tensor<double> p = parameter(scalar_tensor(0.5));
  Tensor<double> q = parameter(Tensor<double>{2, 0, -1});
  const Var<double> loss =
      sum(pow(x, p)) + sum(pow(x, 0.0)) + sum(pow(x, 1.0)) + sum(pow(0.0, q));
  loss.backward();
  // Hand: sqrt(1.5) + 3 + 1.5 + (0 + 1 + inf). d/dx: 1/(2 sqrt(x)) = inf at
  // 0, plus 0 from x^0, plus 1 from x^1; d/dp: the sum over elements of
  // x^p log(x), 0 at the zero bases; d/dq of 0^q: 0 for q >= 0 and
  // inf * log(0) = -inf for q < 0.
  expect_near(loss.value(), inf);
  expect_values(x.grad(), {3}, {inf, inf, 1 + 0.5 / std::sqrt(1.5)});
  expect_values(p.grad(), {}, {std::sqrt(1.5) * std::log(1.5)});
  expect_values(q.grad(), {3}, {0, 0, -inf});
}

// Kinks

BOOST_AUTO_TEST_CASE(relu_abs_at_kink) {
  Tensor<double> r = parameter(Tensor<double>{-1, 0, 2});
  Tensor<double> a = parameter(Tensor<double>{-1, 0, 2});
  const Var<double> loss = sum(relu(r)) + sum(abs(a));
  loss.backward();
  // PyTorch: torch.relu(r).sum() + torch.abs(a).sum(), relu'(0) = 0 and
  // abs'(0) = sgn(0) = 0.
  expect_near(loss.value(), 5.0);
  expect_values(r.grad(), {3}, {0, 0, 1});
  expect_values(a.grad(), {3}, {-1, 0, 1});
}

BOOST_AUTO_TEST_CASE(kinks_of_maximum_minimum_and_clamp) {
  // max(x, 0) written with maximum is not relu, and clamp(x, 0, inf) is
  // neither: at 0 they give 1/2 and 1.
  Tensor<double> x = parameter(Tensor<double>{-1, 0, 2});
  Tensor<double> y = parameter(Tensor<double>{-1, 0, 2});
  Tensor<double> c = parameter(Tensor<double>{-1, 0, 2});
  const Var<double> loss = sum(maximum(x, 0.0)) + sum(minimum(y, 0.0)) +
                           sum(clamp(c, 0.0, inf));
  loss.backward();
  // PyTorch: torch.maximum(x, zeros), torch.minimum(y, zeros) and
  // torch.clamp(c, min=0).
  expect_near(loss.value(), 2.0 - 1.0 + 2.0);
  expect_values(x.grad(), {3}, {0, 0.5, 1});
  expect_values(y.grad(), {3}, {1, 0.5, 0});
  expect_values(c.grad(), {3}, {0, 1, 1});
}

BOOST_AUTO_TEST_CASE(kinks_at_signed_zero_tiny_and_broadcast) {
  // Both zeros are the kink; ±1e-300 are ordinary points. The kink sits in
  // a matrix whose relu is scaled by a broadcast row.
  Tensor<double> x =
      parameter(Tensor<double>{{-0.0, 0.0, 1e-300}, {-1e-300, 0.0, 4.0}});
  const Tensor<double> scale{1.0, 2.0, 3.0};
  const Var<double> loss = sum(relu(x) * scale) + sum(abs(x));
  loss.backward();
  // PyTorch: (torch.relu(x) * scale).sum() + torch.abs(x).sum().
  expect_near(loss.value(), 3e-300 + 12.0 + 2e-300 + 4.0);
  expect_values(x.grad(), {2, 3}, {0, 0, 4, -1, 0, 4});
}

BOOST_AUTO_TEST_CASE(max_reduction_at_ties) {
  // The maximum of a tensor shares the gradient among the tied elements, as
  // torch.amax does. A max over the last axis does the same in each row.
  Tensor<double> x = parameter(Tensor<double>{{2, 5, 5}, {5, 1, 0}});
  const Var<double> loss = max(x) + sum(max(x, -1));
  loss.backward();
  // PyTorch: x.amax() + x.amax(-1).sum().
  expect_near(loss.value(), 15.0);
  expect_values(x.grad(), {2, 3},
                {0, 1.0 / 3 + 0.5, 1.0 / 3 + 0.5, 1.0 / 3 + 1, 0, 0});
}

// Gradients of broadcast operands

BOOST_AUTO_TEST_CASE(broadcast_grad_reduction) {
  const Tensor<double> x{{1, 2}, {3, 4}, {5, 6}};
  const Tensor<double> z{{1, 0}, {0, 1}, {1, 1}};
  Tensor<double> w = parameter(scalar_tensor(0.5));
  Tensor<double> b = parameter(Tensor<double>{{0.25, -0.5}});
  const Var<double> loss = sum(pow(z - (w * x + b), 2.0));
  loss.backward();
  // PyTorch: ((z - (w * x + b)) ** 2).sum(); w has shape [] and b [1, 2].
  expect_near(loss.value(), 8.9375);
  expect_values(w.grad(), {}, {51.5});
  expect_values(b.grad(), {1, 2}, {6.5, 5.0});
}

BOOST_AUTO_TEST_CASE(broadcast_grad_reduction_other_shapes) {
  const Tensor<double> x{{1, 2}, {3, 4}, {5, 6}};
  const Tensor<double> z{{1, 0}, {0, 1}, {1, 1}};
  // The same loss with w a Var and b a vector of shape [2], then with b a
  // column [3, 1] and the row [1, 2] both broadcast.
  Var<double> w{0.5};
  Tensor<double> b = parameter(Tensor<double>{0.25, -0.5});
  const Var<double> loss = sum(square(z - (w * x + b)));
  loss.backward();
  // PyTorch: as above with b of shape [2].
  expect_near(loss.value(), 8.9375);
  expect_near(w.grad(), 51.5);
  expect_values(b.grad(), {2}, {6.5, 5.0});

  Tensor<double> column = parameter_of({3, 1}, {0.25, -0.5, 1.0});
  Tensor<double> row = parameter(Tensor<double>{{1.5, -2.0}});
  const Var<double> crossed = sum(square(x - column * row));
  crossed.backward();
  // PyTorch: ((x - column * row) ** 2).sum() with column [3, 1] and row
  // [1, 2]. Each gradient is summed over the axis its operand was
  // broadcast along.
  expect_near(crossed.value(), 105.953125);
  expect_values(column.grad(), {3, 1}, {8.125, 0.75, 21.5});
  expect_values(row.grad(), {1, 2}, {-3.5625, -14.25});
}

// Matrix products with vectors

BOOST_AUTO_TEST_CASE(matmul_with_vectors) {
  Tensor<double> a = parameter(Tensor<double>{{1, 2, 3}, {4, 5, 6}});
  Tensor<double> v = parameter(Tensor<double>{1, 0, -1});
  Tensor<double> u = parameter(Tensor<double>{1, -1});
  Tensor<double> b = parameter(Tensor<double>{{1, 2, 3}, {4, 5, 6}});
  const Tensor<double> g{1, -2};
  const Tensor<double> h{1, 1, 2};
  const Var<double> loss = sum(matmul(a, v) * g) + sum(matmul(u, b) * h);
  loss.backward();
  // PyTorch: ((A @ v) * g).sum() + ((u @ B) * h).sum(). grad(A) = outer(g,
  // v), grad(v) = A^T g, grad(u) = B h, grad(B) = outer(u, h), each in its
  // operand's shape.
  expect_near(loss.value(), -10.0);
  expect_values(a.grad(), {2, 3}, {1, 0, -1, -2, 0, 2});
  expect_values(v.grad(), {3}, {-7, -8, -9});
  expect_values(u.grad(), {2}, {9, 21});
  expect_values(b.grad(), {2, 3}, {1, 1, 2, -1, -1, -2});
}

BOOST_AUTO_TEST_CASE(matmul_vector_vector_and_batches) {
  Tensor<double> p = parameter(Tensor<double>{1, 2, 3});
  Tensor<double> q = parameter(Tensor<double>{-1, 0.5, 2});
  const Tensor<double> inner = matmul(p, q);
  // A product of two vectors is 0-dimensional.
  BOOST_TEST((inner.shape() == Shape{}));
  Tensor<double> batch = parameter(Tensor<double>{{{1, 0}, {0, 2}}, {{-1, 1}, {3, 0}}});
  Tensor<double> r = parameter(Tensor<double>{2, -1});
  const Tensor<double> batched = matmul(batch, r);  // [2, 2]
  const Tensor<double> rows = matmul(r, batch);     // [2, 2]
  const Var<double> loss = sum(inner * 2.0) + sum(square(batched)) + sum(rows);
  loss.backward();
  // PyTorch: 2 (p @ q) + ((batch @ r) ** 2).sum() + (r @ batch).sum().
  // batch @ r = [[2, -2], [-3, 6]], r @ batch = [[2, -2], [-5, 2]].
  expect_near(loss.value(), 62.0);
  expect_values(p.grad(), {3}, {-2, 1, 4});
  expect_values(q.grad(), {3}, {2, 4, 6});
  expect_values(batch.grad(), {2, 2, 2}, {10, -2, -9, 3, -10, 8, 23, -13});
  expect_values(r.grad(), {2}, {47, -9});
}

// Large logits

BOOST_AUTO_TEST_CASE(softmax_xent_large_logits) {
  Tensor<double> x = parameter(Tensor<double>{1000, 0, -1000});
  Tensor<double> y = parameter(Tensor<double>{1000, 1000});
  const Var<double> loss = cross_entropy(x, {1}) + logsumexp(y);
  loss.backward();
  // PyTorch: F.cross_entropy(x[None], torch.tensor([1])) +
  // torch.logsumexp(y, 0), whose fused kernels shift by the maximum.
  expect_near(loss.value(), 2000.69314718056);
  expect_values(x.grad(), {3}, {1, -1, 0});
  expect_values(y.grad(), {2}, {0.5, 0.5});
}

BOOST_AUTO_TEST_CASE(large_logits_in_batches_and_along_axes) {
  Tensor<double> x =
      parameter(Tensor<double>{{-1000, -1001, -1002}, {1e4, 1e4, -1e4}});
  const Var<double> loss = cross_entropy(x, {0, 2}) + sum(logsumexp(x, 1)) +
                           sum(softmax(x) * Tensor<double>{1.0, 2.0, 3.0}) +
                           sum(log_softmax(x, 0));
  loss.backward();
  // PyTorch: F.cross_entropy(x, torch.tensor([0, 2])) +
  // torch.logsumexp(x, 1).sum() + (torch.softmax(x, -1) * [1, 2, 3]).sum() +
  // torch.log_softmax(x, 0).sum(), for the first row of the gradient. The
  // value is from mpmath at 50 digits. The second row is by hand, because
  // PyTorch's own result is 8.6e-14 off there: softmax of that row is
  // [1/2, 1/2, 0], so the four terms give [1/4, 1/4, -1/2], [1/2, 1/2, 0],
  // [-1/4, 1/4, 0] and [-1, -1, 1].
  expect_near(loss.value(), -11994.424080665098);
  expect_values(x.grad(), {2, 3},
                {1.2152739825827585, 1.507863064051815, -0.7231370466346214,
                 -0.5, 0.0, 0.5});
  // No NaN and no infinity anywhere.
  for (const double g : x.grad().values()) BOOST_TEST(std::isfinite(g));
}

// Saturation

BOOST_AUTO_TEST_CASE(tanh_sigmoid_saturation) {
  const std::vector<double> points = {-1000, -20, 0, 20, 1000};
  Tensor<double> x = parameter_of({5}, points);
  Tensor<double> y = parameter_of({5}, points);
  const Tensor<double> t = tanh(x);
  const Tensor<double> s = sigmoid(y);
  const Var<double> loss = sum(t) + sum(s);
  loss.backward();
  // mpmath at 40 digits: tanh'(x) = 1 / cosh(x)^2, sigmoid'(x) =
  // e^-|x| / (1 + e^-|x|)^2. PyTorch 1.13 gives 0 for tanh'(±20), from
  // 1 - tanh^2, which is inside the tolerance.
  expect_near(loss.value(), 2.5);
  expect_values(x.grad(), {5},
                {0, 1.6993417021166355e-17, 1, 1.6993417021166355e-17, 0});
  expect_values(y.grad(), {5},
                {0, 2.061153613941849e-09, 0.25, 2.061153613941849e-09, 0});
  // The values saturate exactly, with no NaN from inf / inf.
  expect_values(t, {5}, {-1, -1, 0, 1, 1});
  BOOST_TEST(t.values()[0] == -1.0);
  BOOST_TEST(t.values()[4] == 1.0);
  BOOST_TEST(s.values()[0] == 0.0);
  BOOST_TEST(s.values()[4] == 1.0);
}

BOOST_AUTO_TEST_CASE(saturation_further_out) {
  // mpmath at 40 digits, to 1e-15 relative at ±40 and ±354. At ±710 the
  // sigmoid slope e^-710 is a subnormal double, checked to 1e-6. The other
  // slopes at ±710 and ±746 are below the smallest subnormal, so the
  // gradient is exactly 0, with no NaN from cosh(710)^2 = inf.
  const std::vector<double> points = {-40, 40, -354, 354, -710, 710, -746, 746};
  Tensor<double> x = parameter_of({8}, points);
  Tensor<double> y = parameter_of({8}, points);
  (sum(tanh(x)) + sum(sigmoid(y))).backward();
  const std::vector<double> tanh_slopes = {
      7.2194055513816606892e-35,  7.2194055513816606892e-35,
      1.3230212014553631985e-307, 1.3230212014553631985e-307, 0, 0, 0, 0};
  const std::vector<double> sigmoid_slopes = {
      4.2483542552915889592e-18,  4.2483542552915889592e-18,
      1.8186679201103229435e-154, 1.8186679201103229435e-154,
      4.4762862256751299561e-309, 4.4762862256751299561e-309, 0, 0};
  for (std::size_t i = 0; i < points.size(); ++i) {
    BOOST_TEST_CONTEXT("x = " << points[i]) {
      expect_close(x.grad().values()[i], tanh_slopes[i], 0, 1e-15);
      expect_close(y.grad().values()[i], sigmoid_slopes[i], 1e-320, 1e-6);
    }
  }
}

// Empty tensors

BOOST_AUTO_TEST_CASE(empty_tensor_sum) {
  Tensor<double> a = parameter(empty({4, 0}));
  Tensor<double> b = parameter_of({4, 1}, {1, 2, 3, 4});
  Tensor<double> e = parameter(empty({0}));
  const Var<double> loss = sum(a + b) + sum(e);
  loss.backward();
  // Hand, and PyTorch: the sum of nothing is 0. grad(A) has shape [4, 0],
  // grad(e) shape [0], and b, broadcast along an empty axis, gets zeros.
  BOOST_TEST(loss.value() == 0.0);
  expect_values(a.grad(), {4, 0}, {});
  expect_values(b.grad(), {4, 1}, {0, 0, 0, 0});
  expect_values(e.grad(), {0}, {});
}

BOOST_AUTO_TEST_CASE(empty_tensors_through_other_operators) {
  Tensor<double> a = parameter(empty({4, 0}));
  Tensor<double> b = parameter(empty({0, 3}));
  Tensor<double> w = parameter(scalar_tensor(2.0));
  Var<double> s{1.5};
  const Tensor<double> product = matmul(a, b);
  // Hand, and PyTorch: a product over an empty inner dimension is zeros.
  // A [0] tensor times a Var has no elements, so the Var gets 0.
  expect_values(product, {4, 3}, std::vector<double>(12, 0.0));
  const Var<double> loss = sum(product * w) + sum(empty({0}) * s) +
                           sum(softmax(b)) + sum(concat(std::vector{b, b}, 0)) +
                           sum(sum(a, 1)) + mean(a * w);
  loss.backward();
  // mean over no elements is 0 / 0 = NaN, as in PyTorch, and its
  // gradient reaches no element.
  BOOST_TEST(std::isnan(loss.value()));
  expect_values(a.grad(), {4, 0}, {});
  expect_values(b.grad(), {0, 3}, {});
  BOOST_TEST(s.grad() == 0.0);
  // PyTorch, and by hand: sum(product * w) contributes sum(product) = 0 to
  // w's gradient, and mean(a * w) a sum over no elements.
  expect_values(w.grad(), {}, {0.0});
}

// detach() and NoGradGuard

BOOST_AUTO_TEST_CASE(stop_gradient) {
  Tensor<double> x = parameter(scalar_tensor(3.0));
  Tensor<double> v = parameter(Tensor<double>{1, 2, 3});
  const Var<double> loss =
      sum(x * x.detach()) + sum(v) + sum(pow(v, 2.0)).detach();
  loss.backward();
  // Hand: L = x sg(x) + sum(v) + sg(sum(v^2)) = 9 + 6 + 14, dL/dx = sg(x)
  // = 3 and dL/dv = 1.
  expect_near(loss.value(), 29.0);
  expect_values(x.grad(), {}, {3.0});
  expect_values(v.grad(), {3}, {1, 1, 1});
}

BOOST_AUTO_TEST_CASE(stop_gradient_neighbours) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 3.0, 2.0});
  // The stable softmax trick: subtracting a detached maximum changes
  // neither the value nor the gradient.
  const Tensor<double> shifted = x - as_tensor(max(x).detach());
  const Tensor<double> weights{1.0, -2.0, 0.5};
  const Var<double> loss = sum(softmax(shifted) * weights);
  loss.backward();
  // PyTorch: (torch.softmax(x, 0) * weights).sum().
  expect_near(loss.value(), -1.1180871028518642);
  expect_values(x.grad(), {3},
                {0.19069259589454388, -0.5866845786089679, 0.39599198271442376});

  // A detached intermediate and values computed under NoGradGuard are
  // constants: only the direct path reaches the parameter.
  x.zero_grad();
  const Tensor<double> squared = square(x);
  Tensor<double> guarded;
  {
    NoGradGuard no_grad;
    guarded = exp(x);
  }
  BOOST_TEST(guarded.is_constant());
  BOOST_TEST(squared.detach().is_constant());
  const Var<double> mixed =
      sum(squared.detach() * x) + sum(guarded * x) + dot(x, x).detach();
  mixed.backward();
  // Hand: d/dx of sum(c1 x) + sum(c2 x) with c1 = x^2 and c2 = exp(x).
  expect_values(x.grad(), {3},
                {1 + std::exp(1.0), 9 + std::exp(3.0), 4 + std::exp(2.0)});
}

// backward() more than once

BOOST_AUTO_TEST_CASE(backward_called_twice) {
  Tensor<double> a = parameter(scalar_tensor(3.0));
  Tensor<double> b = parameter(scalar_tensor(2.0));
  Tensor<double> d = parameter(scalar_tensor(1.0));
  const Tensor<double> c = a + b;
  const Var<double> e = sum(c * d);
  e.backward(adjoint::retain_graph);
  e.backward();
  // Hand: one pass gives 1, 1 and 5; two passes without zero_grad() add
  // exactly, and the intermediate c does not carry its gradient over.
  expect_near(e.value(), 5.0);
  BOOST_TEST(a.grad().item() == 2.0);
  BOOST_TEST(b.grad().item() == 2.0);
  BOOST_TEST(d.grad().item() == 10.0);
}

BOOST_AUTO_TEST_CASE(backward_twice_with_vector_intermediates) {
  Tensor<double> a = parameter(Tensor<double>{1, -2, 3});
  Tensor<double> b = parameter(Tensor<double>{0.5, 4, -1});
  const Tensor<double> c = a * b;     // an intermediate used twice
  const Tensor<double> r = c + 1.0;   // a chain below it
  const Var<double> e = sum(c * c) + sum(r) + max(r);
  for (int pass = 1; pass <= 3; ++pass) {
    e.backward(pass < 3 ? adjoint::retain_graph : adjoint::RetainGraph{});
    // Hand: de/dc = 2c + 1 + [c == max(c)], so de/da = (2c + 1 + m) b and
    // de/db = (2c + 1 + m) a, with c = [0.5, -8, -3] and the maximum at 0.
    // Each pass adds the same amount.
    const double k = pass;
    expect_values(a.grad(), {3}, {k * 1.5, k * -60, k * 5});
    expect_values(b.grad(), {3}, {k * 3, k * 30, k * -15});
  }
  // A fourth call finds the graph released.
  BOOST_CHECK_EXCEPTION(e.backward(), graph_error,
                        message_contains({"retain_graph"}));
  a.zero_grad();
  b.zero_grad();
  expect_values(a.grad(), {3}, {0, 0, 0});
  expect_values(b.grad(), {3}, {0, 0, 0});
}

// Reused intermediates

BOOST_AUTO_TEST_CASE(reuse_intermediate_node) {
  Tensor<double> x = parameter(scalar_tensor(2.0));
  Tensor<double> y = parameter(scalar_tensor(3.0));
  Tensor<double> z = parameter(scalar_tensor(2.0));
  const Tensor<double> a = x * y;
  const Tensor<double> b = z + 1.0;
  const Var<double> loss = sum(a * a + a + (b * b) * (b * 3.0));
  loss.backward();
  // Hand: a = 6 and b = 3, so L = a^2 + a + 3 b^3 = 123, dL/da = 13 and
  // dL/db = 9 b^2 = 81: dx = 13 y = 39, dy = 13 x = 26, dz = 81.
  expect_near(loss.value(), 123.0);
  expect_values(x.grad(), {}, {39.0});
  expect_values(y.grad(), {}, {26.0});
  expect_values(z.grad(), {}, {81.0});
}

BOOST_AUTO_TEST_CASE(reuse_intermediate_neighbours) {
  // The same loss with vectors, so each element is its own diamond.
  Tensor<double> x = parameter(Tensor<double>{2.0, 1.0});
  Tensor<double> y = parameter(Tensor<double>{3.0, -1.0});
  Tensor<double> z = parameter(Tensor<double>{2.0, 0.0});
  const Tensor<double> a = x * y;
  const Tensor<double> b = z + 1.0;
  const Var<double> loss = sum(a * a + a + (b * b) * (b * 3.0));
  loss.backward();
  // Hand: per element as above; the second has a = -1 and b = 1, so L adds
  // 1 - 1 + 3 and dL/da = -1, dL/db = 9.
  expect_near(loss.value(), 123.0 + 3.0);
  expect_values(x.grad(), {2}, {39.0, 1.0});
  expect_values(y.grad(), {2}, {26.0, -1.0});
  expect_values(z.grad(), {2}, {81.0, 9.0});

  // An intermediate with three consumers, one of them a reduction to a
  // Var that comes back into the tensor expression.
  Tensor<double> p = parameter(scalar_tensor(0.5));
  Tensor<double> q = parameter(scalar_tensor(0.25));
  const Tensor<double> u = p + q;
  const Var<double> three = sum((u * u) * sin(u)) + sum(u);
  three.backward();
  // PyTorch: u = x + y; L = (u * u) * torch.sin(u) + u.
  expect_near(three.value(), 1.1334218025131255);
  expect_values(p.grad(), {}, {2.434033128776526});
  expect_values(q.grad(), {}, {2.434033128776526});

  // A view of an intermediate used beside the intermediate itself.
  Tensor<double> m = parameter(Tensor<double>{{1, 2}, {3, 4}});
  const Tensor<double> doubled = m * 2.0;
  const Var<double> viewed =
      sum(reshape(doubled, {4}) * Tensor<double>{1, 2, 3, 4}) + sum(doubled);
  viewed.backward();
  // Hand: d/dm = 2 (w + 1) with w = [1, 2, 3, 4] in row-major order.
  expect_values(m.grad(), {2, 2}, {4, 6, 8, 10});
}

// Gradient descent

BOOST_AUTO_TEST_CASE(gd_learning_rate_divergence) {
  const Tensor<double> x{1, 2, 3};
  const Tensor<double> z = x * 2.0;
  // Hand: L(w) = sum((z - w x)^2) = 14 (w - 2)^2 and w - 2 is multiplied
  // by 1 - 28 lr each step: 0.72 for lr = 0.01 and -1.8 for lr = 0.1.
  struct Run {
    double learning_rate;
    std::vector<double> losses;
    std::vector<double> weights;
  };
  for (const Run& run : {Run{0.01, {56, 29.0304, 15.04935936}, {0.56, 0.9632, 1.253504}},
                         Run{0.1, {56, 181.44, 587.8656}, {5.6, -4.48, 13.664}}}) {
    BOOST_TEST_CONTEXT("learning rate " << run.learning_rate) {
      Tensor<double> w = parameter(scalar_tensor(0.0));
      adjoint::optim::GradientDescent<double> optimizer({w}, run.learning_rate);
      for (std::size_t step = 0; step < 3; ++step) {
        optimizer.zero_grad();
        const Var<double> loss = sum(square(z - w * x));
        loss.backward();
        if (step == 0) expect_close(w.grad().item(), -56.0, 1e-9, 1e-12);
        expect_close(loss.value(), run.losses[step], 1e-9, 1e-12);
        optimizer.step();
        expect_close(w.values()[0], run.weights[step], 1e-9, 1e-12);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(gd_divergence_stops_at_first_non_finite_loss) {
  const Tensor<double> x{1, 2, 3};
  const Tensor<double> z = x * 2.0;
  Tensor<double> w = parameter(scalar_tensor(0.0));
  adjoint::optim::GradientDescent<double> optimizer({w}, 0.1);
  adjoint::optim::StopCriteria criteria;
  criteria.growth_limit = 0;  // stop on a non-finite loss only
  const auto result = adjoint::optim::minimize(
      optimizer, [&] { return sum(square(z - w * x)); }, criteria);
  // Hand: |w - 2| grows by 1.8 per step, and the loss first overflows at
  // step 601, when w is about 5.2e153.
  BOOST_TEST((result.reason == adjoint::optim::StopReason::loss_not_finite));
  BOOST_TEST(result.steps == 601u);
  BOOST_TEST(std::isinf(result.loss));
  BOOST_TEST(std::isfinite(w.values()[0]));
  BOOST_TEST(std::abs(w.values()[0]) > 1e153);
  BOOST_TEST(std::abs(w.values()[0]) < 1e154);
}

BOOST_AUTO_TEST_CASE(gd_learning_rate_neighbours) {
  const Tensor<double> x{1, 2, 3};
  const Tensor<double> z = x * 2.0;
  // Hand: at lr = 1/28 one step lands on w = 2; at lr = 1/14 the factor is
  // -1, so w alternates between 0 and 4 and the loss stays 56. A Var
  // parameter with tensor data follows the same iterates.
  Var<double> w{0.0};
  adjoint::optim::GradientDescent<double> optimizer({w}, 1.0 / 28);
  optimizer.zero_grad();
  sum(square(z - w * x)).backward();
  optimizer.step();
  expect_near(w.value(), 2.0);

  Var<double> v{0.0};
  adjoint::optim::GradientDescent<double> edge({v}, 1.0 / 14);
  for (int step = 0; step < 4; ++step) {
    edge.zero_grad();
    const Var<double> loss = sum(square(z - v * x));
    loss.backward();
    expect_near(loss.value(), 56.0);
    edge.step();
    expect_near(v.value(), step % 2 == 0 ? 4.0 : 0.0);
  }
}

// The tutorial loss on the shipped data

BOOST_AUTO_TEST_CASE(tutorial_loss_tensor_equals_scalar) {
  // Hubble's 1929 table: distance in Mpc (x) and velocity in km/s (z).
  // No field of the file contains a comma.
  std::ifstream file(std::string(ADJOINT_EXAMPLES_DATA_DIR) + "/hubble1929.csv");
  BOOST_TEST_REQUIRE(file.is_open());
  std::string line;
  std::getline(file, line);
  BOOST_TEST_REQUIRE(line == "nebula,distance_mpc,velocity_km_s");
  std::vector<double> distances;
  std::vector<double> velocities;
  while (std::getline(file, line)) {
    const std::size_t first = line.find(',');
    const std::size_t second = line.find(',', first + 1);
    distances.push_back(std::stod(line.substr(first + 1, second - first - 1)));
    velocities.push_back(std::stod(line.substr(second + 1)));
  }
  BOOST_TEST_REQUIRE(distances.size() == 24u);
  const Tensor<double> x({distances.size()}, distances);
  const Tensor<double> z({velocities.size()}, velocities);

  for (const double start : {0.0, 423.94, 400.0, -100.0, 1000.5, 1e-3}) {
    BOOST_TEST_CONTEXT("w = " << start) {
      // One scalar node per point.
      Var<double> scalar_w{start};
      Var<double> scalar_loss;
      for (std::size_t i = 0; i < distances.size(); ++i) {
        scalar_loss += square(velocities[i] - scalar_w * distances[i]);
      }
      scalar_loss.backward();

      // One tensor operation per step, with w a Var and with w a
      // 0-dimensional tensor parameter.
      Var<double> tensor_w{start};
      const Var<double> tensor_loss = sum(square(z - tensor_w * x));
      tensor_loss.backward();
      Tensor<double> w0 = parameter(scalar_tensor(start));
      const Var<double> loss0 = sum(square(z - w0 * x));
      loss0.backward();

      // The gradient -2 sum x (z - w x) cancels near the minimum at
      // w = 423.94, where its terms are 1e5 times larger than the sum and
      // the two summation orders differ by more than 1e-12 of the sum. So
      // its tolerance is 1e-12 of the sum of the terms' magnitudes, which
      // is 1e-12 relative wherever the terms have one sign.
      double magnitude = 0;
      for (std::size_t i = 0; i < distances.size(); ++i) {
        magnitude += std::abs(2 * distances[i] *
                              (velocities[i] - start * distances[i]));
      }
      expect_close(tensor_loss.value(), scalar_loss.value(), 0, 1e-12);
      expect_close(tensor_w.grad(), scalar_w.grad(), 1e-12 * magnitude, 0);
      expect_close(loss0.value(), scalar_loss.value(), 0, 1e-12);
      expect_close(w0.grad().item(), scalar_w.grad(), 1e-12 * magnitude, 0);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
