// Fits a linear model z = X w + b to a CSV file by gradient descent on the
// mean squared error J(w, b) = mean((z - X w - b)^2).
//
// The features are standardised first, so that the loss is a well
// conditioned quadratic: its Hessian is 2 R for w, with R the correlation
// matrix of the features, and 2 for b. Gradient descent converges for
// 0 < lr < 1 / (the largest eigenvalue of R). The fitted model is reported
// in the units of the data. See examples/README.md.

#include <fmt/format.h>

#include <algorithm>
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
#include "common/stdout.hpp"
#include "dataset.hpp"
#include "optim/optim.hpp"

namespace po = boost::program_options;
using examples::flush_output;
using examples::input_error;
using examples::print_output;
using linear_regression::Dataset;
using linear_regression::Standardised;

namespace {

constexpr int exit_converged = 0;
constexpr int exit_invalid_input = 1;
constexpr int exit_not_converged = 2;
constexpr int exit_diverged = 3;

struct Options {
  std::string data;
  std::string target;
  double learning_rate = 0;
  double tolerance = 0;
  long long max_steps = 0;
  std::string trace;
  std::string output;
};

constexpr const char* help_epilogue = R"(
Every column of --data except --target is a feature. The program scales
each feature to mean 0 and standard deviation 1 and fits z = X w + b in
those units, starting from w = 0 and b = 0.

Converged means that the Euclidean norm of the gradient of J with respect
to w and b is <= --tolerance. Diverged means the loss is not finite, or it
grew 5 steps in a row.

Exit status: 0 converged, 1 invalid input or option, or a failed write of
the output, trace or model file, 2 no convergence within --max-steps, 3
diverged (the learning rate is too large).
)";

void reject_empty_values(const po::variables_map& values);
void validate_options(const Options& options);

/// Parses the command line. Returns nothing when it printed --help.
std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  po::options_description description(
      "Usage: linear_regression --data FILE --target NAME [options]\n\n"
      "Fits z = X w + b by gradient descent on the mean squared error\n"
      "J(w, b) = mean((z - X w - b)^2), with standardised features X.\n\n"
      "Options");
  // clang-format off
  description.add_options()
      ("help,h", "print this help and exit")
      ("data", po::value(&options.data)->required()->value_name("FILE"),
       "CSV file with a header line, a target column and one or more "
       "feature columns (required)")
      ("target", po::value(&options.target)->required()->value_name("NAME"),
       "column of --data that holds the target z (required)")
      ("lr", po::value(&options.learning_rate)
                ->default_value(0.1, "0.1")
                ->value_name("RATE"),
       "learning rate, > 0, a plain number because w, b and the gradient "
       "all have the units of the target")
      ("tolerance", po::value(&options.tolerance)
                       ->default_value(1e-9, "1e-9")
                       ->value_name("TOL"),
       "converged once the norm of the gradient of J is <= this, in units "
       "of the target")
      ("max-steps", po::value(&options.max_steps)->default_value(10000)
           ->value_name("N"),
       "maximum number of updates")
      ("trace", po::value(&options.trace)->value_name("FILE"),
       "write every step to this CSV file, with columns step, loss, "
       "gradient_norm, w_<feature> for each feature and bias, in "
       "standardised units (default: no trace)")
      ("output", po::value(&options.output)->value_name("FILE"),
       "write the fitted model in the units of the data to this CSV file, "
       "with a header name,value, a row per feature and a row bias; only "
       "when the run converges (default: no file)");
  // clang-format on

  const std::optional<po::variables_map> parsed =
      examples::parse_command_line(argc, argv, description, help_epilogue);
  if (!parsed) return std::nullopt;
  const po::variables_map& values = *parsed;
  reject_empty_values(values);
  validate_options(options);
  return options;
}

/// Raises input_error for an empty path or column name, which would
/// otherwise fail later with a less clear message, or write no file.
void reject_empty_values(const po::variables_map& values) {
  for (const char* option : {"data", "trace", "output"}) {
    if (values.count(option) != 0 && values[option].as<std::string>().empty()) {
      throw input_error(fmt::format("invalid --{}: the path is empty", option));
    }
  }
  if (values["target"].as<std::string>().empty()) {
    throw input_error("invalid --target: the column name is empty");
  }
}

void validate_options(const Options& options) {
  if (!std::isfinite(options.learning_rate) || options.learning_rate <= 0) {
    throw input_error(fmt::format(
        "invalid --lr {}: the learning rate must be a finite number > 0",
        options.learning_rate));
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
  examples::reject_same_destination("--output", options.output, "--trace",
                                    options.trace);
}

/// The trainable parameters: the weights w of the standardised features
/// and the bias b.
struct Model {
  adjoint::Tensor<double> w;
  adjoint::Var<double> b;
};

/// The data as constant tensors: x is rows x features, z has one value per
/// row.
struct Problem {
  adjoint::Tensor<double> x;
  adjoint::Tensor<double> z;
};

/// Builds J(w, b) = mean((z - X w - b)^2) on the tape.
adjoint::Var<double> mean_squared_error(const Problem& problem,
                                        const Model& model) {
  const adjoint::Tensor<double> prediction =
      adjoint::matmul(problem.x, model.w) + model.b;
  return adjoint::mean(adjoint::square(problem.z - prediction));
}

/// Raises input_error if J or its gradient is not finite at w = 0, b = 0.
/// Then no learning rate can help, and the run would report a divergence
/// that the learning rate did not cause. The standardised features are at
/// most sqrt(rows) in magnitude, so only a large target can cause this, and
/// the message names the row of the largest.
void check_starting_point(const Dataset& data, const Problem& problem) {
  const Model model{adjoint::parameter(adjoint::zeros<double>(
                        adjoint::Shape{data.features.size()})),
                    adjoint::Var<double>{0.0}};
  const adjoint::Var<double> loss = mean_squared_error(problem, model);
  loss.backward();
  bool finite = std::isfinite(loss.value()) && std::isfinite(model.b.grad());
  for (const double g : model.w.grad_values()) {
    finite = finite && std::isfinite(g);
  }
  if (finite) return;
  std::size_t largest = 0;
  for (std::size_t i = 1; i < data.rows(); ++i) {
    if (std::abs(data.z[i]) > std::abs(data.z[largest])) largest = i;
  }
  throw input_error(fmt::format(
      "{}: the loss or its gradient is not finite at the starting point "
      "w = 0, b = 0, because target values such as {} = {} on this line are "
      "too large for double; rescale the column",
      data.row_where[largest], data.target, data.z[largest]));
}

/// Returns whether the step gets a row on stdout: steps 0 to 10, then 20, 30,
/// ..., 100, 200, ..., 1000, 2000 and so on. The trace has every step.
bool is_printed_step(std::size_t step) {
  std::size_t unit = 1;
  while (step / unit >= 10) unit *= 10;
  return step <= 10 || step % unit == 0;
}

/// The model in the units of the data.
struct Fit {
  std::vector<double> weights;  // one per feature
  double bias = 0;
};

/// Converts the model to the units of the data, since
/// w_j x'_j = (w_j / sd_j) x_j - w_j mean_j / sd_j for the standardised
/// feature x'_j = (x_j - mean_j) / sd_j.
Fit to_data_units(const Model& model, const Standardised& scaling) {
  Fit fit;
  fit.bias = model.b.value();
  for (std::size_t j = 0; j < scaling.sd.size(); ++j) {
    const double w = model.w.values()[j];
    fit.weights.push_back(w / scaling.sd[j]);
    fit.bias -= w * scaling.mean[j] / scaling.sd[j];
  }
  return fit;
}

struct Outcome {
  adjoint::optim::MinimizeResult<double> result;
  double gradient_norm;
  Fit fit;
};

std::string trace_header(const Dataset& data) {
  std::string header = "step,loss,gradient_norm";
  for (const std::string& feature : data.features) {
    header += ',';
    header += examples::csv_field("w_" + feature);
  }
  return header + ",bias\n";
}

/// Runs gradient descent, prints the loss at the steps is_printed_step()
/// selects and at the last, and writes every step to `trace`.
Outcome run(const Dataset& data, const Problem& problem,
            const Standardised& scaling, const Options& options,
            examples::OutputFile& trace) {
  const Model model{adjoint::parameter(adjoint::zeros<double>(
                        adjoint::Shape{data.features.size()})),
                    adjoint::Var<double>{0.0}};
  adjoint::optim::GradientDescent<double> optimizer({model.w, model.b},
                                                    options.learning_rate);
  adjoint::optim::StopCriteria criteria;
  criteria.gradient_tolerance = options.tolerance;
  criteria.max_steps = static_cast<std::size_t>(options.max_steps);

  print_output("{:>6}  {:>20}  {:>20}\n", "step", "J(w, b)", "|gradient|");
  std::string last_row;  // the row of the latest step, if not printed
  double gradient_norm = 0;
  auto observe = [&](std::size_t step, double loss) {
    gradient_norm = adjoint::optim::gradient_norm(optimizer);
    std::string row = fmt::format("{:>6}  {:>20.10g}  {:>20.10g}\n", step, loss,
                                  gradient_norm);
    if (is_printed_step(step)) {
      print_output("{}", row);
      row.clear();
    }
    last_row = std::move(row);
    // `{}` prints the shortest text that reads back as the same double.
    trace.write(fmt::format("{},{},{},{},{}\n", step, loss, gradient_norm,
                            fmt::join(model.w.values(), ","), model.b.value()));
  };
  const auto result = adjoint::optim::minimize(
      optimizer, [&] { return mean_squared_error(problem, model); }, criteria,
      observe);
  print_output("{}", last_row);
  return {result, gradient_norm, to_data_units(model, scaling)};
}

void print_fit(const Dataset& data, const Fit& fit) {
  std::size_t width = std::string_view(linear_regression::bias_name).size();
  for (const std::string& feature : data.features) {
    width = std::max(width, feature.size());
  }
  for (std::size_t j = 0; j < data.features.size(); ++j) {
    print_output("  {:<{}}  {}\n", data.features[j], width, fit.weights[j]);
  }
  print_output("  {:<{}}  {}\n", linear_regression::bias_name, width, fit.bias);
}

/// Writes the model as CSV with the header name,value.
void write_fit(const Dataset& data, const Fit& fit,
               examples::OutputFile& output) {
  output.write("name,value\n");
  for (std::size_t j = 0; j < data.features.size(); ++j) {
    output.write(fmt::format("{},{}\n", examples::csv_field(data.features[j]),
                             fit.weights[j]));
  }
  output.write(fmt::format("{},{}\n", linear_regression::bias_name, fit.bias));
}

/// Prints the model and the final line, and returns the exit status.
int report(const Dataset& data, const Outcome& outcome, const Options& options,
           double stable_limit) {
  using adjoint::optim::StopReason;
  const StopReason reason = outcome.result.reason;
  const std::size_t steps = outcome.result.steps;
  const std::string unwritten =
      options.output.empty()
          ? ""
          : fmt::format("; --output {} was not written", options.output);
  if (adjoint::optim::converged(reason)) {
    print_output("fitted model in the units of the data:\n");
    print_fit(data, outcome.fit);
    print_output(
        "converged after {} steps: |gradient| <= {}, mean squared error {}\n",
        steps, options.tolerance, outcome.result.loss);
    return exit_converged;
  }
  if (adjoint::optim::diverged(reason)) {
    print_output(
        "diverged at step {} because {}. The learning rate {} is too large, "
        "since gradient descent on this loss is stable only for lr < {:#.3g}"
        "{}\n",
        steps, adjoint::optim::describe(reason), options.learning_rate,
        stable_limit, unwritten);
    return exit_diverged;
  }
  print_output("model after {} steps in the units of the data:\n", steps);
  print_fit(data, outcome.fit);
  print_output(
      "did not converge within {} steps (--max-steps): |gradient| = {} > {}"
      "{}\n",
      steps, outcome.gradient_norm, options.tolerance, unwritten);
  return exit_not_converged;
}

/// Converts the standardised data to constant tensors.
Problem make_problem(const Dataset& data, const Standardised& scaling) {
  return {adjoint::Tensor<double>(
              adjoint::Shape{data.rows(), data.features.size()}, scaling.x),
          adjoint::Tensor<double>(adjoint::Shape{data.rows()}, data.z)};
}

void print_summary(const Dataset& data, const Standardised& scaling,
                   double eigenvalue) {
  print_output("{} rows from {}; target {}; {} features, standardised:\n",
               data.rows(), data.path, data.target, data.features.size());
  std::size_t width = std::string_view("feature").size();
  for (const std::string& feature : data.features) {
    width = std::max(width, feature.size());
  }
  print_output("  {:<{}}  {:>20}  {:>20}\n", "feature", width, "mean",
               "standard deviation");
  for (std::size_t j = 0; j < data.features.size(); ++j) {
    print_output("  {:<{}}  {:>20.10g}  {:>20.10g}\n", data.features[j], width,
                 scaling.mean[j], scaling.sd[j]);
  }
  print_output(
      "gradient descent is stable for lr < 1/lambda_max = {:#.3g}, where "
      "lambda_max = {:#.3g} is the largest eigenvalue of the features' "
      "correlation matrix\n",
      1 / eigenvalue, eigenvalue);
}

int fit(const Options& options) {
  const Dataset data =
      linear_regression::read_dataset(options.data, options.target);
  const Standardised scaling = linear_regression::standardise(data);
  const std::vector<double> correlation =
      linear_regression::correlation_matrix(scaling.x, data.features.size());
  linear_regression::check_independent_features(data, correlation);
  const Problem problem = make_problem(data, scaling);
  check_starting_point(data, problem);
  const double eigenvalue =
      linear_regression::largest_eigenvalue(correlation, data.features.size());

  examples::OutputFile trace(options.trace, options.data,
                             {.option = "--trace", .content = "trace"});
  trace.write(trace_header(data));
  examples::OutputFile output(options.output, options.data,
                              {.option = "--output", .content = "model"});
  print_summary(data, scaling, eigenvalue);
  const Outcome outcome = run(data, problem, scaling, options, trace);
  const int status = report(data, outcome, options, 1 / eigenvalue);
  if (status == exit_converged) write_fit(data, outcome.fit, output);
  // The files replace existing ones only after all output succeeded, so
  // that any error leaves those files unchanged.
  flush_output();
  trace.commit();
  if (status == exit_converged) output.commit();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_program("linear_regression", argc, argv, parse_options,
                               fit, exit_invalid_input);
}
