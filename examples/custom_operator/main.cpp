// Defines two operators outside the library, softplus and the Huber loss
// (operators.hpp), checks their gradients with adjoint::check_gradient, and
// fits a line to Hubble's 1929 data with the Huber loss, next to the
// least-squares line. See examples/README.md.

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "common/command_line.hpp"
#include "common/csv.hpp"
#include "common/stdout.hpp"
#include "operators.hpp"
#include "optim/optim.hpp"

namespace po = boost::program_options;
using adjoint::Tensor;
using examples::flush_output;
using examples::input_error;
using examples::print_output;

namespace {

constexpr int exit_success = 0;
constexpr int exit_invalid_input = 1;
constexpr int exit_check_failed = 2;
constexpr int exit_not_converged = 3;

struct Options {
  std::string data;
  std::string x_column;
  std::string z_column;
  double delta = 0;
  double learning_rate = 0;
  double momentum = 0;
  double tolerance = 0;
  long long max_steps = 0;
};

constexpr const char* help_epilogue = R"(
The program first checks the gradients of softplus and huber, as Var and as
Tensor operators, against 50-digit central differences and prints one
verdict per check. It then fits z = w * x + b to the data by gradient
descent on mean(huber(w * x + b, z, delta)) and prints that line next to
the least-squares line. The default delta of 300 suits the Hubble data,
whose least-squares residuals have a standard deviation of 223 km/s: only
the points furthest from the line fall in the linear part of the loss.

Exit status: 0 every check passed and the fit converged; 1 invalid input or
option, or a failed write of the output; 2 a gradient check failed; 3 the
fit did not converge within --steps or diverged.
)";

void validate_options(const po::variables_map& values, const Options& options);

/// Parses the command line. Returns nothing when it printed --help.
std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  po::options_description description(
      "Usage: custom_operator [options]\n\n"
      "Checks two user-defined operators and fits a line with the Huber "
      "loss.\n\nOptions");
  // clang-format off
  description.add_options()
      ("help,h", "print this help and exit")
      ("data", po::value(&options.data)
           ->default_value("examples/data/hubble1929.csv")
           ->value_name("FILE"),
       "CSV file with a header line")
      ("x-column", po::value(&options.x_column)->default_value("distance_mpc")
           ->value_name("NAME"), "column of --data that holds x")
      ("z-column", po::value(&options.z_column)
           ->default_value("velocity_km_s")->value_name("NAME"),
       "column of --data that holds z")
      ("delta", po::value(&options.delta)->default_value(300, "300")
           ->value_name("DELTA"),
       "Huber threshold, > 0, in units of z: residuals beyond it count "
       "linearly instead of squared")
      ("lr", po::value(&options.learning_rate)->default_value(0.5, "0.5")
           ->value_name("RATE"),
       "learning rate of gradient descent, > 0")
      ("momentum", po::value(&options.momentum)->default_value(0.9, "0.9")
           ->value_name("MU"),
       "momentum factor of gradient descent, in [0, 1)")
      ("tolerance", po::value(&options.tolerance)
           ->default_value(1e-9, "1e-9")->value_name("TOL"),
       "converged once the Euclidean norm of (dL/dw, dL/db) is <= TOL * "
       "delta; the Huber gradient is at most about delta times the data's "
       "scale, so an absolute bound would pass at once for a small delta")
      ("steps", po::value(&options.max_steps)->default_value(10000)
           ->value_name("N"),
       "maximum number of gradient descent steps");
  // clang-format on

  const std::optional<po::variables_map> parsed =
      examples::parse_command_line(argc, argv, description, help_epilogue);
  if (!parsed) return std::nullopt;
  validate_options(*parsed, options);
  return options;
}

void validate_options(const po::variables_map& values, const Options& options) {
  for (const char* option : {"data", "x-column", "z-column"}) {
    if (values[option].as<std::string>().empty()) {
      throw input_error(
          fmt::format("invalid --{}: the value is empty", option));
    }
  }
  if (!std::isfinite(options.delta) || options.delta <= 0) {
    throw input_error(fmt::format(
        "invalid --delta {}: it must be a finite number > 0", options.delta));
  }
  if (!std::isfinite(options.learning_rate) || options.learning_rate <= 0) {
    throw input_error(fmt::format(
        "invalid --lr {}: the learning rate must be a finite number > 0",
        options.learning_rate));
  }
  if (!(options.momentum >= 0 && options.momentum < 1)) {
    throw input_error(fmt::format("invalid --momentum {}: it must be in [0, 1)",
                                  options.momentum));
  }
  if (!std::isfinite(options.tolerance) || options.tolerance < 0) {
    throw input_error(
        fmt::format("invalid --tolerance {}: it must be a finite number >= 0",
                    options.tolerance));
  }
  if (options.max_steps < 0) {
    throw input_error(
        fmt::format("invalid --steps {}: it must be >= 0", options.max_steps));
  }
}

// Gradient checks

/// Prints the verdict of one check after its label and returns whether it
/// passed.
template <class Check>
bool print_verdict(std::string_view label, const Check& check) {
  print_output("  {:<44} {}\n", label, check.verdict());
  return check.passed();
}

/// Checks d/dx softplus(x) at single points, from saturation at -50 through
/// 0 to the nearly linear region at 50.
int check_scalar_softplus() {
  int failed = 0;
  for (const double x : {-50.0, -1.0, 0.0, 0.5, 50.0}) {
    const auto check = adjoint::check_gradient<double>(
        [](auto v) { return custom_operator::softplus(v[0]); }, {x});
    if (!print_verdict(fmt::format("softplus, Var, x = {}", x), check)) {
      ++failed;
    }
  }
  return failed;
}

/// Checks the tensor softplus, whose backward rule uses the derivatives
/// saved in the forward pass.
int check_tensor_softplus() {
  // NOTE: sum(square(softplus(x))) would fail here, and not because of the
  // rule: the 2500 of the element at 50 swamps the change of 4e-54 that the
  // step at -50 makes, even in 50 digits, so the finite difference is 0.
  const std::vector<Tensor<double>> inputs = {
      Tensor<double>{-50.0, -3.0, 0.0, 2.0, 50.0}};
  const auto check = adjoint::check_gradient<double>(
      [](auto x) { return sum(custom_operator::softplus(x[0])); },
      std::span<const Tensor<double>>(inputs));
  return print_verdict("softplus, Tensor [-50, -3, 0, 2, 50]", check) ? 0 : 1;
}

/// Checks huber(p, t, 1) with respect to both inputs: at a zero residual,
/// inside and outside the quadratic region, at the region boundaries
/// r = +-delta (where the derivative is continuous), and at a residual of
/// 100.
int check_scalar_huber() {
  struct Point {
    double prediction;
    double target;
  };
  int failed = 0;
  for (const Point point : {Point{0, 0}, Point{0.3, -0.2}, Point{2.5, -1},
                            Point{1, 0}, Point{-1, 0}, Point{60, -40}}) {
    const auto check = adjoint::check_gradient<double>(
        [](auto v) { return custom_operator::huber(v[0], v[1], 1.0); },
        {point.prediction, point.target});
    const std::string label = fmt::format("huber, Var, p = {}, t = {}, delta 1",
                                          point.prediction, point.target);
    if (!print_verdict(label, check)) ++failed;
  }
  return failed;
}

/// Checks the tensor huber with a target of shape [3] and one of shape
/// [2, 1], each broadcast against a prediction of shape [2, 3]. The
/// residuals include 0, -delta and values on both sides of it.
int check_tensor_huber() {
  const Tensor<double> prediction{{-3.0, -0.5, 0.0}, {0.25, 1.0, 4.0}};
  // NOTE: a target element whose gradient is exactly 0 as a sum, such as
  // 1 - 1 from the residuals -1.5 and 2.5, can fail the check although the
  // rule is right. Rounding leaves the central difference slightly off,
  // which is an infinite error relative to 0, so these targets avoid it.
  const std::vector<Tensor<double>> row_target = {
      prediction, Tensor<double>{0.5, -0.5, 0.5}};
  const std::vector<Tensor<double>> column_target = {
      prediction, Tensor<double>({2, 1}, std::vector<double>{0.5, -2.0})};
  const auto huber_sum = [](auto x) {
    return sum(custom_operator::huber(x[0], x[1], 1.0));
  };
  int failed = 0;
  const auto row_check = adjoint::check_gradient<double>(
      huber_sum, std::span<const Tensor<double>>(row_target));
  if (!print_verdict("huber, Tensor [2, 3] against [3], delta 1", row_check)) {
    ++failed;
  }
  const auto column_check = adjoint::check_gradient<double>(
      huber_sum, std::span<const Tensor<double>>(column_target));
  if (!print_verdict("huber, Tensor [2, 3] against [2, 1], delta 1",
                     column_check)) {
    ++failed;
  }
  return failed;
}

/// Runs every gradient check and returns how many failed.
int check_gradients() {
  print_output(
      "Gradient checks against central differences in 50-digit arithmetic:\n");
  const int failed = check_scalar_softplus() + check_tensor_softplus() +
                     check_scalar_huber() + check_tensor_huber();
  print_output("\n");
  return failed;
}

// The fit

/// Paired samples of the input x and the target z.
struct Samples {
  std::vector<double> x;
  std::vector<double> z;
};

/// Reads the columns --x-column and --z-column of --data. Raises
/// input_error for an unreadable or empty file, a missing column, a row
/// with another field count than the header, or a value that is not a
/// finite number.
Samples read_samples(const Options& options) {
  constexpr std::string_view advice =
      "name the column with --x-column or --z-column";
  Samples samples;
  std::size_t x_index = 0;
  std::size_t z_index = 0;
  const auto on_header = [&](const std::vector<std::string>& header,
                             const std::string& where) {
    x_index = examples::find_column(header, options.x_column, where, advice);
    z_index = examples::find_column(header, options.z_column, where, advice);
  };
  const auto on_row = [&](const std::vector<std::string>& fields,
                          const std::string& where) {
    samples.x.push_back(
        examples::parse_number(fields[x_index], options.x_column, where));
    samples.z.push_back(
        examples::parse_number(fields[z_index], options.z_column, where));
  };
  examples::read_csv(options.data,
                     fmt::format("naming the columns {} and {}",
                                 options.x_column, options.z_column),
                     on_header, on_row);
  return samples;
}

struct Line {
  double w = 0;  // slope, in units of z per unit of x
  double b = 0;  // intercept, in units of z
};

/// Returns the least-squares line in closed form: w = cov(x, z) / var(x)
/// and b = mean(z) - w mean(x). Raises input_error when every x is the
/// same, because then the slope is not determined.
Line least_squares(const Samples& samples, const std::string& source) {
  const auto n = static_cast<double>(samples.x.size());
  double mean_x = 0;
  double mean_z = 0;
  for (std::size_t i = 0; i < samples.x.size(); ++i) {
    mean_x += samples.x[i] / n;
    mean_z += samples.z[i] / n;
  }
  double covariance = 0;
  double variance = 0;
  for (std::size_t i = 0; i < samples.x.size(); ++i) {
    covariance += (samples.x[i] - mean_x) * (samples.z[i] - mean_z);
    variance += (samples.x[i] - mean_x) * (samples.x[i] - mean_x);
  }
  if (!(variance > 0)) {
    throw input_error(fmt::format(
        "{}: every x value is {}, so the slope is not determined; give at "
        "least two different x values",
        source, samples.x.front()));
  }
  if (!std::isfinite(variance) || !std::isfinite(covariance)) {
    throw input_error(fmt::format(
        "{}: the sums of the least-squares fit overflow; rescale x or z",
        source));
  }
  const double w = covariance / variance;
  return {w, mean_z - w * mean_x};
}

struct HuberFit {
  Line line;
  adjoint::optim::MinimizeResult<double> result;
};

/// Fits z = w * x + b by gradient descent with momentum on the mean Huber
/// loss, starting from w = b = 0.
HuberFit fit_huber(const Samples& samples, const Options& options) {
  const Tensor<double> x({samples.x.size()}, samples.x);
  const Tensor<double> z({samples.z.size()}, samples.z);
  adjoint::Var<double> w{0.0};
  adjoint::Var<double> b{0.0};
  const auto loss = [&] {
    return mean(custom_operator::huber(w * x + b, z, options.delta));
  };
  adjoint::optim::GradientDescent<double> optimizer(
      {w, b},
      {.learning_rate = options.learning_rate, .momentum = options.momentum});
  adjoint::optim::StopCriteria criteria;
  criteria.gradient_tolerance = options.tolerance * options.delta;
  criteria.max_steps = static_cast<std::size_t>(options.max_steps);
  const auto result = adjoint::optim::minimize(optimizer, loss, criteria);
  return {{w.value(), b.value()}, result};
}

/// Prints the points whose residual under the Huber line exceeds delta, with
/// their residuals under both lines.
void print_outliers(const Samples& samples, const Line& huber,
                    const Line& squares, double delta) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < samples.x.size(); ++i) {
    const double residual = samples.z[i] - (huber.w * samples.x[i] + huber.b);
    if (std::abs(residual) > delta) ++count;
  }
  print_output(
      "{} of {} points lie more than delta = {} from the Huber line.\n"
      "The Huber loss grows only linearly in their residuals, so each of\n"
      "them pulls on the line with a force of at most delta, while least\n"
      "squares lets every point pull in proportion to its residual.\n",
      count, samples.x.size(), delta);
  print_output("  {:>10}  {:>10}  {:>16}  {:>16}\n", "x", "z",
               "residual (Huber)", "residual (LS)");
  for (std::size_t i = 0; i < samples.x.size(); ++i) {
    const double residual = samples.z[i] - (huber.w * samples.x[i] + huber.b);
    if (std::abs(residual) <= delta) continue;
    const double ls_residual =
        samples.z[i] - (squares.w * samples.x[i] + squares.b);
    print_output("  {:>10.4g}  {:>10.4g}  {:>16.1f}  {:>16.1f}\n", samples.x[i],
                 samples.z[i], residual, ls_residual);
  }
}

/// Fits the Huber line, prints it next to the least-squares line and
/// returns the exit status.
int fit_and_compare(const Samples& samples, const Line& squares,
                    const Options& options) {
  print_output("Fit of {} = w * {} + b to the {} points of {}:\n",
               options.z_column, options.x_column, samples.x.size(),
               options.data);
  print_output("  {:<18}  {:>10}  {:>10}  {}\n", "loss", "w", "b", "method");
  print_output("  {:<18}  {:>10.6g}  {:>10.6g}  {}\n", "least squares",
               squares.w, squares.b, "closed form");
  const HuberFit huber = fit_huber(samples, options);
  const std::size_t steps = huber.result.steps;
  const std::string label = fmt::format("Huber, delta {}", options.delta);
  if (!adjoint::optim::converged(huber.result.reason)) {
    print_output("  {:<18}  {:>10.6g}  {:>10.6g}  stopped after {} steps: {}\n",
                 label, huber.line.w, huber.line.b, steps,
                 adjoint::optim::describe(huber.result.reason));
    print_output(
        "The Huber fit did not converge; try a smaller --lr or more "
        "--steps.\n");
    return exit_not_converged;
  }
  print_output(
      "  {:<18}  {:>10.6g}  {:>10.6g}  gradient descent, converged after {} "
      "steps\n\n",
      label, huber.line.w, huber.line.b, steps);
  print_outliers(samples, huber.line, squares, options.delta);
  return exit_success;
}

int run(const Options& options) {
  // The data are read first, so that invalid input prints nothing but the
  // error.
  const Samples samples = read_samples(options);
  const Line squares = least_squares(samples, options.data);
  const int failed = check_gradients();
  const int status = fit_and_compare(samples, squares, options);
  flush_output();
  if (failed > 0) {
    print_output("{} gradient check{} FAILED\n", failed,
                 failed == 1 ? "" : "s");
    flush_output();
    return exit_check_failed;
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_program("custom_operator", argc, argv, parse_options,
                               run, exit_invalid_input);
}
