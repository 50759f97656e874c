#define BOOST_TEST_MODULE graph
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"

// Graph semantics: fan-out, accumulation, release and retain_graph, errors
// on misuse, detach() and NoGradGuard, shared parameters, comparisons, long
// chains and the tape's memory across training steps.

namespace {

using adjoint::graph_error;
using adjoint::NoGradGuard;
using adjoint::Var;
using Tape = adjoint::Tape<double>;

/// Returns a predicate for BOOST_CHECK_EXCEPTION that accepts a graph_error
/// whose message contains `text`.
auto message_contains(std::string_view text) {
  return [text](const graph_error& error) {
    const std::string_view message = error.what();
    BOOST_TEST_INFO("message: " << message);
    BOOST_TEST(message.find(text) != std::string_view::npos);
    return message.find(text) != std::string_view::npos;
  };
}

/// Starts each test with an empty tape, whatever an earlier failure left.
struct EmptyTape {
  EmptyTape() { Tape::active().clear(); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(graph, EmptyTape)

// Fan-out and accumulation

BOOST_AUTO_TEST_CASE(fan_out_and_diamond_gradients) {
  Var<double> x{1.5};
  Var<double> y{-0.5};

  // x * x: one node is both operands of one operation.
  (x * x).backward();
  BOOST_TEST(x.grad() == 3.0);
  x.zero_grad();

  // A diamond: b and c both depend on x, and d joins them.
  // d = exp(x) sin(x), d' = exp(x) (sin(x) + cos(x)).
  const Var<double> b = exp(x);
  const Var<double> c = sin(x);
  (b * c).backward();
  const double want = std::exp(1.5) * (std::sin(1.5) + std::cos(1.5));
  BOOST_TEST(x.grad() == want, boost::test_tools::tolerance(1e-15));
  x.zero_grad();

  // a = x y used by three operations: L = a + a^2 + sin(a), so
  // dL/dx = (1 + 2a + cos(a)) y and dL/dy = (1 + 2a + cos(a)) x.
  const Var<double> a = x * y;
  (a + a * a + sin(a)).backward();
  const double slope = 1 + 2 * (1.5 * -0.5) + std::cos(1.5 * -0.5);
  BOOST_TEST(x.grad() == slope * -0.5, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(y.grad() == slope * 1.5, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(node_used_many_times) {
  // u = x + 1 feeds 1000 additions, so dL/dx = 1000 exactly.
  Var<double> x{0.25};
  const Var<double> u = x + 1.0;
  Var<double> sum = u;
  for (int i = 1; i < 1000; ++i) sum = sum + u;
  sum.backward();
  BOOST_TEST(x.grad() == 1000.0);
}

BOOST_AUTO_TEST_CASE(gradients_accumulate_until_zero_grad) {
  Var<double> x{2.0};
  Var<double> y{-3.0};
  for (int pass = 1; pass <= 3; ++pass) {
    (x * y + x).backward();
    BOOST_TEST_INFO("pass " << pass);
    BOOST_TEST(x.grad() == pass * (-3.0 + 1.0));
    BOOST_TEST_INFO("pass " << pass);
    BOOST_TEST(y.grad() == pass * 2.0);
  }
  x.zero_grad();
  BOOST_TEST(x.grad() == 0.0);
  BOOST_TEST(y.grad() == 6.0);
  y.zero_grad();
  (x * y).backward();
  BOOST_TEST(x.grad() == -3.0);
  BOOST_TEST(y.grad() == 2.0);
}

BOOST_AUTO_TEST_CASE(backward_on_parameter_adds_one) {
  // As in PyTorch, a parameter is its own output: d x / d x = 1.
  Var<double> x{5.0};
  x.backward();
  x.backward();
  BOOST_TEST(x.grad() == 2.0);
  BOOST_TEST(Tape::active().size() == 0u);
}

// Release and retain_graph

BOOST_AUTO_TEST_CASE(backward_releases_graph_by_default) {
  Var<double> x{2.0};
  Var<double> y{3.0};
  const Var<double> loss = x * y;
  BOOST_TEST(Tape::active().size() == 3u);
  loss.backward();
  BOOST_TEST(Tape::active().size() == 0u);
  BOOST_TEST(x.grad() == 3.0);

  BOOST_CHECK_EXCEPTION(loss.backward(), graph_error,
                        message_contains("adjoint::retain_graph"));
  BOOST_CHECK_EXCEPTION(loss.backward(), graph_error,
                        message_contains("released"));
  // The failed call changed no gradient.
  BOOST_TEST(x.grad() == 3.0);
  BOOST_TEST(y.grad() == 2.0);
}

BOOST_AUTO_TEST_CASE(tape_clear_releases_graph) {
  Var<double> x{2.0};
  const Var<double> loss = x * x;
  Tape::active().clear();
  BOOST_CHECK_EXCEPTION(loss.backward(), graph_error,
                        message_contains("Tape::clear()"));
  // The parameter survives the release and starts a new graph.
  (x * x).backward();
  BOOST_TEST(x.grad() == 4.0);
}

BOOST_AUTO_TEST_CASE(retain_graph_adds_exact_gradients) {
  // The intermediate a = sin(x y) has fan-out, so an adjoint left over from
  // the first sweep would compound in the second.
  const auto record = [](const Var<double>& x, const Var<double>& y) {
    const Var<double> a = sin(x * y);
    return a * a + a * x + exp(a);
  };
  Var<double> x{0.7};
  Var<double> y{-1.3};
  record(x, y).backward();
  const double single_x = x.grad();
  const double single_y = y.grad();
  x.zero_grad();
  y.zero_grad();

  const Var<double> loss = record(x, y);
  const std::size_t nodes = Tape::active().size();
  loss.backward(adjoint::retain_graph);
  BOOST_TEST(Tape::active().size() == nodes);
  BOOST_TEST(x.grad() == single_x);
  BOOST_TEST(y.grad() == single_y);
  loss.backward(adjoint::retain_graph);
  // 2g is exact, and 2g + g rounds as 3g does, so the sums are exact.
  BOOST_TEST(x.grad() == 2 * single_x);
  BOOST_TEST(y.grad() == 2 * single_y);
  loss.backward();
  BOOST_TEST(x.grad() == 3 * single_x);
  BOOST_TEST(y.grad() == 3 * single_y);
  BOOST_TEST(Tape::active().size() == 0u);
}

BOOST_AUTO_TEST_CASE(released_node_in_new_operation_raises) {
  Var<double> x{2.0};
  const Var<double> a = x * x;
  const Var<double> b = exp(x);
  a.backward();
  BOOST_CHECK_EXCEPTION(a + 1.0, graph_error, message_contains("released"));
  BOOST_CHECK_EXCEPTION(a * x, graph_error, message_contains("multiply"));
  BOOST_CHECK_EXCEPTION(sin(b), graph_error, message_contains("detach()"));
  BOOST_CHECK_EXCEPTION(max(a, b), graph_error, message_contains("max"));
  // A released node keeps its value, and detach() keeps it as a constant.
  BOOST_TEST(a.value() == 4.0);
  const Var<double> kept = a.detach() * x;
  kept.backward();
  BOOST_TEST(x.grad() == 4.0 + 4.0);
}

BOOST_AUTO_TEST_CASE(backward_from_earlier_node) {
  // The root need not be the last recorded node: b is recorded after a and
  // does not contribute to a's gradient.
  Var<double> x{2.0};
  Var<double> y{3.0};
  const Var<double> a = x * y;
  const Var<double> b = a * x + x;
  a.backward(adjoint::retain_graph);
  BOOST_TEST(x.grad() == 3.0);
  BOOST_TEST(y.grad() == 2.0);
  // db/dx = 2 x y + 1 = 13 and db/dy = x^2 = 4, added to a's gradient.
  b.backward();
  BOOST_TEST(x.grad() == 3.0 + 13.0);
  BOOST_TEST(y.grad() == 2.0 + 4.0);
}

// Misuse

BOOST_AUTO_TEST_CASE(backward_on_constant_raises) {
  Var<double> x{2.0};
  const Var<double> zero;
  BOOST_CHECK_EXCEPTION(zero.backward(), graph_error,
                        message_contains("depends on no parameter"));
  BOOST_CHECK_EXCEPTION(adjoint::constant(2.0).backward(), graph_error,
                        message_contains("constant"));
  BOOST_CHECK_EXCEPTION(x.detach().backward(), graph_error,
                        message_contains("detach()"));
  BOOST_CHECK_EXCEPTION((adjoint::constant(2.0) * 3.0).backward(), graph_error,
                        message_contains("Var<T>{value}"));
  Var<double> guarded;
  {
    NoGradGuard no_grad;
    guarded = x * x;
  }
  BOOST_CHECK_EXCEPTION(guarded.backward(), graph_error,
                        message_contains("NoGradGuard"));
  BOOST_TEST(x.grad() == 0.0);
}

BOOST_AUTO_TEST_CASE(grad_on_non_parameter_raises) {
  Var<double> x{2.0};
  Var<double> node = x * x;
  Var<double> constant = adjoint::constant(1.0);
  BOOST_CHECK_EXCEPTION(static_cast<void>(node.grad()), graph_error,
                        message_contains("an intermediate node"));
  BOOST_CHECK_EXCEPTION(static_cast<void>(constant.grad()), graph_error,
                        message_contains("a constant"));
  BOOST_CHECK_EXCEPTION(node.zero_grad(), graph_error,
                        message_contains("zero_grad"));
  BOOST_CHECK_EXCEPTION(constant.set_value(2.0), graph_error,
                        message_contains("set_value"));
  BOOST_TEST(!node.is_leaf());
  BOOST_TEST(node.requires_grad());
  BOOST_TEST(!constant.requires_grad());
}

// detach() and NoGradGuard

BOOST_AUTO_TEST_CASE(detach_stops_gradient) {
  Var<double> x{3.0};
  const Var<double> y = x * x;
  const Var<double> stopped = y.detach();
  BOOST_TEST(stopped.is_constant());
  BOOST_TEST(stopped.value() == 9.0);
  // d(detach(y) x)/dx = y = 9, not 3 x^2 = 27.
  (stopped * x).backward();
  BOOST_TEST(x.grad() == 9.0);

  // detach() of a parameter copies the value and does not follow it.
  const Var<double> frozen = x.detach();
  x.set_value(5.0);
  BOOST_TEST(frozen.value() == 3.0);
  BOOST_TEST(frozen.is_constant());
}

BOOST_AUTO_TEST_CASE(no_grad_guard_nesting) {
  Var<double> x{2.0};
  BOOST_TEST(adjoint::is_grad_enabled());
  {
    NoGradGuard outer;
    BOOST_TEST(!adjoint::is_grad_enabled());
    {
      NoGradGuard inner;
      BOOST_TEST(!adjoint::is_grad_enabled());
      BOOST_TEST((x * x).is_constant());
    }
    // Leaving the inner guard restores the outer guard's state, not
    // recording.
    BOOST_TEST(!adjoint::is_grad_enabled());
    const Var<double> y = exp(x) + x;
    BOOST_TEST(y.is_constant());
    BOOST_TEST(y.value() == std::exp(2.0) + 2.0);
  }
  BOOST_TEST(adjoint::is_grad_enabled());
  BOOST_TEST(Tape::active().size() == 0u);
  BOOST_TEST((x * x).requires_grad());
  BOOST_TEST(Tape::active().size() == 2u);
}

BOOST_AUTO_TEST_CASE(no_grad_guard_covers_every_type) {
  Var<float> f{1.5f};
  Var<long double> l{1.5L};
  NoGradGuard no_grad;
  BOOST_TEST((f * f).is_constant());
  BOOST_TEST((l * l).is_constant());
  BOOST_TEST(adjoint::Tape<float>::active().size() == 0u);
  BOOST_TEST(adjoint::Tape<long double>::active().size() == 0u);
}

// Parameters

BOOST_AUTO_TEST_CASE(parameter_copies_share_value_and_gradient) {
  Var<double> x{2.0};
  Var<double> copy = x;
  Var<double> assigned{7.0};
  assigned = x;
  copy.set_value(3.0);
  BOOST_TEST(x.value() == 3.0);
  BOOST_TEST(assigned.value() == 3.0);

  // One parameter, one leaf node, whichever handle an operation uses:
  // d(x copy)/dx = 2 x.
  const Var<double> product = x * copy;
  BOOST_TEST(Tape::active().size() == 2u);
  product.backward();
  BOOST_TEST(x.grad() == 6.0);
  BOOST_TEST(copy.grad() == 6.0);
  BOOST_TEST(assigned.grad() == 6.0);
  assigned.zero_grad();
  BOOST_TEST(x.grad() == 0.0);

  // The state outlives the handle it was made with.
  std::vector<Var<double>> copies;
  {
    Var<double> scoped{4.0};
    copies.push_back(scoped);
    (scoped * 2.0).backward();
  }
  BOOST_TEST(copies[0].value() == 4.0);
  BOOST_TEST(copies[0].grad() == 2.0);
}

BOOST_AUTO_TEST_CASE(copies_of_intermediate_survive_compound_assignment) {
  // b copies a before a += x rebinds a, so b must still be x y.
  Var<double> x{2.0};
  Var<double> y{3.0};
  Var<double> a = x * y;
  const Var<double> b = a;
  a += x;
  a *= y;
  BOOST_TEST(a.value() == 24.0);
  BOOST_TEST(b.value() == 6.0);
  // L = (x y + x) y (x y): dL/dx = 2 x y^3 + 2 x y^2 = 144,
  // dL/dy = 3 x^2 y^2 + 2 x^2 y = 132.
  (a * b).backward();
  BOOST_TEST(x.grad() == 144.0);
  BOOST_TEST(y.grad() == 132.0);
}

// Comparisons

BOOST_AUTO_TEST_CASE(comparisons_compare_values_without_recording) {
  Var<double> x{2.0};
  Var<double> y{3.0};
  const Var<double> node = x * 1.0;
  const std::size_t nodes = Tape::active().size();

  BOOST_TEST((x < y));
  BOOST_TEST((x <= y));
  BOOST_TEST((y > x));
  BOOST_TEST((y >= x));
  BOOST_TEST((x != y));
  BOOST_TEST(!(x == y));
  // Two parameters with the same value compare equal, as numbers do.
  BOOST_TEST((x == Var<double>{2.0}));
  BOOST_TEST((x == node));
  BOOST_TEST((x <= node));

  BOOST_TEST((x == 2.0));
  BOOST_TEST((2.0 == x));
  BOOST_TEST((x != 2.5));
  BOOST_TEST((x < 2.5));
  BOOST_TEST((2.5 > x));
  BOOST_TEST((1.0 < x));
  BOOST_TEST((x >= 2.0));
  BOOST_TEST((adjoint::constant(1.0) < x));

  // NaN is unordered: only != holds.
  const Var<double> not_a_number{std::numeric_limits<double>::quiet_NaN()};
  BOOST_TEST(!(not_a_number < x));
  BOOST_TEST(!(not_a_number > x));
  BOOST_TEST(!(not_a_number == not_a_number));
  BOOST_TEST((not_a_number != not_a_number));
  BOOST_TEST(!(not_a_number <= 1.0));
  BOOST_TEST(((not_a_number <=> x) == std::partial_ordering::unordered));

  BOOST_TEST(Tape::active().size() == nodes);
  node.backward();
  BOOST_TEST(x.grad() == 1.0);
  BOOST_TEST(y.grad() == 0.0);
}

// Long chains

BOOST_AUTO_TEST_CASE(million_operation_chain) {
  // s_k = s_{k-1} / 2 + x, so ds_n/dx = sum 2^-j, which rounds to 2.
  constexpr int operations = 1'000'000;
  Var<double> x{0.5};
  Var<double> s = x;
  for (int k = 0; k < operations / 2; ++k) s = s * 0.5 + x;
  BOOST_TEST(s.value() == 1.0);
  s.backward();
  BOOST_TEST(x.grad() == 2.0);
  BOOST_TEST(Tape::active().size() == 0u);
}

BOOST_AUTO_TEST_CASE(ten_million_additions) {
  // s = s + x, 10^7 - 1 times: ds/dx is 10^7, exact in double.
  constexpr int terms = 10'000'000;
  Var<double> x{0.5};
  Var<double> s = x;
  for (int k = 1; k < terms; ++k) s = s + x;
  BOOST_TEST(s.value() == 0.5 * terms);
  s.backward();
  BOOST_TEST(x.grad() == double{terms});
  BOOST_TEST(Tape::active().size() == 0u);
}

BOOST_AUTO_TEST_CASE(long_chain_released_without_backward) {
  // Dropping a recorded graph without backward() frees nothing twice and
  // leaves the parameter usable.
  Var<double> x{1.0};
  {
    Var<double> s = x;
    for (int k = 0; k < 100'000; ++k) s = tanh(s) * x;
  }
  Tape::active().clear();
  BOOST_TEST(Tape::active().size() == 0u);
  (x * 3.0).backward();
  BOOST_TEST(x.grad() == 3.0);
}

// Memory

BOOST_AUTO_TEST_CASE(memory_stays_flat_over_training_steps) {
  // Starting values 0.03, 0.13, ..., 0.73 make every partial 2 (w - 1) of
  // the first step general. The tape stores a partial of exactly 0 or ±1
  // without a T, so no later step may record more bytes than the first.
  std::vector<Var<double>> weights;
  for (int i = 0; i < 8; ++i) weights.emplace_back(0.1 * i + 0.03);
  const auto loss = [&weights] {
    Var<double> sum;
    for (const Var<double>& w : weights) sum = sum + square(w - 1.0);
    return sum;
  };

  const std::size_t empty_bytes = Tape::active().memory_bytes();
  std::size_t first_step_nodes = 0;
  std::size_t first_step_bytes = 0;
  for (int step = 0; step < 2000; ++step) {
    for (Var<double>& w : weights) w.zero_grad();
    const Var<double> value = loss();
    const std::size_t nodes = Tape::active().size();
    const std::size_t bytes = Tape::active().memory_bytes();
    if (step == 0) {
      first_step_nodes = nodes;
      first_step_bytes = bytes;
    }
    value.backward();
    {
      NoGradGuard no_grad;
      for (Var<double>& w : weights) w.set_value(w.value() - 0.01 * w.grad());
    }
    if (nodes != first_step_nodes || bytes > first_step_bytes ||
        Tape::active().size() != 0 ||
        Tape::active().memory_bytes() != empty_bytes) {
      BOOST_TEST_INFO("step " << step << ": " << nodes << " nodes and " << bytes
                              << " bytes recorded, first step "
                              << first_step_nodes << " and " << first_step_bytes
                              << "; after backward " << Tape::active().size()
                              << " nodes and " << Tape::active().memory_bytes()
                              << " bytes");
      BOOST_TEST(false);
      break;
    }
  }
  BOOST_TEST(first_step_nodes > 8u);
  BOOST_TEST(first_step_bytes > empty_bytes);
  // Every weight moved from below 0.8 to within 1e-10 of 1.
  for (const Var<double>& w : weights) {
    BOOST_TEST(w.value() == 1.0, boost::test_tools::tolerance(1e-10));
  }
}

BOOST_AUTO_TEST_CASE(moved_from_parameter_keeps_value) {
  Var<double> p{3.0};
  const Var<double> q = std::move(p);
  BOOST_TEST(p.value() == 3.0);
  BOOST_TEST(q.value() == 3.0);
  BOOST_CHECK_EXCEPTION(p.grad(), adjoint::graph_error,
                        [](const adjoint::graph_error& error) {
                          return std::string(error.what()).find("moved from") !=
                                 std::string::npos;
                        });
  BOOST_CHECK_THROW(p * 2.0, adjoint::graph_error);
}

BOOST_AUTO_TEST_CASE(parameter_used_on_another_thread) {
  // Another thread's tape records w too, which rewrites the parameter's
  // own record of its node; this graph must still find its node of w.
  Var<double> w{3.0};
  const Var<double> a = w * w;
  std::thread other([&] {
    const Var<double> b = w * 2.0;
    b.backward();
  });
  other.join();
  w.zero_grad();
  const Var<double> c = a + w;  // d(w^2 + w)/dw = 7
  c.backward();
  BOOST_TEST(w.grad() == 7.0);
}

BOOST_AUTO_TEST_CASE(backward_on_moved_from_handle) {
  Var<double> w{3.0};
  Var<double> product = w * 2.0;
  const Var<double> moved = std::move(product);
  BOOST_CHECK_EXCEPTION(product.backward(), adjoint::graph_error,
                        [](const adjoint::graph_error& error) {
                          return std::string(error.what()).find("moved from") !=
                                 std::string::npos;
                        });
  moved.backward();
  BOOST_TEST(w.grad() == 2.0);
}

BOOST_AUTO_TEST_SUITE_END()
