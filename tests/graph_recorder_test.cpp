#define BOOST_TEST_MODULE graph_recorder
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <boost/test/unit_test.hpp>

// GraphRecorder: DOT text of small scalar and tensor graphs, the backprop
// trace of the tutorial's first step against the hand calculation, and the
// recorder's life cycle and errors.

#include <fmt/format.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace {

using adjoint::graph_error;
using adjoint::GraphRecorder;
using adjoint::Tensor;
using adjoint::Var;

auto message_contains(std::string_view text) {
  return [text](const graph_error& error) {
    const std::string_view message = error.what();
    BOOST_TEST_INFO("message: " << message);
    return message.find(text) != std::string_view::npos;
  };
}

/// Builds the tutorial's loss J(w) = sum((z - w*x)^2) as the tutorial
/// example builds it.
Var<double> tutorial_loss(const std::vector<double>& x, const Var<double>& w) {
  Var<double> sum;
  for (double xi : x) sum += square(2 * xi - w * xi);
  return sum;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) lines.push_back(line);
  return lines;
}

}  // namespace

BOOST_AUTO_TEST_CASE(dot_of_a_scalar_graph) {
  GraphRecorder<double> graph;
  const Var<double> w{0.0};
  graph.label(w, "w");
  const Var<double> loss = tutorial_loss({0.1, 0.2}, w);
  // Before backward() the nodes have no gradient yet.
  BOOST_TEST(graph.dot(loss).find("grad") == std::string::npos);
  loss.backward();
  // Hand calculation: r_i = 2 x_i, d(r_i^2)/dr_i = 2 r_i = 4 x_i, and
  // dJ/dw = -sum(4 x_i^2) = -0.2.
  const std::string expected = R"(digraph adjoint {
  node [shape=box, fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=10];
  n0 [label="w\nparameter\nvalue 0\ngrad -0.2", style=filled, fillcolor="#dbe8f5"];
  n1 [label="n1\nmultiply\nvalue 0\ngrad -0.4"];
  n2 [label="n2\nsubtract\nvalue 0.2\ngrad 0.4"];
  n3 [label="n3\nsquare\nvalue 0.04\ngrad 1"];
  n4 [label="n4\nadd\nvalue 0.04\ngrad 1"];
  n5 [label="n5\nmultiply\nvalue 0\ngrad -0.8"];
  n6 [label="n6\nsubtract\nvalue 0.4\ngrad 0.8"];
  n7 [label="n7\nsquare\nvalue 0.16\ngrad 1"];
  n8 [label="n8\nadd\nvalue 0.2\ngrad 1", penwidth=2];
  n0 -> n1 [label="0.1"];
  n1 -> n2 [label="-1"];
  n2 -> n3 [label="0.4"];
  n3 -> n4 [label="1"];
  n0 -> n5 [label="0.2"];
  n5 -> n6 [label="-1"];
  n6 -> n7 [label="0.8"];
  n4 -> n8 [label="1"];
  n7 -> n8 [label="1"];
}
)";
  BOOST_TEST(graph.dot(loss) == expected);
}

BOOST_AUTO_TEST_CASE(dot_of_a_subgraph_shows_only_its_inputs) {
  GraphRecorder<double> graph;
  const Var<double> a{3.0};
  const Var<double> b{4.0};
  const Var<double> product = a * b;
  const Var<double> total = product + exp(b);
  graph.label(product, "a*b");
  const std::string expected = R"(digraph adjoint {
  node [shape=box, fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=10];
  n0 [label="n0\nparameter\nvalue 3", style=filled, fillcolor="#dbe8f5"];
  n1 [label="n1\nparameter\nvalue 4", style=filled, fillcolor="#dbe8f5"];
  n2 [label="a*b\nmultiply\nvalue 12", penwidth=2];
  n0 -> n2 [label="4"];
  n1 -> n2 [label="3"];
}
)";
  BOOST_TEST(graph.dot(product) == expected);
  BOOST_TEST(graph.dot(total).find("exp") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dot_of_a_tensor_graph) {
  GraphRecorder<double> graph;
  const Tensor<double> p =
      adjoint::parameter(Tensor<double>{1, 2, 3, 4, 5, 6, 7});
  const Var<double> s{2.0};
  graph.label(p, "p");
  graph.label(s, "s");
  const Tensor<double> ones = adjoint::ones<double>({7});
  const Var<double> loss = sum(square(ones - p * as_tensor(s)));
  loss.backward();
  // d/dp_i = -2 s (1 - s p_i) = 4 (2 p_i - 1); d/ds = -2 sum p_i (1 - 2 p_i),
  // which is 504 for p = 1..7.
  const std::string expected = R"(digraph adjoint {
  node [shape=box, fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=10];
  n0 [label="s\nparameter\nvalue 2\ngrad 504", style=filled, fillcolor="#dbe8f5"];
  n1 [label="n1\nas_tensor []\nvalue [2]\ngrad [504]"];
  n2 [label="p\nparameter [7]\nvalue [1, 2, 3, ..., 5, 6, 7]\ngrad [4, 12, 20, ..., 36, 44, 52]", style=filled, fillcolor="#dbe8f5"];
  n3 [label="n3\nmultiply [7]\nvalue [2, 4, 6, ..., 10, 12, 14]\ngrad [2, 6, 10, ..., 18, 22, 26]"];
  n4 [label="n4\nsubtract [7]\nvalue [-1, -3, -5, ..., -9, -11, -13]\ngrad [-2, -6, -10, ..., -18, -22, -26]"];
  n5 [label="n5\nsquare [7]\nvalue [1, 9, 25, ..., 81, 121, 169]\ngrad [1, 1, 1, ..., 1, 1, 1]"];
  n6 [label="n6\nsum\nvalue 455\ngrad 1", penwidth=2];
  n0 -> n1;
  n2 -> n3;
  n1 -> n3;
  n3 -> n4;
  n4 -> n5;
  n5 -> n6;
}
)";
  BOOST_TEST(graph.dot(loss) == expected);
}

BOOST_AUTO_TEST_CASE(dot_escapes_labels) {
  GraphRecorder<double> graph;
  const Var<double> w{1.0};
  graph.label(w, "say \"w\"\\\nnext");
  const Var<double> y = w * w;
  const std::string dot = graph.dot(y);
  // The label's own line break becomes a space.
  BOOST_TEST(
      dot.find(R"(label="say \"w\"\\ next\nparameter)") != std::string::npos,
      dot);
}

BOOST_AUTO_TEST_CASE(trace_of_a_small_graph) {
  GraphRecorder<double> graph;
  const Var<double> w{0.0};
  graph.label(w, "w");
  const Var<double> loss = tutorial_loss({0.1, 0.2}, w);
  loss.backward();
  const std::string expected =
      R"(Backward sweep from n8 (add), seeded with adjoint 1. The sweep reaches
each node after every node that uses it, so its adjoint is complete then;
it adds adjoint * local derivative to the adjoint of each input.

step  node  operation  value  adjoint
   1  n8    add          0.2        1
            n4 += 1 * 1 = 1
            n7 += 1 * 1 = 1
   2  n7    square      0.16        1
            n6 += 1 * 0.8 = 0.8
   3  n6    subtract     0.4      0.8
            n5 += 0.8 * (-1) = -0.8
   4  n5    multiply       0     -0.8
            w += -0.8 * 0.2 = -0.16
   5  n4    add         0.04        1
            n3 += 1 * 1 = 1
   6  n3    square      0.04        1
            n2 += 1 * 0.4 = 0.4
   7  n2    subtract     0.2      0.4
            n1 += 0.4 * (-1) = -0.4
   8  n1    multiply       0     -0.4
            w += -0.4 * 0.1 = -0.04
   9  w     parameter      0     -0.2
            the gradient of w grows by -0.2

Gradients of the parameters:
  w = -0.2
)";
  BOOST_TEST(graph.backprop_trace() == expected);
}

// The tutorial's first step: x = 0.1, ..., 0.6, z = 2x, w0 = 0. By hand,
// each point i has residual r_i = z_i - w x_i = 2 x_i, so
//   square:   adjoint 1,        local derivative 2 r_i = 4 x_i
//   subtract: adjoint 4 x_i,    local derivative -1
//   multiply: adjoint -4 x_i,   local derivative x_i
//   w:        receives -4 x_i^2 from point i,
// and dJ/dw = -4 sum(x_i^2) = -4 * 0.91 = -3.64, J(0) = 4 * 0.91 = 3.64.
BOOST_AUTO_TEST_CASE(trace_of_the_tutorial_first_step) {
  const std::vector<double> x = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  GraphRecorder<double> graph;
  const Var<double> w{0.0};
  graph.label(w, "w");
  const Var<double> loss = tutorial_loss(x, w);
  loss.backward();
  BOOST_TEST(w.grad() == -3.64, boost::test_tools::tolerance(1e-15));
  const std::vector<std::string> lines = lines_of(graph.backprop_trace());
  // Five lines of header, then 25 rows: w and four nodes per point. Each
  // add has two contribution lines except the first, whose other operand is
  // the constant 0, so there are 30. Three lines of gradients end it.
  BOOST_TEST_REQUIRE(lines.size() == 5 + 25 + 30 + 3);
  const auto row = [](std::size_t step, const std::string& node,
                      const std::string& operation, double value,
                      const std::string& adjoint) {
    return fmt::format("{:>4}  {:<4}  {:<9}  {:>5.6g}  {:>7}", step, node,
                       operation, value, adjoint);
  };
  const auto added = [](std::size_t node, double adjoint, double partial) {
    const std::string factor = partial < 0 ? fmt::format("({:.6g})", partial)
                                           : fmt::format("{:.6g}", partial);
    const std::string target = node == 0 ? "w" : fmt::format("n{}", node);
    return fmt::format("            {} += {:.6g} * {} = {:.6g}", target,
                       adjoint, factor, adjoint * partial);
  };
  std::size_t line = 5;
  double remaining = 3.64;  // the value of the add node of the last point
  for (std::size_t point = x.size(); point-- > 0;) {
    BOOST_TEST_INFO("point " << point);
    const double xi = x[point];
    const std::size_t add = 4 * point + 4;  // n0 is w
    const std::size_t step = 4 * (x.size() - 1 - point) + 1;
    BOOST_TEST(lines[line] ==
               row(step, fmt::format("n{}", add), "add", remaining, "1"));
    remaining -= 4 * xi * xi;
    line += point == 0 ? 2 : 3;
    BOOST_TEST(lines[line] == row(step + 1, fmt::format("n{}", add - 1),
                                  "square", 4 * xi * xi, "1"));
    BOOST_TEST(lines[line + 1] == added(add - 2, 1, 4 * xi));
    BOOST_TEST(lines[line + 2] == row(step + 2, fmt::format("n{}", add - 2),
                                      "subtract", 2 * xi,
                                      fmt::format("{:.6g}", 4 * xi)));
    BOOST_TEST(lines[line + 3] == added(add - 3, 4 * xi, -1));
    BOOST_TEST(lines[line + 4] == row(step + 3, fmt::format("n{}", add - 3),
                                      "multiply", 0,
                                      fmt::format("{:.6g}", -4 * xi)));
    BOOST_TEST(lines[line + 5] == added(0, -4 * xi, xi));
    line += 6;
  }
  BOOST_TEST(lines[line] == row(25, "w", "parameter", 0, "-3.64"));
  BOOST_TEST(lines[line + 1] == "            the gradient of w grows by -3.64");
  BOOST_TEST(lines.back() == "  w = -3.64");
}

BOOST_AUTO_TEST_CASE(recording_keeps_every_operation) {
  const Var<double> w{0.5};
  std::size_t unrecorded = 0;
  double unrecorded_grad = 0;
  {
    const Var<double> loss = tutorial_loss({0.1, 0.2, 0.3}, w);
    unrecorded = adjoint::Tape<double>::active().size();
    loss.backward();
    unrecorded_grad = w.grad();
  }
  Var<double> v{0.5};
  GraphRecorder<double> graph;
  const Var<double> loss = tutorial_loss({0.1, 0.2, 0.3}, v);
  // Unrecorded, w and one node: the tape folds every operation into the
  // running sum.
  BOOST_TEST(unrecorded == 1 + 3);
  BOOST_TEST(adjoint::Tape<double>::active().size() == 1 + 3 * 4);
  BOOST_TEST(graph.size() == 1 + 3 * 4);
  loss.backward();
  BOOST_TEST(v.grad() == unrecorded_grad, boost::test_tools::tolerance(1e-15));
}

// The recorded sweep is a separate loop: it must give the plain sweep's
// gradients on a graph that mixes scalar and tensor nodes, reductions,
// broadcasting and a Var entering a tensor expression twice.
BOOST_AUTO_TEST_CASE(recorded_sweep_matches_the_plain_sweep) {
  const auto gradients = [](bool recorded) {
    std::optional<GraphRecorder<double>> graph;
    if (recorded) graph.emplace();
    const Tensor<double> W =
        adjoint::parameter(Tensor<double>{{0.5, -1}, {2, 0.25}});
    const Var<double> a{0.7};
    const Tensor<double> x{{1, 2}, {3, 4}};
    const Tensor<double> scores = matmul(W, x) * as_tensor(a);
    const Var<double> m = sum(softmax(scores, 1) * x);
    const Var<double> loss =
        m * a + exp(sum(W) * 0.1) + logsumexp(W - as_tensor(a * a));
    loss.backward();
    std::vector<double> result(W.grad_values().begin(), W.grad_values().end());
    result.push_back(a.grad());
    if (recorded) {
      BOOST_TEST(graph->backprop_trace().find("softmax [2, 2]") !=
                 std::string::npos);
    }
    return result;
  };
  const std::vector<double> plain = gradients(false);
  const std::vector<double> recorded = gradients(true);
  BOOST_TEST_REQUIRE(recorded.size() == plain.size());
  for (std::size_t k = 0; k < plain.size(); ++k) {
    BOOST_TEST(recorded[k] == plain[k], boost::test_tools::tolerance(1e-14));
  }
}

// A zero adjoint propagates nothing, also through an infinite partial, in
// the recorded sweep as in the plain one (sqrt'(0) = inf).
BOOST_AUTO_TEST_CASE(recorded_sweep_skips_zero_adjoints) {
  GraphRecorder<double> graph;
  const Var<double> x{0.0};
  const Var<double> y = sqrt(x) * 0.0 + x;
  y.backward();
  BOOST_TEST(x.grad() == 1.0);
}

BOOST_AUTO_TEST_CASE(zero_local_derivatives_are_shown) {
  GraphRecorder<double> graph;
  const Var<double> x{-2.0};
  graph.label(x, "x");
  const Var<double> y = relu(x) + abs(x);
  y.backward();
  const std::string trace = graph.backprop_trace();
  // relu has local derivative 0 for x < 0 (PyTorch's convention).
  BOOST_TEST(trace.find("x += 1 * 0 = 0") != std::string::npos, trace);
  BOOST_TEST(trace.find("x += 1 * (-1) = -1") != std::string::npos, trace);
  BOOST_TEST(x.grad() == -1.0);
}

BOOST_AUTO_TEST_CASE(recording_ends_when_the_graph_is_released) {
  GraphRecorder<double> graph;
  BOOST_TEST(graph.recording());
  const Var<double> w{1.0};
  const Var<double> y = w * 3.0;
  y.backward(adjoint::retain_graph);
  BOOST_TEST(graph.recording());
  y.backward();
  BOOST_TEST(!graph.recording());
  // The second sweep is the one traced; the parameter's gradient is 6.
  BOOST_TEST(graph.backprop_trace().find("w = 6") == std::string::npos);
  BOOST_TEST(graph.backprop_trace().find("n0 = 6") != std::string::npos);
  const Var<double> later = w * 2.0;
  BOOST_TEST(graph.size() == 2u);
  BOOST_CHECK_EXCEPTION(static_cast<void>(graph.dot(later)), graph_error,
                        message_contains("not recorded by this recorder"));
  // A new recorder may start now that the first one stopped.
  GraphRecorder<double> next;
  BOOST_TEST(next.recording());
}

BOOST_AUTO_TEST_CASE(misuse_raises_graph_error) {
  GraphRecorder<double> graph;
  BOOST_CHECK_EXCEPTION(GraphRecorder<double>{}, graph_error,
                        message_contains("another recorder"));
  BOOST_CHECK_EXCEPTION(static_cast<void>(graph.backprop_trace()), graph_error,
                        message_contains("call backward() on the loss first"));
  BOOST_CHECK_EXCEPTION(graph.label(Var<double>::constant(1.0), "c"),
                        graph_error, message_contains("GraphRecorder::label"));
  BOOST_CHECK_EXCEPTION(static_cast<void>(graph.dot(Tensor<double>{1, 2})),
                        graph_error, message_contains("GraphRecorder::dot"));
  // Other scalar types have their own tape and may be recorded at once.
  GraphRecorder<float> other;
  BOOST_TEST(other.recording());
}

BOOST_AUTO_TEST_CASE(operands_recorded_before_the_recorder) {
  const Var<double> w{2.0};
  const Var<double> early = w * w;
  GraphRecorder<double> graph;
  const Var<double> y = early * 3.0;
  y.backward();
  BOOST_TEST(graph.dot(y).find("recorded earlier") != std::string::npos);
  BOOST_TEST(w.grad() == 12.0);
}

BOOST_AUTO_TEST_CASE(multiprecision_graphs) {
  using Big = boost::multiprecision::cpp_bin_float_50;
  GraphRecorder<Big> graph;
  const Var<Big> w{Big(1) / 3};
  graph.label(w, "w");
  const Var<Big> y = w * w;
  y.backward();
  BOOST_TEST(graph.dot(y, 10).find("value 0.3333333333\\n") !=
             std::string::npos);
  BOOST_TEST(graph.backprop_trace(10).find("w = 0.6666666667") !=
             std::string::npos);
}

// Graphviz accepts the text: run when its dot program is installed.
BOOST_AUTO_TEST_CASE(graphviz_renders_the_dot_text) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    BOOST_TEST_MESSAGE("Graphviz's dot is not installed; not rendered");
    return;
  }
  GraphRecorder<double> graph;
  const Tensor<double> p = adjoint::parameter(Tensor<double>{{1, 2}, {3, 4}});
  graph.label(p, "W \"weights\"");
  const Var<double> loss = sum(tanh(matmul(p, p)));
  loss.backward();
  namespace fs = std::filesystem;
  const fs::path directory =
      fs::temp_directory_path() /
      ("graph_recorder_test." + std::to_string(::getpid()));
  fs::create_directories(directory);
  std::ofstream(directory / "graph.dot") << graph.dot(loss);
  const std::string command = "dot -Tsvg '" +
                              (directory / "graph.dot").string() + "' -o '" +
                              (directory / "graph.svg").string() + "'";
  BOOST_TEST(std::system(command.c_str()) == 0);
  std::ifstream svg(directory / "graph.svg");
  std::stringstream text;
  text << svg.rdbuf();
  BOOST_TEST(text.str().find("<svg") != std::string::npos);
  BOOST_TEST(text.str().find("matmul") != std::string::npos);
  fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(dot_escapes_what_graphviz_interprets) {
  GraphRecorder<double> graph;
  const Var<double> a{1.0};
  const Var<double> b{2.0};
  const Var<double> c{3.0};
  graph.label(a, "&lt;");
  graph.label(b, std::string("nul\0tab\tend", 11));
  graph.label(c, std::string(20000, 'x'));
  const Var<double> y = a * b * c;
  const std::string dot = graph.dot(y);
  // "&lt;" would be drawn as "<".
  BOOST_TEST(dot.find(R"(label="&amp;lt;\n)") != std::string::npos, dot);
  BOOST_TEST(dot.find(R"(label="nul tab end\n)") != std::string::npos, dot);
  // Graphviz rejects strings of more than 16384 bytes.
  BOOST_TEST(dot.find(std::string(1000, 'x') + "...\\n") != std::string::npos);
  BOOST_TEST(dot.find(std::string(1001, 'x')) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(label_keeps_its_parameter) {
  GraphRecorder<double> graph;
  {
    const Var<double> gone{1.0};
    graph.label(gone, "gone");
  }
  // Without a reference to the labelled parameter, a new one could take its
  // address and its label.
  const Var<double> fresh{2.0};
  const Var<double> y = fresh * 2.0;
  BOOST_TEST(graph.dot(y).find("gone") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(dot_shows_gradients_only_of_the_swept_root) {
  GraphRecorder<double> graph;
  const Var<double> w{1.0};
  const Var<double> y = w * 3.0;
  const Var<double> z = y * 2.0;
  y.backward(adjoint::retain_graph);
  BOOST_TEST(graph.dot(y).find("grad 1") != std::string::npos);
  // The last sweep started from y, so it has no gradient of z.
  BOOST_TEST(graph.dot(z).find("grad") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(trace_of_a_zero_adjoint_adds_nothing) {
  GraphRecorder<double> graph;
  const Var<double> x{0.0};
  graph.label(x, "x");
  const Var<double> y = sqrt(x) * 0.0 + x;
  y.backward();
  const std::string trace = graph.backprop_trace();
  // The sweep skips the node of sqrt(x), whose adjoint is 0; multiplying
  // by its local derivative inf would give NaN.
  BOOST_TEST(
      trace.find("adds nothing, since its adjoint is 0") != std::string::npos,
      trace);
  BOOST_TEST(trace.find("nan") == std::string::npos, trace);
  BOOST_TEST(x.grad() == 1.0);
}

BOOST_AUTO_TEST_CASE(multiprecision_numbers_keep_their_digits) {
  using Big = boost::multiprecision::cpp_bin_float_50;
  GraphRecorder<Big> graph;
  const Var<Big> w{Big(1) / 3};
  const Var<Big> y = w * Big("1e5000");
  BOOST_TEST(graph.dot(y, 40).find(
                 "value 0.3333333333333333333333333333333333333333\"") !=
             std::string::npos);
  // Beyond long double's range.
  BOOST_TEST(graph.dot(y, 3).find("value 3.33e+4999\"") != std::string::npos,
             graph.dot(y, 3));
}

BOOST_AUTO_TEST_CASE(invalid_digits_raise) {
  GraphRecorder<double> graph;
  const Var<double> w{1.0};
  const Var<double> y = w * 2.0;
  BOOST_CHECK_THROW(static_cast<void>(graph.dot(y, 0)), std::invalid_argument);
  BOOST_CHECK_THROW(static_cast<void>(graph.dot(y, 101)),
                    std::invalid_argument);
  y.backward();
  BOOST_CHECK_THROW(static_cast<void>(graph.backprop_trace(-1)),
                    std::invalid_argument);
}
