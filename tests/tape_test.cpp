#define BOOST_TEST_MODULE tape
#include <array>
#include <boost/test/unit_test.hpp>
#include <span>
#include <stdexcept>
#include <vector>

#include "autodiff/autodiff.hpp"

using adjoint::Tape;
using adjoint::Var;

namespace {

// A user-defined operator built on the same mechanism as the built-in ones:
// cube(x) = x^3, d/dx = 3x^2.
template <class T>
Var<T> cube(const Var<T>& x) {
  const T& v = x.value();
  return adjoint::make_node("cube", T(v * v * v), {x, T(3 * v * v)});
}

// A user-defined operator with any number of operands: the sum.
template <class T>
Var<T> total(std::span<const Var<T>> terms) {
  T value(0);
  for (const Var<T>& term : terms) value += term.value();
  const std::vector<T> ones(terms.size(), T(1));
  return adjoint::make_node("total", value, terms, std::span<const T>(ones));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tape)

BOOST_AUTO_TEST_CASE(product_gradient) {
  Var<double> x{3.0};
  Var<double> y{4.0};
  (x * y).backward();
  BOOST_TEST(x.grad() == 4.0);
  BOOST_TEST(y.grad() == 3.0);
}

BOOST_AUTO_TEST_CASE(user_operator_gradient) {
  Var<double> x{2.0};
  const Var<double> y = cube(x);
  BOOST_TEST(y.value() == 8.0);
  y.backward();
  BOOST_TEST(x.grad() == 12.0);
}

BOOST_AUTO_TEST_CASE(user_operator_passes_checker) {
  const auto check = adjoint::check_gradient<double>(
      [](auto x) { return cube(x[0]) * x[1]; }, {1.5, -0.25});
  BOOST_TEST(check.max_relative_error < 1e-14);
}

BOOST_AUTO_TEST_CASE(variadic_operator_gradient) {
  const std::array<Var<double>, 3> terms{Var<double>{1.0}, Var<double>{2.0},
                                         adjoint::constant(4.0)};
  const Var<double> sum = total(std::span<const Var<double>>(terms));
  BOOST_TEST(sum.value() == 7.0);
  (sum * terms[0]).backward();
  BOOST_TEST(terms[0].grad() == 8.0);  // d(s x0)/dx0 = s + x0
  BOOST_TEST(terms[1].grad() == 1.0);
}

BOOST_AUTO_TEST_CASE(variadic_operator_rejects_count_mismatch) {
  const std::array<Var<double>, 2> terms{Var<double>{1.0}, Var<double>{2.0}};
  const std::array<double, 1> partials{1.0};
  BOOST_CHECK_THROW(
      adjoint::make_node("total", 3.0, std::span<const Var<double>>(terms),
                         std::span<const double>(partials)),
      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(tutorial_loss_fuses_each_point) {
  // loss += square(z - w * x) is four operations on temporaries, so each
  // point folds into one record with two operands (w with partial
  // -2 (z - w x) x, and the previous loss with partial 1): 4 bytes of
  // offset, 8 of operand codes and 8 of partial, 5 per operation.
  Tape<double>& tape = Tape<double>::active();
  tape.clear();
  Var<double> w{0.5};
  Var<double> loss;
  const int points = 1000;
  for (int i = 0; i < points; ++i) {
    const double x = 0.001 * i;
    loss += adjoint::square(2 * x - w * x);
  }
  const double operations = 4.0 * points;
  BOOST_TEST(tape.size() == points + 1u);  // and the node of w
  BOOST_TEST(static_cast<double>(tape.memory_bytes()) / operations <= 5.01);
  tape.clear();
}

BOOST_AUTO_TEST_CASE(unfused_loss_bytes_per_operation) {
  // Named intermediates that are copied are never fused: then a point costs
  // 4 offsets, 5 operand codes and 2 double partials, 13 bytes per
  // operation, because unit partials are stored as a kind only.
  Tape<double>& tape = Tape<double>::active();
  tape.clear();
  Var<double> w{0.5};
  Var<double> loss;
  const int points = 1000;
  for (int i = 0; i < points; ++i) {
    const double x = 0.001 * i;
    const Var<double> product = w * x;
    const Var<double> residual = 2 * x - product;
    const Var<double> squared = adjoint::square(residual);
    loss = loss + squared;
  }
  BOOST_TEST(tape.size() == 4u * points + 1);  // and the node of w
  BOOST_TEST(static_cast<double>(tape.memory_bytes()) / tape.size() <= 13.0);
  tape.clear();
}

BOOST_AUTO_TEST_CASE(fused_and_unfused_gradients_agree) {
  Var<double> w{0.75};
  Var<double> fused;
  for (int i = 1; i <= 5; ++i) {
    fused += adjoint::exp(adjoint::square(0.5 * i - w * i) * 0.1);
  }
  fused.backward();
  const double fused_gradient = w.grad();
  w.zero_grad();

  Var<double> unfused;
  for (int i = 1; i <= 5; ++i) {
    const Var<double> product = w * static_cast<double>(i);
    const Var<double> residual = 0.5 * i - product;
    const Var<double> squared = adjoint::square(residual);
    const Var<double> scaled = squared * 0.1;
    const Var<double> term = adjoint::exp(scaled);
    unfused = unfused + term;
  }
  unfused.backward();
  BOOST_TEST(fused.value() == unfused.value());
  BOOST_TEST(fused_gradient == w.grad(), boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(copied_intermediate_is_not_fused) {
  Var<double> w{3.0};
  Var<double> product = w * 2.0;
  const Var<double> copy = product;
  const Var<double> squared = adjoint::square(std::move(product));
  (squared + copy).backward();
  // d/dw ((2w)^2 + 2w) = 8w + 2
  BOOST_TEST(w.grad() == 26.0);
}

BOOST_AUTO_TEST_CASE(moved_from_node_is_rejected) {
  Var<double> w{3.0};
  Var<double> product = w * 2.0;
  const Var<double> squared = adjoint::square(std::move(product));
  BOOST_TEST(product.value() == 6.0);  // the value stays readable
  BOOST_CHECK_THROW(product + 1.0, adjoint::graph_error);
  Tape<double>::active().clear();
}

BOOST_AUTO_TEST_CASE(self_operation_on_temporary) {
  Var<double> w{3.0};
  Var<double> t = w * 2.0;
  t += t;  // 4w; t refers to the same node on both sides
  t *= t;  // 16 w^2
  t.backward();
  BOOST_TEST(t.value() == 144.0);
  BOOST_TEST(w.grad() == 96.0);
}

BOOST_AUTO_TEST_CASE(zero_partials_are_not_stored) {
  Tape<double>& tape = Tape<double>::active();
  tape.clear();
  Var<double> x{-1.0};
  const Var<double> y = adjoint::relu(x);
  const std::size_t before = tape.memory_bytes();
  BOOST_TEST(tape.size() == 2u);  // the parameter and relu, without operands
  (y * 3.0).backward();
  BOOST_TEST(x.grad() == 0.0);
  BOOST_TEST(before > 0u);
}

BOOST_AUTO_TEST_CASE(clear_keeps_parameters) {
  Var<double> w{1.5};
  Tape<double>::active().clear();
  adjoint::square(w).backward();
  BOOST_TEST(w.grad() == 3.0);
  BOOST_TEST(w.value() == 1.5);
}

BOOST_AUTO_TEST_CASE(tapes_are_separate_per_type) {
  Var<double> a{2.0};
  Var<float> b{3.0f};
  const Var<double> y = a * a;
  const Var<float> z = b * b;
  y.backward();  // releases the double graph only
  z.backward();
  BOOST_TEST(a.grad() == 4.0);
  BOOST_TEST(b.grad() == 6.0f);
}

BOOST_AUTO_TEST_CASE(failed_record_leaves_tape_intact) {
  // A record that fails (here: an operand from a released graph) must not
  // leave operands behind that the sweep would give to another node.
  Var<double> w{2.0};
  const Var<double> stale = w * 1.0;
  Tape<double>::active().clear();
  const Var<double> product = w * 3.0;
  BOOST_CHECK_THROW(product * stale, adjoint::graph_error);
  (product * 5.0).backward();
  BOOST_TEST(w.grad() == 15.0);
}

BOOST_AUTO_TEST_CASE(clear_forgets_parameter_nodes) {
  Var<double> w{2.0};
  Tape<double>& tape = Tape<double>::active();
  tape.clear();
  const Var<double> first = w * 1.0;
  BOOST_TEST(tape.size() == 2u);  // w and the product
  tape.clear();
  const Var<double> second = w * 1.0;
  BOOST_TEST(tape.size() == 2u);  // w is recorded again in the new graph
  tape.clear();
}

BOOST_AUTO_TEST_SUITE_END()
