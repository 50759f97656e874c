#define BOOST_TEST_MODULE tensor_graph
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "optim/optim.hpp"
#include "tensor_support.hpp"

// Graph rules with tensors: Var and Tensor in one expression, accumulation,
// retain_graph, NoGradGuard, detach(), shared parameters and an empty tape
// after backward(). Then the errors on misuse: shape mismatches, bad axes,
// indices out of range, ragged nested lists, item() on several elements,
// gradients of non-parameters and released graphs.

namespace {

using adjoint::graph_error;
using adjoint::NoGradGuard;
using adjoint::parameter;
using adjoint::scalar_tensor;
using adjoint::Shape;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::EmptyTapes;
using adjoint::testing::expect_exact_values;
using adjoint::testing::message_contains;
using Tape = adjoint::Tape<double>;

/// Checks that the tape contains no scalar node and no tensor operation.
void expect_empty_tape() {
  BOOST_TEST(Tape::active().size() == 0u);
  BOOST_TEST(Tape::active().tensor_records() == 0u);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tensor_graph, EmptyTapes)

// Var and Tensor in one graph

BOOST_AUTO_TEST_CASE(var_and_tensor_in_one_expression) {
  Var<double> w{2.0};
  Var<double> b{-1.0};
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0, 3.0});
  // A Var scales a tensor, a reduction comes back as a Var, and the Var
  // result enters a tensor expression again.
  const Var<double> s = sum(w * x + b);  // 2 * 6 - 3 = 9
  const Var<double> loss = s * w + sum(square(x - s)) + b * b;
  loss.backward();
  // Hand: loss = s w + sum((x - s)^2) + b^2 with s = w sum(x) + 3 b and
  // sum(x) = 6. dloss/ds = w - 2 sum(x - s) = 2 - 2 (6 - 27) = 44,
  // dloss/dw = s + 44 * 6 = 273, dloss/db = 44 * 3 + 2 b = 130, and
  // dloss/dx_i = 44 w + 2 (x_i - s) = 88 + 2 x_i - 18.
  BOOST_TEST(s.value() == 9.0);
  BOOST_TEST(loss.value() == 18.0 + (64.0 + 49.0 + 36.0) + 1.0);
  BOOST_TEST(w.grad() == 273.0);
  BOOST_TEST(b.grad() == 130.0);
  expect_exact_values<double>(x.grad_values(), {72.0, 74.0, 76.0});
  expect_empty_tape();
}

BOOST_AUTO_TEST_CASE(reduction_result_rebound_by_compound_assignment) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0});
  Var<double> s = sum(x * x);
  // The reduction's node is read by its tensor record, so a later
  // operation must not fold into it.
  s *= 3.0;
  s += 1.0;
  s.backward();
  // Hand: d/dx of 3 sum(x^2) + 1 is 6 x.
  BOOST_TEST(s.value() == 16.0);
  expect_exact_values<double>(x.grad_values(), {6.0, 12.0});
}

BOOST_AUTO_TEST_CASE(as_tensor_of_an_intermediate_var) {
  Var<double> a{2.0};
  Var<double> c{3.0};
  const Tensor<double> v{1.0, 2.0};
  Var<double> s = a * c;  // 6
  const Tensor<double> t = v * s;
  // The compound assignment may fold the multiplication into the record
  // of s, which the tensor operation above still reads.
  s *= 2.0;
  const Var<double> loss = sum(t) + s;
  loss.backward();
  // Hand: loss = sum(v) a c + 2 a c = 5 a c, so dloss/da = 5 c = 15 and
  // dloss/dc = 5 a = 10.
  BOOST_TEST(loss.value() == 30.0);
  BOOST_TEST(a.grad() == 15.0);
  BOOST_TEST(c.grad() == 10.0);

  // The same with a Var factor that is already on the tape, which the
  // folded record takes on as a new operand.
  Var<double> e{2.0};
  Var<double> f{3.0};
  Var<double> d{0.5};
  const Var<double> penalty = d * d;
  Var<double> r = e * f;
  const Tensor<double> u = v * r;
  r *= d;
  const Var<double> second = sum(u) + r + penalty;
  second.backward();
  // Hand: second = sum(v) e f + e f d + d^2 = 18 + 3 + 0.25, so d/dd =
  // e f + 2 d = 7, d/de = (3 + d) f = 10.5 and d/df = (3 + d) e = 7.
  BOOST_TEST(second.value() == 21.25);
  BOOST_TEST(d.grad() == 7.0);
  BOOST_TEST(e.grad() == 10.5);
  BOOST_TEST(f.grad() == 7.0);
}

// Accumulation, retain_graph and release

BOOST_AUTO_TEST_CASE(gradients_accumulate_until_zero_grad) {
  Tensor<double> x = parameter(Tensor<double>{{1.0, -2.0}, {0.5, 3.0}});
  Var<double> w{0.5};
  for (int pass = 1; pass <= 2; ++pass) {
    const Var<double> loss = sum(square(x) * w);
    loss.backward();
    // Hand: d/dx = 2 x w = x, d/dw = sum(x^2) = 14.25, added per pass.
    expect_exact_values<double>(x.grad_values(), {pass * 1.0, pass * -2.0,
                                                  pass * 0.5, pass * 3.0});
    BOOST_TEST(w.grad() == pass * 14.25);
    expect_empty_tape();
  }
  // grad() is a view of the accumulated gradient, so zero_grad() clears
  // what it shows too.
  const Tensor<double> view = x.grad();
  BOOST_TEST(view.is_constant());
  x.zero_grad();
  w.zero_grad();
  expect_exact_values<double>(view.values(), {0, 0, 0, 0});
  BOOST_TEST(w.grad() == 0.0);
  sum(x).backward();
  expect_exact_values<double>(view.values(), {1, 1, 1, 1});
  // Before any backward(), the gradient of a new parameter is zeros.
  const Tensor<double> fresh = parameter(Tensor<double>{1.0, 2.0});
  expect_exact_values<double>(fresh.grad_values(), {0, 0});
}

BOOST_AUTO_TEST_CASE(retain_graph_adds_exactly_and_then_releases) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0, -1.0});
  const Tensor<double> hidden = exp(x) * x;  // an intermediate used twice
  const Var<double> loss = sum(hidden) + max(hidden * hidden);
  loss.backward(adjoint::retain_graph);
  const std::vector<double> once(x.grad_values().begin(), x.grad_values().end());
  BOOST_TEST(Tape::active().tensor_records() > 0u);
  loss.backward(adjoint::retain_graph);
  loss.backward();
  for (std::size_t i = 0; i < once.size(); ++i) {
    BOOST_TEST(x.grad_values()[i] == 3 * once[i]);
  }
  expect_empty_tape();
  BOOST_CHECK_EXCEPTION(loss.backward(), graph_error,
                        message_contains({"backward", "retain_graph"}));
  // The failed call changed no gradient.
  for (std::size_t i = 0; i < once.size(); ++i) {
    BOOST_TEST(x.grad_values()[i] == 3 * once[i]);
  }
}

BOOST_AUTO_TEST_CASE(intermediates_of_a_released_graph_raise) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0});
  const Tensor<double> doubled = x * 2.0;
  const Var<double> total = sum(doubled);
  const Var<double> other = sum(doubled * doubled);  // beside the root
  total.backward();
  // The release ended `other` and `doubled` too.
  BOOST_CHECK_EXCEPTION(other.backward(), graph_error,
                        message_contains({"released"}));
  BOOST_CHECK_EXCEPTION(doubled + 1.0, graph_error,
                        message_contains({"add", "released", "detach()"}));
  BOOST_CHECK_EXCEPTION(sum(doubled), graph_error,
                        message_contains({"sum", "released"}));
  BOOST_CHECK_EXCEPTION(matmul(doubled, x), graph_error,
                        message_contains({"matmul", "released"}));
  BOOST_CHECK_EXCEPTION(doubled * total, graph_error,
                        message_contains({"released"}));
  // A released intermediate keeps its values; detach() or NoGradGuard
  // reads them as a constant.
  expect_exact_values<double>(doubled.values(), {2.0, 4.0});
  const Var<double> again = sum(doubled.detach() * x);
  again.backward();
  expect_exact_values<double>(x.grad_values(), {2.0 + 2.0, 2.0 + 4.0});
  {
    NoGradGuard no_grad;
    expect_exact_values<double>((doubled + 1.0).values(), {3.0, 5.0});
  }
  // Tape::clear() releases the graph in the same way.
  const Tensor<double> tripled = x * 3.0;
  Tape::active().clear();
  BOOST_CHECK_EXCEPTION(exp(tripled), graph_error,
                        message_contains({"exp", "Tape::clear()"}));
}

BOOST_AUTO_TEST_CASE(intermediate_from_another_thread_raises) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0});
  Tensor<double> made_elsewhere;
  std::thread worker([&] { made_elsewhere = x * 2.0; });
  worker.join();
  BOOST_CHECK_EXCEPTION(sum(made_elsewhere), graph_error,
                        message_contains({"another thread"}));
  // The parameter itself may be used on this thread.
  sum(x).backward();
  expect_exact_values<double>(x.grad_values(), {1, 1});
}

// Recording rules

BOOST_AUTO_TEST_CASE(no_grad_guard_records_nothing) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0});
  Var<double> w{3.0};
  Tensor<double> y;
  Var<double> s;
  {
    NoGradGuard no_grad;
    y = exp(x) * w;
    s = sum(matmul(x, x) + y);
    expect_empty_tape();
  }
  BOOST_TEST(y.is_constant());
  BOOST_TEST(s.is_constant());
  BOOST_TEST(std::abs(s.value() - (10.0 + 3 * (std::exp(1.0) + std::exp(2.0)))) <
             1e-12);
  BOOST_CHECK_EXCEPTION(s.backward(), graph_error,
                        message_contains({"NoGradGuard"}));
  // Operations on constants only are constants too, and record nothing.
  const Tensor<double> c{1.0, 2.0};
  BOOST_TEST((softmax(c) * 2.0).is_constant());
  BOOST_TEST(sum(c).is_constant());
  expect_empty_tape();
}

BOOST_AUTO_TEST_CASE(detach_shares_values_and_stops_gradients) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0});
  const Tensor<double> d = x.detach();
  BOOST_TEST(d.is_constant());
  BOOST_TEST(!d.requires_grad());
  BOOST_TEST(d.data() == x.data());
  // An optimizer update of x shows through the detached view.
  x.mutable_values()[0] = 5.0;
  BOOST_TEST(d.values()[0] == 5.0);
  const Var<double> loss = sum(x * d);
  loss.backward();
  // Hand: d/dx of sum(x * c) with c = x's values.
  expect_exact_values<double>(x.grad_values(), {5.0, 2.0});
}

BOOST_AUTO_TEST_CASE(parameter_used_twice_and_shared_copies) {
  Tensor<double> x = parameter(Tensor<double>{1.0, -1.0});
  Tensor<double> copy = x;
  BOOST_TEST(copy.parameter_id() == x.parameter_id());
  BOOST_TEST(copy.is_leaf());
  // The same parameter in two places of one expression, once through the
  // copy.
  const Var<double> loss = sum(x * copy) + dot(x, Tensor<double>{3.0, 4.0});
  loss.backward();
  // Hand: d/dx = 2 x + [3, 4].
  expect_exact_values<double>(x.grad_values(), {5.0, 2.0});
  expect_exact_values<double>(copy.grad_values(), {5.0, 2.0});
  // Values and gradient are shared: an update through either is seen by
  // both, and so are views made by reshape().
  const Tensor<double> view = reshape(x, {2, 1});
  copy.mutable_values()[1] = 7.0;
  BOOST_TEST(x.values()[1] == 7.0);
  BOOST_TEST(view.values()[1] == 7.0);
  copy.zero_grad();
  expect_exact_values<double>(x.grad_values(), {0.0, 0.0});
  // parameter() copies: a parameter made from x is independent.
  Tensor<double> separate = parameter(x);
  BOOST_TEST(separate.parameter_id() != x.parameter_id());
  separate.mutable_values()[0] = -9.0;
  BOOST_TEST(x.values()[0] == 1.0);
  Tape::active().clear();
}

BOOST_AUTO_TEST_CASE(optimizer_updates_tensor_parameters) {
  Tensor<double> x = parameter(Tensor<double>{1.0, -2.0});
  Var<double> w{0.5};
  adjoint::optim::GradientDescent<double> optimizer({x, w}, 0.25);
  optimizer.zero_grad();
  sum(square(x) * w).backward();
  optimizer.step();
  // Hand: x <- x - 0.25 * 2 x w = 0.75 x, w <- w - 0.25 * sum(x^2).
  expect_exact_values<double>(x.values(), {0.75, -1.5});
  BOOST_TEST(w.value() == 0.5 - 0.25 * 5.0);
  // The optimizer rejects the same tensor twice and an intermediate.
  BOOST_CHECK_EXCEPTION((adjoint::optim::GradientDescent<double>({x, x}, 0.1)),
                        std::invalid_argument,
                        message_contains({"same parameter"}));
  const Tensor<double> doubled = x * 2.0;
  BOOST_CHECK_EXCEPTION(
      (adjoint::optim::GradientDescent<double>({doubled}, 0.1)),
      std::invalid_argument, message_contains({"intermediate"}));
  Tape::active().clear();
}

BOOST_AUTO_TEST_CASE(tape_is_empty_after_backward) {
  Tensor<double> a = parameter(Tensor<double>{{1.0, 2.0}, {3.0, 4.0}});
  Var<double> w{1.5};
  const Var<double> loss =
      cross_entropy(matmul(a, transpose(a)) * w, {0, 1}) +
      logsumexp(concat(std::vector{flatten(a), unsqueeze(as_tensor(w), 0)})) +
      sum(slice(reshape(a, {4}), 0, 1, 4, 2));
  BOOST_TEST(Tape::active().tensor_records() > 0u);
  BOOST_TEST(Tape::active().size() > 0u);
  loss.backward();
  expect_empty_tape();
  // The next graph starts from an empty tape, step after step.
  for (int step = 0; step < 3; ++step) {
    sum(exp(a) * w).backward();
    expect_empty_tape();
  }
}

// Errors: shapes

BOOST_AUTO_TEST_CASE(shape_mismatch_messages) {
  const Tensor<double> a = adjoint::zeros<double>({2, 3});
  const Tensor<double> b = adjoint::zeros<double>({4});
  for (const auto& [name, operation] :
       std::vector<std::pair<std::string, std::function<Tensor<double>()>>>{
           {"add", [&] { return a + b; }},
           {"subtract", [&] { return a - b; }},
           {"multiply", [&] { return a * b; }},
           {"divide", [&] { return a / b; }},
           {"pow", [&] { return pow(a, b); }},
           {"maximum", [&] { return maximum(a, b); }},
           {"minimum", [&] { return minimum(a, b); }},
           {"where", [&] { return where(a, a, b); }},
       }) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_CHECK_EXCEPTION(operation(), std::invalid_argument,
                            message_contains({name + ":", "[2, 3]", "[4]",
                                              "do not broadcast"}));
    }
  }
  // matmul names both operands' shapes.
  BOOST_CHECK_EXCEPTION(
      matmul(adjoint::zeros<double>({3, 4}), adjoint::zeros<double>({5, 2})),
      std::invalid_argument,
      message_contains({"matmul: inner dimensions differ: [3, 4] x [5, 2]"}));
  BOOST_CHECK_EXCEPTION(
      matmul(adjoint::zeros<double>({3}), adjoint::zeros<double>({4})),
      std::invalid_argument, message_contains({"matmul", "[3]", "[4]"}));
  BOOST_CHECK_EXCEPTION(matmul(scalar_tensor(1.0), adjoint::zeros<double>({2})),
                        std::invalid_argument,
                        message_contains({"matmul", "[]", "[2]"}));
  // Batch dimensions that do not broadcast: the message names both
  // operands, not only their batch dimensions.
  BOOST_CHECK_EXCEPTION(
      matmul(adjoint::zeros<double>({2, 3, 4}), adjoint::zeros<double>({3, 4, 5})),
      std::invalid_argument,
      message_contains({"matmul", "[2, 3, 4]", "[3, 4, 5]"}));
  BOOST_CHECK_EXCEPTION(dot(adjoint::zeros<double>({3}), adjoint::zeros<double>({4})),
                        std::invalid_argument,
                        message_contains({"dot:", "[3]", "[4]"}));
  BOOST_CHECK_EXCEPTION(dot(a, a), std::invalid_argument,
                        message_contains({"dot:", "[2, 3]"}));
  BOOST_CHECK_EXCEPTION(
      concat(std::vector{a, adjoint::zeros<double>({2, 4})}, 0),
      std::invalid_argument, message_contains({"concat:", "[2, 3]", "[2, 4]"}));
  BOOST_CHECK_EXCEPTION(concat(std::vector{a, b}), std::invalid_argument,
                        message_contains({"concat:", "[2, 3]", "[4]"}));
  BOOST_CHECK_EXCEPTION(concat(std::vector<Tensor<double>>{}),
                        std::invalid_argument, message_contains({"concat:"}));
  BOOST_CHECK_EXCEPTION(stack(std::vector{a, adjoint::zeros<double>({3, 2})}),
                        std::invalid_argument,
                        message_contains({"stack:", "[2, 3]", "[3, 2]"}));
  BOOST_CHECK_EXCEPTION(reshape(a, {4}), std::invalid_argument,
                        message_contains({"reshape:", "[4]", "[2, 3]"}));
  BOOST_CHECK_EXCEPTION(reshape(a, {4, -1}), std::invalid_argument,
                        message_contains({"reshape:", "-1", "[2, 3]"}));
  BOOST_CHECK_EXCEPTION(reshape(a, {-1, -1}), std::invalid_argument,
                        message_contains({"reshape:", "at most one -1"}));
  BOOST_CHECK_EXCEPTION(squeeze(a, 0), std::invalid_argument,
                        message_contains({"squeeze:", "[2, 3]", "not 1"}));
  BOOST_CHECK_EXCEPTION(Tensor<double>(Shape{2, 2}, std::vector<double>{1, 2, 3}),
                        std::invalid_argument,
                        message_contains({"3 values", "[2, 2]", "4 elements"}));
  BOOST_CHECK_EXCEPTION(cross_entropy(a, {0}), std::invalid_argument,
                        message_contains({"cross_entropy:", "1 targets", "2 rows"}));
  BOOST_CHECK_EXCEPTION(cross_entropy(a, {0, 3}), std::invalid_argument,
                        message_contains({"cross_entropy:", "target 3", "3 classes"}));
  BOOST_CHECK_EXCEPTION(cross_entropy(scalar_tensor(1.0), {0}),
                        std::invalid_argument,
                        message_contains({"cross_entropy:", "[]"}));
  BOOST_CHECK_EXCEPTION(clamp(a, 1.0, -1.0), std::invalid_argument,
                        message_contains({"clamp:", "low 1", "high -1"}));
  BOOST_CHECK_EXCEPTION(max(adjoint::zeros<double>({0})), std::invalid_argument,
                        message_contains({"max:", "[0]", "no elements"}));
  BOOST_CHECK_EXCEPTION(min(adjoint::zeros<double>({2, 0}), 1),
                        std::invalid_argument,
                        message_contains({"min:", "[2, 0]", "no elements"}));
  const std::vector<int> nine_ones(9, 1);
  BOOST_CHECK_EXCEPTION(Shape(std::span<const int>(nine_ones)),
                        std::invalid_argument,
                        message_contains({"Shape:", "9 dimensions"}));
  // An element count that overflows std::size_t is rejected rather than
  // wrapped around to a small count (2^32 x 2^32 would wrap to 0).
  const std::size_t big = std::size_t{1} << 32;
  BOOST_CHECK_THROW(adjoint::zeros<double>(Shape{big, big}), std::exception);
  // A failed operation records nothing.
  const Tensor<double> p = parameter(a);
  BOOST_CHECK_THROW(p + b, std::invalid_argument);
  BOOST_CHECK_THROW(matmul(p, p), std::invalid_argument);
  expect_empty_tape();
}

// Errors: axes and indices

BOOST_AUTO_TEST_CASE(axis_errors) {
  const Tensor<double> a = adjoint::zeros<double>({2, 3});
  BOOST_CHECK_EXCEPTION(sum(a, 2), std::invalid_argument,
                        message_contains({"sum: axis 2 is out of range for a tensor "
                                          "of rank 2", "[-2, 1]"}));
  BOOST_CHECK_EXCEPTION(mean(a, -3), std::invalid_argument,
                        message_contains({"mean:", "axis -3"}));
  BOOST_CHECK_EXCEPTION(max(a, {0, 0}), std::invalid_argument,
                        message_contains({"max:", "appears twice"}));
  BOOST_CHECK_EXCEPTION(min(a, {1, -1}), std::invalid_argument,
                        message_contains({"min:", "appears twice"}));
  BOOST_CHECK_EXCEPTION(logsumexp(a, adjoint::Axes{}), std::invalid_argument,
                        message_contains({"logsumexp:", "empty"}));
  BOOST_CHECK_EXCEPTION(softmax(a, 2), std::invalid_argument,
                        message_contains({"softmax:", "axis 2"}));
  BOOST_CHECK_EXCEPTION(log_softmax(scalar_tensor(1.0)), std::invalid_argument,
                        message_contains({"log_softmax:", "rank 0"}));
  BOOST_CHECK_EXCEPTION(permute(a, {0}), std::invalid_argument,
                        message_contains({"permute:", "[2, 3]"}));
  BOOST_CHECK_EXCEPTION(permute(a, {1, 1}), std::invalid_argument,
                        message_contains({"permute:", "appears twice"}));
  BOOST_CHECK_EXCEPTION(transpose(a, 0, 2), std::invalid_argument,
                        message_contains({"transpose:", "axis 2"}));
  BOOST_CHECK_EXCEPTION(transpose(adjoint::zeros<double>({3})),
                        std::invalid_argument,
                        message_contains({"transpose:", "[3]"}));
  BOOST_CHECK_EXCEPTION(unsqueeze(a, 3), std::invalid_argument,
                        message_contains({"unsqueeze:", "axis 3", "[-3, 2]"}));
  BOOST_CHECK_EXCEPTION(squeeze(a, -3), std::invalid_argument,
                        message_contains({"squeeze:", "axis -3"}));
  BOOST_CHECK_EXCEPTION(slice(a, 2, 0, 1), std::invalid_argument,
                        message_contains({"slice:", "axis 2"}));
  BOOST_CHECK_EXCEPTION(slice(a, 1, 0, 3, 0), std::invalid_argument,
                        message_contains({"slice:", "step 0"}));
  BOOST_CHECK_EXCEPTION(concat(std::vector{a, a}, 2), std::invalid_argument,
                        message_contains({"concat:", "axis 2"}));
  // stack names itself, not the unsqueeze() it is built on.
  BOOST_CHECK_EXCEPTION(stack(std::vector{a, a}, 3), std::invalid_argument,
                        message_contains({"stack:", "axis 3"}));
}

BOOST_AUTO_TEST_CASE(index_errors) {
  const Tensor<double> a{{1, 2, 3}, {4, 5, 6}};
  BOOST_CHECK_EXCEPTION(index_select(a, 1, {0, 3}), std::invalid_argument,
                        message_contains({"index_select: index 3 is out of range",
                                          "[2, 3]"}));
  BOOST_CHECK_EXCEPTION(index_select(a, 0, {2}), std::invalid_argument,
                        message_contains({"index_select:", "index 2"}));
  BOOST_CHECK_EXCEPTION(index_select(a, 2, {0}), std::invalid_argument,
                        message_contains({"index_select:", "axis 2"}));
  BOOST_TEST(a(1, 2) == 6.0);
  BOOST_CHECK_EXCEPTION(a(2, 0), std::invalid_argument,
                        message_contains({"index 2 is out of range", "[2, 3]"}));
  BOOST_CHECK_EXCEPTION(a(0), std::invalid_argument,
                        message_contains({"1 indices", "[2, 3]"}));
  BOOST_CHECK_EXCEPTION(a.item(), std::invalid_argument,
                        message_contains({"item", "[2, 3]", "6 elements"}));
  BOOST_TEST(Tensor<double>{4.5}.item() == 4.5);
  BOOST_TEST(scalar_tensor(-1.0).item() == -1.0);
}

BOOST_AUTO_TEST_CASE(ragged_nested_lists) {
  BOOST_CHECK_EXCEPTION((Tensor<double>{{1, 2}, {3}}), std::invalid_argument,
                        message_contains({"nested lists of different lengths",
                                          "[2]", "[1]"}));
  BOOST_CHECK_EXCEPTION((Tensor<double>{{{1, 2}, {3, 4}}, {{5, 6}}}),
                        std::invalid_argument,
                        message_contains({"nested lists of different lengths",
                                          "[2, 2]", "[1, 2]"}));
  BOOST_CHECK_EXCEPTION((Tensor<double>{{{1, 2}, {3, 4}}, {{5, 6}, {7}}}),
                        std::invalid_argument,
                        message_contains({"nested lists of different lengths"}));
  // Regular lists give the nested shape.
  BOOST_TEST((Tensor<double>{{1, 2}, {3, 4}, {5, 6}}.shape() == Shape{3, 2}));
  BOOST_TEST((Tensor<double>{{{1, 2}}, {{3, 4}}}.shape() == Shape{2, 1, 2}));
}

// Errors: gradients of non-parameters

BOOST_AUTO_TEST_CASE(grad_of_non_parameter_raises) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0});
  Tensor<double> constant{1.0, 2.0};
  Tensor<double> intermediate = x * 2.0;
  BOOST_CHECK_EXCEPTION(constant.grad(), graph_error,
                        message_contains({"Tensor::grad", "a constant",
                                          "adjoint::parameter()"}));
  BOOST_CHECK_EXCEPTION(intermediate.grad(), graph_error,
                        message_contains({"Tensor::grad", "an intermediate result"}));
  BOOST_CHECK_EXCEPTION(intermediate.grad_values(), graph_error,
                        message_contains({"grad_values"}));
  BOOST_CHECK_EXCEPTION(constant.zero_grad(), graph_error,
                        message_contains({"zero_grad"}));
  BOOST_CHECK_EXCEPTION(intermediate.mutable_values(), graph_error,
                        message_contains({"mutable_values"}));
  const Var<double> reduced = sum(x);
  BOOST_CHECK_EXCEPTION(static_cast<void>(reduced.grad()), graph_error,
                        message_contains({"an intermediate node"}));
  BOOST_CHECK_EXCEPTION(sum(constant).backward(), graph_error,
                        message_contains({"depends on no parameter"}));
  Tape::active().clear();
}

BOOST_AUTO_TEST_SUITE_END()
