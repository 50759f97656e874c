// Minimizes two functions with every optimizer of optim/ and with Rprop, an
// optimizer that this example defines itself (rprop.hpp), and compares them
// in a table. The functions are the tutorial loss J(w) = sum((z - w*x)^2),
// a parabola, and the Rosenbrock function, a curved valley that defeats
// plain gradient descent. See examples/README.md.

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
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
#include "problems.hpp"
#include "settings.hpp"

namespace po = boost::program_options;
using examples::flush_output;
using examples::input_error;
using examples::print_output;
using optimizers::Function;
using optimizers::OptimizerKind;
using optimizers::Problem;
using optimizers::Settings;

namespace {

constexpr int exit_converged = 0;
constexpr int exit_invalid_input = 1;
constexpr int exit_not_converged = 2;
constexpr int exit_diverged = 3;

struct Options {
  std::optional<Function> function;        // empty: both functions
  std::optional<OptimizerKind> optimizer;  // empty: every optimizer
  Settings settings;
  std::optional<std::vector<double>> start;
  std::size_t max_steps = 0;
  double tolerance = 0;
  std::string trace;  // empty: write to trace_dir
  std::string trace_dir;
  std::string plot;  // empty: no figure

  bool single_run() const { return function && optimizer; }
};

constexpr const char* help_epilogue = R"(
Functions:
  tutorial    J(w) = sum((z - w*x)^2) on x = 0.1, 0.2, ..., 0.6 and z = 2x;
              minimum 0 at w = 2, start w = 0
  rosenbrock  (1 - a)^2 + 100 (b - a^2)^2; minimum 0 at (1, 1), start
              (-1.5, 2)

Optimizers: gd, momentum and nesterov (GradientDescent with momentum 0.9 and
Nesterov momentum for the last two), adam, adamw, rmsprop, adagrad, lbfgs
(one iteration with a strong-Wolfe line search per step) and rprop (defined
in the example, not in the library).

Without --function and --optimizer the program runs every optimizer on both
functions with learning rates chosen for each pair, prints a table and
writes each run's trajectory to <function>_<optimizer>.csv in --trace-dir.
Selecting a function, an optimizer or both runs only that subset. The
settings --lr to --alpha need a single optimizer, and each applies only to
some optimizers:
  --lr                 every optimizer
  --momentum           momentum, nesterov, rmsprop
  --beta1, --beta2     adam, adamw
  --eps                adam, adamw, rmsprop, adagrad
  --weight-decay       every optimizer except lbfgs and rprop
  --alpha              rmsprop
A setting that is not given keeps the default of the run, and failing that
the library's default (PyTorch's).

Converged means the loss is <= --tolerance. Diverged means the loss is not
finite, or it grew 5 steps in a row and ended above the starting loss.

--plot draws two panels with gnuplot (Debian package gnuplot-nox). The
left panel shows the loss of every run against the step, with both axes
logarithmic, so step 0 is left out. A loss of exactly 0 lies on the bottom
edge, at a tenth of the smallest positive loss. Tutorial runs are dashed
when both functions ran. The right panel shows the path of each Rosenbrock
run in the (a, b) plane over contour lines at the losses 0.01, 0.1, 1, ...
(at most 6 levels, the highest ones on a wide view). When only the tutorial
loss ran, it shows w against the step instead. The figure draws every step
up to 50, then about 50 per factor of 10 in the step number, and the last
step.

Exit status: 0 after the table of several runs, or a single run that
converged; 1 invalid input or option, or a failed write of the output, a
trajectory file or the figure; 2 a single run that did not converge
within --steps; 3 a single run that diverged.
)";

std::vector<std::string_view> names_of_optimizers() {
  std::vector<std::string_view> names;
  for (const OptimizerKind kind : optimizers::all_optimizers) {
    names.push_back(optimizers::name_of(kind));
  }
  return names;
}

Function parse_function(const std::string& name) {
  for (const Function function : optimizers::all_functions) {
    if (optimizers::make_problem(function).name == name) return function;
  }
  throw input_error(fmt::format(
      "unknown --function '{}'; choose tutorial or rosenbrock", name));
}

OptimizerKind parse_optimizer(const std::string& name) {
  for (const OptimizerKind kind : optimizers::all_optimizers) {
    if (optimizers::name_of(kind) == name) return kind;
  }
  throw input_error(fmt::format("unknown --optimizer '{}'; choose one of {}",
                                name, fmt::join(names_of_optimizers(), ", ")));
}

/// Returns "a, b and c" for the names of `kinds`.
std::string list_of(const std::vector<OptimizerKind>& kinds) {
  std::string text;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (i > 0) text += i + 1 == kinds.size() ? " and " : ", ";
    text += optimizers::name_of(kinds[i]);
  }
  return text;
}

/// Copies the optimizer settings given on the command line into `options`.
/// Raises input_error for a setting without a single --optimizer, or one
/// that the selected optimizer does not use.
void read_settings(const po::variables_map& values, Options& options) {
  for (const optimizers::SettingOption& setting :
       optimizers::setting_options()) {
    const std::string option(setting.option);
    if (values.count(option) == 0) continue;
    if (!options.optimizer) {
      throw input_error(fmt::format(
          "--{} sets one optimizer, but several run; select one of {} with "
          "--optimizer",
          option, list_of(setting.optimizers)));
    }
    bool applies = false;
    for (const OptimizerKind kind : setting.optimizers) {
      applies = applies || kind == *options.optimizer;
    }
    if (!applies) {
      throw input_error(fmt::format(
          "--{} does not apply to --optimizer {}; it is a setting of {}",
          option, optimizers::name_of(*options.optimizer),
          list_of(setting.optimizers)));
    }
    options.settings.*setting.field = values[option].as<double>();
  }
}

/// Raises input_error if the loss is not finite at `start`. The run would
/// otherwise report a divergence that no learning rate caused.
void check_starting_point(const Problem& problem,
                          const std::vector<double>& start,
                          const std::string& text) {
  const adjoint::NoGradGuard no_grad;
  std::vector<adjoint::Var<double>> parameters;
  for (const double value : start) parameters.emplace_back(value);
  const double loss = optimizers::loss_of(problem.function, parameters).value();
  if (std::isfinite(loss)) return;
  throw input_error(fmt::format(
      "invalid --start {}: the {} loss there is {}, too large for double; "
      "choose a point closer to the minimum at {}",
      text, problem.name, loss, fmt::join(problem.minimum, ",")));
}

/// Parses --start, a comma-separated list with one finite number per
/// parameter of the selected function.
std::vector<double> parse_start(const std::string& text,
                                const std::optional<Function>& function) {
  if (!function) {
    throw input_error(fmt::format(
        "--start {} needs --function, because tutorial has one parameter "
        "and rosenbrock two",
        text));
  }
  const Problem problem = optimizers::make_problem(*function);
  std::vector<double> start;
  std::size_t position = 0;
  while (true) {
    const std::size_t comma = text.find(',', position);
    const std::string field(examples::trim(
        std::string_view(text).substr(position, comma - position)));
    const char* begin = field.data();
    const char* end = field.data() + field.size();
    if (begin != end && *begin == '+') ++begin;
    double value = 0;
    const auto [stop, error] = std::from_chars(begin, end, value);
    if (field.empty() || error != std::errc() || stop != end ||
        !std::isfinite(value)) {
      throw input_error(fmt::format(
          "invalid --start {}: '{}' is not a finite number", text, field));
    }
    start.push_back(value);
    if (comma == std::string::npos) break;
    position = comma + 1;
  }
  if (start.size() != problem.parameter_names.size()) {
    throw input_error(fmt::format(
        "invalid --start {}: {} has {} parameter{} ({}), so give {} "
        "comma-separated number{}, such as --start {}",
        text, problem.name, problem.parameter_names.size(),
        problem.parameter_names.size() == 1 ? "" : "s",
        fmt::join(problem.parameter_names, ", "),
        problem.parameter_names.size(),
        problem.parameter_names.size() == 1 ? "" : "s",
        fmt::join(problem.start, ",")));
  }
  check_starting_point(problem, start, text);
  return start;
}

void validate_options(const po::variables_map& values, Options& options) {
  if (!std::isfinite(options.tolerance) || options.tolerance < 0) {
    throw input_error(
        fmt::format("invalid --tolerance {}: it must be a finite number >= 0",
                    options.tolerance));
  }
  if (values.count("trace") != 0) {
    if (options.trace.empty()) {
      throw input_error("invalid --trace: the path is empty");
    }
    if (!options.single_run()) {
      throw input_error(
          fmt::format("--trace {} writes one run, but several run; select one "
                      "--function and one --optimizer, or use --trace-dir",
                      options.trace));
    }
    if (!values["trace-dir"].defaulted()) {
      throw input_error(
          "--trace and --trace-dir both set where the trajectory goes; give "
          "only one");
    }
  }
  if (options.trace_dir.empty()) {
    throw input_error("invalid --trace-dir: the path is empty");
  }
  if (values.count("plot") != 0) {
    examples::reject_same_destination("--plot", options.plot, "--trace",
                                      options.trace);
    examples::check_figure_option(options.plot, "--plot");
  }
}

/// Parses the command line. Returns nothing when it printed --help.
std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  std::string function;
  std::string optimizer;
  std::string start;
  long long max_steps = 0;
  po::options_description description(
      "Usage: optimizers [options]\n\n"
      "Minimizes the tutorial loss and the Rosenbrock function with each "
      "optimizer\nand compares the runs.\n\n"
      "Options");
  // clang-format off
  description.add_options()
      ("help,h", "print this help and exit")
      ("function", po::value(&function)->value_name("NAME"),
       "tutorial or rosenbrock (default: both)")
      ("optimizer", po::value(&optimizer)->value_name("NAME"),
       "gd, momentum, nesterov, adam, adamw, rmsprop, adagrad, lbfgs or "
       "rprop (default: all)")
      ("lr", po::value<double>()->value_name("RATE"),
       "learning rate, >= 0; for lbfgs the first trial step of the line "
       "search, for rprop the initial step size")
      ("momentum", po::value<double>()->value_name("MU"),
       "momentum factor, >= 0")
      ("beta1", po::value<double>()->value_name("BETA"),
       "decay rate of the first moment, in [0, 1)")
      ("beta2", po::value<double>()->value_name("BETA"),
       "decay rate of the second moment, in [0, 1)")
      ("eps", po::value<double>()->value_name("EPS"),
       "term added to the denominator, >= 0")
      ("weight-decay", po::value<double>()->value_name("LAMBDA"),
       "L2 penalty factor, >= 0 (decoupled for adamw)")
      ("alpha", po::value<double>()->value_name("ALPHA"),
       "decay rate of the squared-gradient average, in [0, 1)")
      ("start", po::value(&start)->value_name("VALUES"),
       "starting point, comma-separated: w for tutorial, a,b for rosenbrock; "
       "needs --function")
      ("steps", po::value(&max_steps)->default_value(10000)->value_name("N"),
       "maximum number of optimizer steps per run")
      ("tolerance", po::value(&options.tolerance)
                       ->default_value(1e-10, "1e-10")
                       ->value_name("TOL"),
       "converged once the loss is <= this")
      ("trace", po::value(&options.trace)->value_name("FILE"),
       "write the trajectory of a single run to this CSV file instead of "
       "--trace-dir")
      ("trace-dir", po::value(&options.trace_dir)
                       ->default_value("trajectories")
                       ->value_name("DIR"),
       "directory for the trajectory files <function>_<optimizer>.csv, with "
       "columns step,loss and one per parameter; created if missing")
      ("plot", po::value(&options.plot)->value_name("FILE"),
       "draw the losses and the paths of the runs with gnuplot into this SVG "
       "or PNG file, chosen by the extension .svg or .png (default: no "
       "figure)");
  // clang-format on

  const std::optional<po::variables_map> parsed =
      examples::parse_command_line(argc, argv, description, help_epilogue);
  if (!parsed) return std::nullopt;
  const po::variables_map& values = *parsed;
  if (values.count("function") != 0)
    options.function = parse_function(function);
  if (values.count("optimizer") != 0) {
    options.optimizer = parse_optimizer(optimizer);
  }
  read_settings(values, options);
  if (values.count("start") != 0) {
    options.start = parse_start(start, options.function);
  }
  if (max_steps < 0) {
    throw input_error(
        fmt::format("invalid --steps {}: it must be >= 0", max_steps));
  }
  options.max_steps = static_cast<std::size_t>(max_steps);
  validate_options(values, options);
  return options;
}

/// One (function, optimizer) pair, ready to run: its parameters at the
/// starting point and the optimizer over them.
struct Run {
  Problem problem;
  OptimizerKind kind;
  std::vector<adjoint::Var<double>> parameters;
  std::unique_ptr<adjoint::optim::Optimizer<double>> optimizer;
  std::string trace_path;
};

/// Creates every run that the options select. The optimizers check their
/// settings here, before any file is written.
std::vector<Run> plan_runs(const Options& options) {
  std::vector<Run> runs;
  for (const Function function : optimizers::all_functions) {
    if (options.function && *options.function != function) continue;
    for (const OptimizerKind kind : optimizers::all_optimizers) {
      if (options.optimizer && *options.optimizer != kind) continue;
      Run run{optimizers::make_problem(function), kind, {}, nullptr, {}};
      for (const double value : options.start.value_or(run.problem.start)) {
        run.parameters.emplace_back(value);
      }
      const Settings settings = optimizers::merge(
          optimizers::default_settings(function, kind), options.settings);
      run.optimizer =
          optimizers::make_optimizer(kind, settings, run.parameters);
      run.trace_path = options.trace.empty()
                           ? (std::filesystem::path(options.trace_dir) /
                              fmt::format("{}_{}.csv", run.problem.name,
                                          optimizers::name_of(kind)))
                                 .string()
                           : options.trace;
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

/// Creates --trace-dir unless it exists. Raises input_error when it cannot.
void create_trace_directory(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) {
    throw input_error(fmt::format("cannot create the trace directory {}: {}",
                                  directory, error.message()));
  }
  if (!fs::is_directory(directory, error)) {
    throw input_error(fmt::format(
        "cannot create the trace directory {}: a file of that name exists",
        directory));
  }
}

struct Outcome {
  adjoint::optim::MinimizeResult<double> result;
  std::size_t evaluations = 0;            // calls of the loss function
  std::vector<double> point;              // the final parameters
  double distance = 0;                    // Euclidean distance to the minimizer
  optimizers::SampledTrajectory sampled;  // empty without --plot
};

/// Minimizes the run's function and writes every step to `trace`.
Outcome minimize(Run& run, const Options& options,
                 examples::OutputFile& trace) {
  trace.write(fmt::format("step,loss,{}\n",
                          fmt::join(run.problem.parameter_names, ",")));
  Outcome outcome;
  auto loss = [&] {
    ++outcome.evaluations;
    return optimizers::loss_of(run.problem.function, run.parameters);
  };
  std::vector<double> point;
  auto observe = [&](std::size_t step, double value) {
    point.clear();
    for (const adjoint::Var<double>& p : run.parameters) {
      point.push_back(p.value());
    }
    // `{}` prints the shortest text that reads back as the same double.
    trace.write(fmt::format("{},{},{}\n", step, value, fmt::join(point, ",")));
    if (!options.plot.empty()) outcome.sampled.add(step, value, point);
  };
  adjoint::optim::StopCriteria criteria;
  criteria.loss_tolerance = options.tolerance;
  criteria.max_steps = options.max_steps;
  outcome.result =
      adjoint::optim::minimize(*run.optimizer, loss, criteria, observe);
  outcome.point = point;
  double sum = 0;
  for (std::size_t i = 0; i < point.size(); ++i) {
    const double error = point[i] - run.problem.minimum[i];
    sum += error * error;
  }
  outcome.distance = std::sqrt(sum);
  return outcome;
}

std::string result_text(adjoint::optim::StopReason reason) {
  if (adjoint::optim::converged(reason)) return "converged";
  if (adjoint::optim::diverged(reason)) {
    return fmt::format("diverged: {}", adjoint::optim::describe(reason));
  }
  return "step limit";
}

void print_table_header() {
  print_output("{:<10}  {:<9}  {:>8}  {:>6}  {:>6}  {:>10}  {:>10}  {}\n",
               "function", "optimizer", "lr", "steps", "evals", "final loss",
               "distance", "result");
}

void print_table_row(const Run& run, const Outcome& outcome) {
  print_output(
      "{:<10}  {:<9}  {:>8.3g}  {:>6}  {:>6}  {:>10.3g}  {:>10.3g}  {}\n",
      run.problem.name, optimizers::name_of(run.kind),
      run.optimizer->learning_rate(), outcome.result.steps, outcome.evaluations,
      outcome.result.loss, outcome.distance,
      result_text(outcome.result.reason));
}

/// Prints the final line of a single run and returns the exit status.
int report(const Run& run, const Outcome& outcome, const Options& options) {
  using adjoint::optim::StopReason;
  const StopReason reason = outcome.result.reason;
  const std::size_t steps = outcome.result.steps;
  std::vector<std::string> coordinates;
  for (std::size_t i = 0; i < outcome.point.size(); ++i) {
    coordinates.push_back(fmt::format("{} = {}", run.problem.parameter_names[i],
                                      outcome.point[i]));
  }
  const std::string at = fmt::format("{}", fmt::join(coordinates, ", "));
  if (adjoint::optim::converged(reason)) {
    print_output("converged after {} steps: loss {} <= {}, {}\n", steps,
                 outcome.result.loss, options.tolerance, at);
    return exit_converged;
  }
  if (adjoint::optim::diverged(reason)) {
    print_output(
        "diverged at step {} because {}; the learning rate {} is too large "
        "for {} on {}, so try a smaller --lr\n",
        steps, adjoint::optim::describe(reason), run.optimizer->learning_rate(),
        optimizers::name_of(run.kind), run.problem.name);
    return exit_diverged;
  }
  print_output("did not converge within {} steps (--steps): loss {} > {}, {}\n",
               steps, outcome.result.loss, options.tolerance, at);
  return exit_not_converged;
}

/// Returns the line above the panels of the figure.
std::string figure_title(const std::vector<Run>& runs,
                         const std::vector<Outcome>& outcomes,
                         const Options& options) {
  if (runs.size() == 1) {
    return fmt::format("{} on {}, lr = {}: {}",
                       optimizers::name_of(runs[0].kind), runs[0].problem.name,
                       runs[0].optimizer->learning_rate(),
                       result_text(outcomes[0].result.reason));
  }
  std::size_t converged = 0;
  for (const Outcome& outcome : outcomes) {
    if (adjoint::optim::converged(outcome.result.reason)) ++converged;
  }
  return fmt::format(
      "{} runs of at most {} steps, {} converged to a loss <= {}", runs.size(),
      options.max_steps, converged, options.tolerance);
}

int compare(const Options& options) {
  std::vector<Run> runs = plan_runs(options);
  // The figure checks its path before the trace directory is created, so
  // that an invalid --plot creates nothing.
  examples::Figure figure(options.plot, "", "--plot");
  if (options.trace.empty()) create_trace_directory(options.trace_dir);
  std::vector<std::unique_ptr<examples::OutputFile>> traces;
  for (const Run& run : runs) {
    traces.push_back(std::make_unique<examples::OutputFile>(
        run.trace_path, "",
        examples::OutputRole{
            .option = options.trace.empty() ? "--trace-dir" : "--trace",
            .content = "trajectory"}));
  }

  print_table_header();
  int status = exit_converged;
  std::vector<Outcome> outcomes;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    outcomes.push_back(minimize(runs[i], options, *traces[i]));
    print_table_row(runs[i], outcomes.back());
    if (options.single_run()) {
      status = report(runs[i], outcomes.back(), options);
    }
  }
  if (runs.size() == 1) {
    print_output("trajectory written to {}\n", runs.front().trace_path);
  } else {
    print_output(
        "{} trajectories written to {}, one file "
        "<function>_<optimizer>.csv per run\n",
        runs.size(), options.trace_dir);
  }
  // The files replace existing ones only after all output succeeded and
  // gnuplot drew the figure, so that any error leaves those files
  // unchanged.
  flush_output();
  if (figure.enabled()) {
    std::vector<optimizers::PlottedRun> plotted;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      plotted.push_back(
          {runs[i].problem, runs[i].kind, outcomes[i].sampled.points()});
    }
    optimizers::draw_figure(figure, plotted,
                            figure_title(runs, outcomes, options));
  }
  for (const auto& trace : traces) trace->commit();
  figure.commit();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_program("optimizers", argc, argv, parse_options, compare,
                               exit_invalid_input);
}
