// Fits z = w * x by gradient descent on the loss J(w) = sum((z - w*x)^2).
//
// J is a parabola in w with its minimum at w* = sum(x*z) / sum(x^2). The
// update w <- w - lr * dJ/dw multiplies the error w - w* by
// 1 - 2 * lr * sum(x^2) every step, so it converges for
// 0 < lr < 1 / sum(x^2) and diverges above. See examples/README.md.

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "common/command_line.hpp"
#include "common/csv.hpp"
#include "common/output_file.hpp"
#include "common/plot.hpp"
#include "common/stdout.hpp"
#include "figure.hpp"
#include "optim/optim.hpp"

namespace po = boost::program_options;
using examples::flush_output;
using examples::input_error;
using examples::print_output;

namespace {

constexpr int exit_converged = 0;
constexpr int exit_invalid_input = 1;
constexpr int exit_not_converged = 2;
constexpr int exit_diverged = 3;

/// Paired samples of the input x and the target z.
struct Samples {
  std::vector<double> x;
  std::vector<double> z;
};

struct Options {
  std::string data;
  std::string x_column;
  std::string z_column;
  double w0 = 0;
  double learning_rate = 0;
  double tolerance = 0;
  long long max_steps = 0;
  std::string trace;
  std::string plot;
  std::string graph;
  bool explain = false;
};

constexpr const char* help_epilogue = R"(
Converged means |dJ/dw| <= --tolerance at the current w.
Diverged means the loss is not finite, or it grew 5 steps in a row.

--plot draws two panels with gnuplot (Debian package gnuplot-nox). The
left panel shows the data and the line z = w_k * x after each step k. The
key names w_k of the first 4 steps, later lines fade, and the last is red.
The right panel shows J(w), an arrow for each step from w_k to w_(k+1),
and w* as a dashed line. Its J axis is logarithmic when J grew to more
than 10 times J(w0), as in a diverging run. The figure shows steps 0 to 40
and the last step, leaving out steps whose w or J is not finite, and it is
drawn whether the run converged or not.

--explain and --graph record J(w0) with adjoint::GraphRecorder and run
backward() on it once before the fit. --explain prints the sweep node by
node: each node's value, its adjoint dJ/d(node), and what it adds to each
input, adjoint * local derivative. --graph writes the same graph in
Graphviz's DOT language; render it with: dot -Tsvg FILE -o graph.svg
(Debian package graphviz).

Exit status: 0 converged, 1 invalid input or option, or a failed write of
the output, trace, figure or graph, 2 no convergence within --max-steps, 3
diverged (the learning rate is too large).
)";

void reject_empty_values(const po::variables_map& values);
void validate_options(const Options& options);

/// Parses the command line. Returns nothing when it printed --help.
std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  po::options_description description(
      "Usage: gradient_descent [options]\n\n"
      "Fits z = w * x by gradient descent on J(w) = sum((z - w*x)^2).\n\n"
      "Options");
  // clang-format off
  description.add_options()
      ("help,h", "print this help and exit")
      ("data", po::value(&options.data)->value_name("FILE"),
       "CSV file with a header line (default: the built-in sample "
       "x = 0.1, 0.2, ..., 0.6 with z = 2x)")
      ("x-column", po::value(&options.x_column)->default_value("x")
           ->value_name("NAME"), "column of --data that holds x")
      ("z-column", po::value(&options.z_column)->default_value("z")
           ->value_name("NAME"), "column of --data that holds z")
      ("w0", po::value(&options.w0)->default_value(0, "0")->value_name("W"),
       "starting value of w, in units of z per unit of x")
      ("lr", po::value(&options.learning_rate)
                ->default_value(0.4, "0.4")
                ->value_name("RATE"),
       "learning rate, > 0, in units of w per unit of dJ/dw")
      ("tolerance", po::value(&options.tolerance)
                       ->default_value(1e-6, "1e-6")
                       ->value_name("TOL"),
       "converged once |dJ/dw| <= this, in units of J per unit of w")
      ("max-steps", po::value(&options.max_steps)->default_value(1000)
           ->value_name("N"),
       "maximum number of updates")
      ("trace", po::value(&options.trace)->value_name("FILE"),
       "write every step to this CSV file, with columns step,w,loss,gradient "
       "(default: no trace)")
      ("plot", po::value(&options.plot)->value_name("FILE"),
       "draw the fitted lines and the loss with gnuplot into this SVG or PNG "
       "file, chosen by the extension .svg or .png (default: no figure)")
      ("explain", po::bool_switch(&options.explain),
       "print how backpropagation computes dJ/dw at w0, node by node, "
       "before fitting")
      ("graph", po::value(&options.graph)->value_name("FILE"),
       "write the graph of J(w0) after backward() to this file in "
       "Graphviz's DOT language (default: no graph)");
  // clang-format on

  const std::optional<po::variables_map> parsed =
      examples::parse_command_line(argc, argv, description, help_epilogue);
  if (!parsed) return std::nullopt;
  const po::variables_map& values = *parsed;
  reject_empty_values(values);
  validate_options(options);
  return options;
}

/// Raises input_error for an empty --data, --trace, --plot, --graph or
/// column name, which would otherwise select the built-in sample or no
/// output file.
void reject_empty_values(const po::variables_map& values) {
  for (const char* option : {"data", "trace", "plot", "graph"}) {
    if (values.count(option) != 0 && values[option].as<std::string>().empty()) {
      throw input_error(fmt::format("invalid --{}: the path is empty", option));
    }
  }
  for (const char* option : {"x-column", "z-column"}) {
    if (values[option].as<std::string>().empty()) {
      throw input_error(
          fmt::format("invalid --{}: the column name is empty", option));
    }
  }
}

void validate_options(const Options& options) {
  if (!std::isfinite(options.learning_rate) || options.learning_rate <= 0) {
    throw input_error(fmt::format(
        "invalid --lr {}: the learning rate must be a finite number > 0",
        options.learning_rate));
  }
  if (!std::isfinite(options.w0)) {
    throw input_error(fmt::format(
        "invalid --w0 {}: the starting value must be finite", options.w0));
  }
  if (!std::isfinite(options.tolerance) || options.tolerance < 0) {
    throw input_error(
        fmt::format("invalid --tolerance {}: it must be a finite number >= 0",
                    options.tolerance));
  }
  if (options.max_steps < 0) {
    throw input_error(fmt::format("invalid --max-steps {}: it must be >= 0",
                                  options.max_steps));
  }
  examples::reject_same_destination("--plot", options.plot, "--trace",
                                    options.trace);
  examples::reject_same_destination("--graph", options.graph, "--trace",
                                    options.trace);
  examples::reject_same_destination("--graph", options.graph, "--plot",
                                    options.plot);
  if (!options.plot.empty()) {
    examples::check_figure_option(options.plot, "--plot");
  }
}

/// Reads the columns `x_column` and `z_column` of the CSV file at `path`.
/// Raises input_error for an unreadable or empty file, a missing column, a
/// row whose field count differs from the header's, or a value that is not
/// a finite number.
Samples read_csv_columns(const std::string& path, const std::string& x_column,
                         const std::string& z_column) {
  constexpr std::string_view advice =
      "name the column with --x-column or --z-column";
  Samples samples;
  std::size_t x_index = 0;
  std::size_t z_index = 0;
  const auto on_header = [&](const std::vector<std::string>& header,
                             const std::string& where) {
    x_index = examples::find_column(header, x_column, where, advice);
    z_index = examples::find_column(header, z_column, where, advice);
  };
  const auto on_row = [&](const std::vector<std::string>& fields,
                          const std::string& where) {
    samples.x.push_back(
        examples::parse_number(fields[x_index], x_column, where));
    samples.z.push_back(
        examples::parse_number(fields[z_index], z_column, where));
  };
  examples::read_csv(
      path, fmt::format("naming the columns {} and {}", x_column, z_column),
      on_header, on_row);
  return samples;
}

/// Returns the samples of --data, or the built-in ones on z = 2x.
Samples load_samples(const Options& options) {
  if (options.data.empty()) {
    Samples samples;
    for (double x : {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}) {
      samples.x.push_back(x);
      samples.z.push_back(2 * x);
    }
    return samples;
  }
  return read_csv_columns(options.data, options.x_column, options.z_column);
}

double sum_of_products(const std::vector<double>& a,
                       const std::vector<double>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

/// Builds the loss J(w) = sum((z - w*x)^2) on the tape.
adjoint::Var<double> squared_error(const Samples& samples,
                                   const adjoint::Var<double>& w) {
  adjoint::Var<double> sum;
  for (std::size_t i = 0; i < samples.x.size(); ++i) {
    sum += square(samples.z[i] - w * samples.x[i]);
  }
  return sum;
}

/// Raises input_error if J or dJ/dw is not finite at w0. No learning rate
/// can start from there, so the run would report a divergence that the
/// learning rate did not cause.
void check_starting_point(const Samples& samples, double w0) {
  const adjoint::Var<double> w{w0};
  const adjoint::Var<double> loss = squared_error(samples, w);
  loss.backward();
  std::string quantity;
  if (!std::isfinite(loss.value())) {
    quantity = "the loss";
  } else if (!std::isfinite(w.grad())) {
    quantity = "the gradient dJ/dw";
  } else {
    return;
  }
  throw input_error(fmt::format(
      "{} is not finite at the starting point w0 = {}: the data or w0 are "
      "too large for double; rescale them",
      quantity, w0));
}

/// Records J(w0) with a GraphRecorder and runs backward() once. With
/// --explain, prints the sweep; with --graph, writes the graph as DOT.
void explain_first_step(const Samples& samples, const Options& options,
                        examples::OutputFile& graph_file) {
  adjoint::GraphRecorder<double> graph;
  const adjoint::Var<double> w{options.w0};
  graph.label(w, "w");
  const adjoint::Var<double> loss = squared_error(samples, w);
  loss.backward();
  graph_file.write(graph.dot(loss));
  if (options.explain) {
    print_output(
        "Backpropagation of step 0: J(w) = sum((z - w*x)^2) at w = {}, one "
        "node per operation.\n{}\n",
        options.w0, graph.backprop_trace());
  }
}

struct Outcome {
  adjoint::optim::MinimizeResult<double> result;
  double w;
  double gradient;
  std::vector<gradient_descent::Iterate> drawn;  // empty without --plot
};

/// Runs gradient descent and prints one row per step.
Outcome run(const Samples& samples, const Options& options,
            examples::OutputFile& trace) {
  gradient_descent::DrawnIterates drawn;
  adjoint::Var<double> w{options.w0};
  auto loss = [&] { return squared_error(samples, w); };

  adjoint::optim::GradientDescent<double> optimizer({w}, options.learning_rate);
  adjoint::optim::StopCriteria criteria;
  criteria.gradient_tolerance = options.tolerance;
  criteria.max_steps = static_cast<std::size_t>(options.max_steps);

  print_output("{:>5}  {:>20}  {:>20}  {:>20}\n", "step", "w", "J(w)", "dJ/dw");
  auto observe = [&](std::size_t step, double value) {
    print_output("{:>5}  {:>20.10g}  {:>20.10g}  {:>20.10g}\n", step, w.value(),
                 value, w.grad());
    // `{}` prints the shortest text that reads back as the same double.
    trace.write(fmt::format("{},{},{},{}\n", step, w.value(), value, w.grad()));
    if (!options.plot.empty()) drawn.add({step, w.value(), value});
  };
  const auto result =
      adjoint::optim::minimize(optimizer, loss, criteria, observe);
  return {result, w.value(), w.grad(), drawn.iterates()};
}

/// Returns how the run ended, for the title of the figure.
std::string summary_of(const Outcome& outcome) {
  const adjoint::optim::StopReason reason = outcome.result.reason;
  if (adjoint::optim::converged(reason)) {
    return fmt::format("converged after {} steps", outcome.result.steps);
  }
  if (adjoint::optim::diverged(reason)) {
    return fmt::format("diverged at step {}", outcome.result.steps);
  }
  return fmt::format("did not converge within {} steps", outcome.result.steps);
}

/// Prints the final line and returns the exit status.
int report(const Outcome& outcome, const Options& options,
           double stable_limit) {
  using adjoint::optim::StopReason;
  const StopReason reason = outcome.result.reason;
  const std::size_t steps = outcome.result.steps;
  if (adjoint::optim::converged(reason)) {
    print_output("converged after {} steps: |dJ/dw| <= {}, w = {}\n", steps,
                 options.tolerance, outcome.w);
    return exit_converged;
  }
  if (adjoint::optim::diverged(reason)) {
    print_output(
        "diverged at step {} because {}. The learning rate {} is too large, "
        "since gradient descent on this loss is stable only for "
        "lr < 1/sum(x^2) = {:#.3g}\n",
        steps, adjoint::optim::describe(reason), options.learning_rate,
        stable_limit);
    return exit_diverged;
  }
  print_output(
      "did not converge within {} steps (--max-steps): w = {}, |dJ/dw| = {} "
      "> {}\n",
      steps, outcome.w, std::abs(outcome.gradient), options.tolerance);
  return exit_not_converged;
}

int fit(const Options& options) {
  const Samples samples = load_samples(options);
  const double sum_xx = sum_of_products(samples.x, samples.x);
  const std::string source =
      options.data.empty() ? "the built-in sample" : options.data;
  if (sum_xx == 0) {
    throw input_error(fmt::format(
        "{}: every x is 0, so the loss does not depend on w and has no "
        "unique minimum",
        source));
  }
  if (!std::isfinite(sum_xx)) {
    throw input_error(fmt::format("{}: sum(x^2) overflows; rescale x", source));
  }

  check_starting_point(samples, options.w0);

  examples::OutputFile trace(options.trace, options.data,
                             {.option = "--trace", .content = "trace"});
  examples::Figure figure(options.plot, options.data, "--plot");
  examples::OutputFile graph_file(options.graph, options.data,
                                  {.option = "--graph", .content = "graph"});
  trace.write("step,w,loss,gradient\n");
  if (options.explain || graph_file.enabled()) {
    explain_first_step(samples, options, graph_file);
  }
  print_output(
      "{} points from {}; the minimum is at w* = sum(x*z)/sum(x^2) = {}\n",
      samples.x.size(), source, sum_of_products(samples.x, samples.z) / sum_xx);
  const Outcome outcome = run(samples, options, trace);
  const int status = report(outcome, options, 1 / sum_xx);
  // The trace, the figure and the graph replace existing files only after
  // all output succeeded and gnuplot drew the figure, so that any error
  // leaves those files unchanged.
  flush_output();
  if (figure.enabled()) {
    const gradient_descent::FigureText text = {
        .title = fmt::format("gradient descent on {} points from {}, lr = {}, "
                             "w0 = {}: {}",
                             samples.x.size(), source, options.learning_rate,
                             options.w0, summary_of(outcome)),
        .x_label = options.data.empty() ? "x" : options.x_column,
        .z_label = options.data.empty() ? "z" : options.z_column};
    gradient_descent::draw_figure(figure, samples.x, samples.z, outcome.drawn,
                                  text);
  }
  // NOTE: the renames run one after another, so if a later one fails (the
  // destination was replaced by a directory meanwhile), the earlier files
  // are already in place although the program reports an error.
  trace.commit();
  figure.commit();
  graph_file.commit();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_program("gradient_descent", argc, argv, parse_options,
                               fit, exit_invalid_input);
}
