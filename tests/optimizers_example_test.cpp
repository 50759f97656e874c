#define BOOST_TEST_MODULE optimizers_example
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>

// Runs the built examples/optimizers program and checks its table, its
// trajectory files and its exit status.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "example_runner.hpp"
#include "figure_check.hpp"

namespace {

namespace fs = std::filesystem;
using adjoint::testing::check_error_line;
using adjoint::testing::lines_of;
using adjoint::testing::read_numeric_csv;
using adjoint::testing::read_text;
using adjoint::testing::Run;

const std::string executable = ADJOINT_OPTIMIZERS_EXE;

constexpr int exit_converged = 0;
constexpr int exit_invalid_input = 1;
constexpr int exit_not_converged = 2;
constexpr int exit_diverged = 3;

const std::vector<std::string> functions = {"tutorial", "rosenbrock"};
const std::vector<std::string> optimizer_names = {
    "gd",      "momentum", "nesterov", "adam", "adamw",
    "rmsprop", "adagrad",  "lbfgs",    "rprop"};

const adjoint::testing::ExampleProgram program{executable,
                                               "optimizers_example_test"};

/// Creates the scratch directory of this test process and removes it at the
/// end.
struct ScratchDirectory {
  ScratchDirectory() { program.create_scratch(); }
  ~ScratchDirectory() { program.remove_scratch(); }
};

fs::path scratch(const std::string& name) { return program.scratch(name); }

Run run_program(const std::vector<std::string>& arguments) {
  return program.run(arguments);
}

/// One row of the table on stdout.
struct TableRow {
  std::string function;
  std::string optimizer;
  double learning_rate = 0;
  std::size_t steps = 0;
  std::size_t evaluations = 0;
  double loss = 0;
  double distance = 0;
  std::string result;  // the rest of the line
};

/// Reads the table rows that follow the header line "function  optimizer
/// ...", up to the first line that does not start with a function name.
std::vector<TableRow> table_of(const std::string& out) {
  const std::vector<std::string> lines = lines_of(out);
  BOOST_TEST_REQUIRE(!lines.empty());
  BOOST_TEST_REQUIRE(lines[0].starts_with("function    optimizer"), lines[0]);
  std::vector<TableRow> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (!lines[i].starts_with("tutorial") &&
        !lines[i].starts_with("rosenbrock")) {
      break;
    }
    std::istringstream fields(lines[i]);
    TableRow row;
    fields >> row.function >> row.optimizer >> row.learning_rate >> row.steps >>
        row.evaluations >> row.loss >> row.distance;
    BOOST_TEST_REQUIRE(!fields.fail(), "bad table row: " << lines[i]);
    std::getline(fields >> std::ws, row.result);
    rows.push_back(row);
  }
  return rows;
}

/// One row of a trajectory file: the step, the loss and the parameters.
struct TraceRow {
  std::size_t step = 0;
  double loss = 0;
  std::vector<double> parameters;
};

/// Reads a trajectory file, whose header must be `expected_header`.
std::vector<TraceRow> read_trace(const fs::path& path,
                                 const std::string& expected_header) {
  std::vector<TraceRow> rows;
  for (const std::vector<double>& values :
       read_numeric_csv(path, expected_header)) {
    TraceRow row;
    row.step = static_cast<std::size_t>(values[0]);
    row.loss = values[1];
    row.parameters.assign(values.begin() + 2, values.end());
    rows.push_back(row);
  }
  return rows;
}

std::string header_of(const std::string& function) {
  return function == "tutorial" ? "step,loss,w" : "step,loss,a,b";
}

std::string last_line(const std::string& text) {
  const std::vector<std::string> lines = lines_of(text);
  return lines.empty() ? "" : lines.back();
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(ScratchDirectory);

BOOST_AUTO_TEST_CASE(default_table_lists_every_run) {
  const fs::path directory = scratch("default_run");
  const Run run = run_program({"--trace-dir", directory.string()});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  const std::vector<TableRow> rows = table_of(run.out);
  BOOST_TEST_REQUIRE(rows.size() == functions.size() * optimizer_names.size());

  std::map<std::pair<std::string, std::string>, TableRow> by_run;
  for (const TableRow& row : rows) {
    by_run[{row.function, row.optimizer}] = row;
  }
  for (const std::string& function : functions) {
    for (const std::string& optimizer : optimizer_names) {
      BOOST_TEST_CONTEXT(function << " " << optimizer) {
        const auto found = by_run.find(std::make_pair(function, optimizer));
        BOOST_TEST_REQUIRE((found != by_run.end()));
        const TableRow& row = found->second;
        BOOST_TEST((row.result == "converged" || row.result == "step limit"),
                   row.result);
        if (row.result == "converged") {
          BOOST_TEST(row.loss <= 1e-10);
        } else {
          BOOST_TEST(row.steps == 10000u);
          BOOST_TEST(row.loss > 1e-10);
        }
        // minimize() evaluates the loss once per step and once at the end.
        // lbfgs also evaluates it in each step and its line search.
        if (optimizer == "lbfgs") {
          BOOST_TEST(row.evaluations > row.steps + 1);
        } else {
          BOOST_TEST(row.evaluations == row.steps + 1);
        }

        // The trajectory has one row per step, and its last row is the
        // final loss of the table.
        const std::vector<TraceRow> trace =
            read_trace(directory / (function + "_" + optimizer + ".csv"),
                       header_of(function));
        BOOST_TEST_REQUIRE(trace.size() == row.steps + 1);
        BOOST_TEST(trace.back().loss == row.loss,
                   boost::test_tools::tolerance(1e-2));
        BOOST_TEST(
            !fs::exists(directory / (function + "_" + optimizer + ".csv.tmp")));
      }
    }
  }

  // Every optimizer converges on the parabola. On the Rosenbrock valley the
  // methods with momentum or curvature information converge, and plain
  // gradient descent runs out of steps.
  const auto result_of = [&](const std::string& function,
                             const std::string& optimizer) {
    return by_run[std::make_pair(function, optimizer)].result;
  };
  for (const std::string& optimizer : optimizer_names) {
    BOOST_TEST(result_of("tutorial", optimizer) == "converged", optimizer);
  }
  for (const std::string optimizer :
       {"momentum", "nesterov", "adam", "lbfgs"}) {
    BOOST_TEST(result_of("rosenbrock", optimizer) == "converged", optimizer);
  }
  BOOST_TEST(result_of("rosenbrock", "gd") == "step limit");
  BOOST_TEST(last_line(run.out) ==
             "18 trajectories written to " + directory.string() +
                 ", one file <function>_<optimizer>.csv per run");
}

BOOST_AUTO_TEST_CASE(lbfgs_reaches_rosenbrock_minimum) {
  const fs::path trace = scratch("lbfgs.csv");
  const Run run = run_program({"--function", "rosenbrock", "--optimizer",
                               "lbfgs", "--tolerance", "1e-20", "--steps",
                               "200", "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_converged, run.out);
  BOOST_TEST(run.err == "");
  const std::vector<TraceRow> rows = read_trace(trace, "step,loss,a,b");
  BOOST_TEST_REQUIRE(rows.size() >= 2u);
  const TraceRow& last = rows.back();
  BOOST_TEST(last.loss <= 1e-20);
  BOOST_TEST(std::abs(last.parameters[0] - 1) <= 1e-8, last.parameters[0]);
  BOOST_TEST(std::abs(last.parameters[1] - 1) <= 1e-8, last.parameters[1]);
  // L-BFGS needs tens of iterations here, not thousands.
  BOOST_TEST(last.step < 100u);
  BOOST_TEST(run.out.find("converged after ") != std::string::npos, run.out);
}

BOOST_AUTO_TEST_CASE(trace_has_row_per_step) {
  const fs::path trace = scratch("momentum.csv");
  const Run run = run_program({"--function", "rosenbrock", "--optimizer",
                               "momentum", "--steps", "50", "--start=0.5,-0.5",
                               "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_not_converged);
  BOOST_TEST(run.err == "");
  BOOST_TEST(last_line(run.out) == "trajectory written to " + trace.string());
  const std::vector<TraceRow> rows = read_trace(trace, "step,loss,a,b");
  BOOST_TEST_REQUIRE(rows.size() == 51u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    BOOST_TEST(rows[i].step == i);
    BOOST_TEST(rows[i].parameters.size() == 2u);
  }
  // Step 0 is the starting point: (1 - 0.5)^2 + 100 (-0.5 - 0.25)^2.
  BOOST_TEST(rows[0].parameters[0] == 0.5);
  BOOST_TEST(rows[0].parameters[1] == -0.5);
  BOOST_TEST(rows[0].loss == 56.5, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(!fs::exists(trace.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(default_start_is_step_zero) {
  const fs::path directory = scratch("start");
  const Run run = run_program(
      {"--optimizer", "gd", "--steps", "3", "--trace-dir", directory.string()});
  BOOST_TEST(run.exit_code == exit_converged);
  const std::vector<TraceRow> tutorial =
      read_trace(directory / "tutorial_gd.csv", "step,loss,w");
  BOOST_TEST_REQUIRE(tutorial.size() == 4u);
  BOOST_TEST(tutorial[0].parameters == std::vector<double>{0.0},
             boost::test_tools::per_element());
  // J(0) = sum(z^2) = 4 sum(x^2) = 3.64.
  BOOST_TEST(tutorial[0].loss == 3.64, boost::test_tools::tolerance(1e-15));
  const std::vector<TraceRow> rosenbrock =
      read_trace(directory / "rosenbrock_gd.csv", "step,loss,a,b");
  BOOST_TEST_REQUIRE(rosenbrock.size() == 4u);
  BOOST_TEST(rosenbrock[0].parameters == (std::vector<double>{-1.5, 2.0}),
             boost::test_tools::per_element());
  // (1 + 1.5)^2 + 100 (2 - 2.25)^2 = 6.25 + 6.25.
  BOOST_TEST(rosenbrock[0].loss == 12.5, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(rprop_converges_on_tutorial) {
  const fs::path trace = scratch("rprop.csv");
  const Run run = run_program({"--function", "tutorial", "--optimizer", "rprop",
                               "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_converged, run.out);
  BOOST_TEST(run.err == "");
  const std::vector<TraceRow> rows = read_trace(trace, "step,loss,w");
  BOOST_TEST_REQUIRE(rows.size() >= 6u);
  BOOST_TEST(rows.back().loss <= 1e-10);
  // J = 0.91 (w - 2)^2, so J <= 1e-10 puts w within 1.05e-5 of 2.
  BOOST_TEST(std::abs(rows.back().parameters[0] - 2) <= 1.1e-5);
  // While the gradient keeps its sign, the step starts at lr = 0.01 and
  // grows by eta_plus = 1.2 each step: w_k = 0.01 (1.2^k - 1) / 0.2.
  for (std::size_t k = 0; k < 6; ++k) {
    const double expected = 0.01 * (std::pow(1.2, k) - 1) / 0.2;
    BOOST_TEST(rows[k].parameters[0] == expected,
               boost::test_tools::tolerance(1e-12));
  }
}

BOOST_AUTO_TEST_CASE(rprop_halves_step_after_sign_change) {
  // From w = 2.005 with lr = 0.01 the first step overshoots to 1.995. The
  // gradient then changes sign, so step 2 does not move and halves the step
  // size, and step 3 moves back by 0.005 to w = 2 exactly.
  const fs::path trace = scratch("rprop_flip.csv");
  const Run run = run_program({"--function", "tutorial", "--optimizer", "rprop",
                               "--start", "2.005", "--steps", "3",
                               "--tolerance", "0", "--trace", trace.string()});
  BOOST_TEST_REQUIRE(run.exit_code != exit_invalid_input, run.err);
  const std::vector<TraceRow> rows = read_trace(trace, "step,loss,w");
  BOOST_TEST_REQUIRE(rows.size() == 4u);
  BOOST_TEST(rows[1].parameters[0] == 1.995,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rows[2].parameters[0] == rows[1].parameters[0]);
  BOOST_TEST(rows[3].parameters[0] == 2.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(large_lr_diverges) {
  const fs::path trace = scratch("diverging.csv");
  const Run run = run_program({"--function", "tutorial", "--optimizer", "gd",
                               "--lr", "2", "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_diverged);
  BOOST_TEST(run.err == "");
  const std::vector<TableRow> rows = table_of(run.out);
  BOOST_TEST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].result.starts_with("diverged: "), rows[0].result);
  BOOST_TEST(run.out.find("diverged at step ") != std::string::npos, run.out);
  // A diverged run still writes its trajectory.
  const std::vector<TraceRow> trace_rows = read_trace(trace, "step,loss,w");
  BOOST_TEST(trace_rows.size() == rows[0].steps + 1);
}

BOOST_AUTO_TEST_CASE(interrupted_run_leaves_no_file) {
  // A run of 10^12 steps, stopped by SIGTERM after half a second, removes
  // the trace it was writing before it ends.
  const fs::path trace = scratch("interrupted.csv");
  const std::string command =
      "timeout -s TERM 0.5 " + adjoint::testing::shell_quote(executable) +
      " --function tutorial --optimizer gd --lr 1e-12 --steps 1000000000000 "
      "--trace " +
      adjoint::testing::shell_quote(trace.string()) + " >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  BOOST_TEST_REQUIRE(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 124);  // timeout: the command timed out
  BOOST_TEST(!fs::exists(trace));
  BOOST_TEST(!fs::exists(trace.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(step_limit_exit_status) {
  const fs::path trace = scratch("limited.csv");
  const Run run = run_program({"--function", "rosenbrock", "--optimizer", "gd",
                               "--steps", "10", "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_not_converged);
  BOOST_TEST(
      run.out.find("did not converge within 10 steps") != std::string::npos,
      run.out);
}

BOOST_AUTO_TEST_CASE(bad_input_gives_one_error_line) {
  struct Case {
    std::string name;
    std::vector<std::string> arguments;
    std::string expected;  // text the error line must contain
  };
  const std::string trace = scratch("bad_trace.csv").string();
  const std::string directory = scratch("bad_directory").string();
  // clang-format off
  const std::vector<Case> cases = {
      {"unknown_optimizer", {"--optimizer", "sgd", "--trace-dir", directory},
       "unknown --optimizer 'sgd'"},
      {"unknown_function", {"--function", "sphere", "--trace-dir", directory},
       "unknown --function 'sphere'"},
      {"beta1_with_gd",
       {"--optimizer", "gd", "--beta1", "0.9", "--trace-dir", directory},
       "--beta1 does not apply to --optimizer gd; it is a setting of adam "
       "and adamw"},
      {"alpha_with_adam",
       {"--optimizer", "adam", "--alpha", "0.9", "--trace-dir", directory},
       "--alpha does not apply to --optimizer adam; it is a setting of "
       "rmsprop"},
      {"lr_with_several_optimizers",
       {"--function", "tutorial", "--lr", "0.1", "--trace-dir", directory},
       "--lr sets one optimizer, but several run"},
      {"negative_lr",
       {"--function", "tutorial", "--optimizer", "gd", "--lr", "-1",
        "--trace", trace},
       "invalid learning_rate -1"},
      {"beta1_of_one",
       {"--function", "tutorial", "--optimizer", "adam", "--beta1", "1",
        "--trace", trace},
       "invalid beta1 1"},
      {"nesterov_without_momentum",
       {"--optimizer", "nesterov", "--momentum", "0", "--trace-dir",
        directory},
       "invalid momentum (with nesterov) 0"},
      {"one_start_value_for_rosenbrock",
       {"--function", "rosenbrock", "--start", "1", "--trace-dir", directory},
       "invalid --start 1: rosenbrock has 2 parameters (a, b)"},
      {"two_start_values_for_tutorial",
       {"--function", "tutorial", "--start", "1,2", "--trace-dir",
        directory},
       "invalid --start 1,2: tutorial has 1 parameter (w)"},
      {"start_with_infinite_loss",
       {"--function", "rosenbrock", "--start", "1e100,0", "--trace-dir",
        directory},
       "invalid --start 1e100,0: the rosenbrock loss there is inf"},
      {"start_without_function", {"--start", "1", "--trace-dir", directory},
       "--start 1 needs --function"},
      {"start_not_a_number",
       {"--function", "rosenbrock", "--start", "1,x", "--trace-dir",
        directory},
       "invalid --start 1,x: 'x' is not a finite number"},
      {"trace_with_several_runs",
       {"--optimizer", "gd", "--trace", trace},
       "--trace " + trace + " writes one run, but several run"},
      {"trace_with_trace_dir",
       {"--function", "tutorial", "--optimizer", "gd", "--trace", trace,
        "--trace-dir", directory},
       "--trace and --trace-dir both set"},
      {"lr_not_a_number",
       {"--function", "tutorial", "--optimizer", "gd", "--lr", "fast",
        "--trace", trace},
       "the argument ('fast') for option '--lr' is invalid"},
      {"negative_steps", {"--steps", "-1", "--trace-dir", directory},
       "invalid --steps -1"},
      {"negative_tolerance", {"--tolerance", "-1", "--trace-dir", directory},
       "invalid --tolerance -1"},
      {"empty_trace_dir", {"--trace-dir", ""},
       "invalid --trace-dir: the path is empty"},
      {"unknown_option", {"--learning-rate", "0.1", "--trace-dir", directory},
       "unrecognised option '--learning-rate'"},
      {"abbreviated_option", {"--step", "5", "--trace-dir", directory},
       "unrecognised option '--step'"},
      {"plot_extension", {"--plot", "figure.eps", "--trace-dir", directory},
       "invalid --plot figure.eps: unsupported extension .eps; use .svg or "
       ".png"},
      {"plot_over_trace",
       {"--function", "tutorial", "--optimizer", "gd", "--trace", trace,
        "--plot", trace},
       "invalid --plot " + trace + ": it would write the same file as "
       "--trace " + trace},
  };
  // clang-format on
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.name) {
      const Run run = run_program(test.arguments);
      BOOST_TEST(run.exit_code == exit_invalid_input);
      check_error_line(run, "optimizers", test.expected);
      BOOST_TEST(!fs::exists(trace));
      BOOST_TEST(!fs::exists(trace + ".tmp"));
      BOOST_TEST(!fs::exists(directory));
    }
  }
}

BOOST_AUTO_TEST_CASE(trace_dir_that_is_a_file) {
  const fs::path file = scratch("not_a_directory");
  adjoint::testing::write_text(file, "text\n");
  const Run run =
      run_program({"--optimizer", "gd", "--trace-dir", file.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err.starts_with("optimizers: cannot create the trace "
                                 "directory " +
                                 file.string()),
             run.err);
  BOOST_TEST(read_text(file) == "text\n");
}

BOOST_AUTO_TEST_CASE(help_lists_every_option) {
  const Run run = run_program({"--help"});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  for (const std::string option :
       {"--function", "--optimizer", "--lr", "--momentum", "--beta1", "--beta2",
        "--eps", "--weight-decay", "--alpha", "--start", "--steps",
        "--tolerance", "--trace", "--trace-dir", "--plot"}) {
    BOOST_TEST(run.out.find(option + " ") != std::string::npos, option);
  }
  BOOST_TEST(run.out.find("Exit status: 0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(
    plot_draws_both_panels,
    *boost::unit_test::precondition(adjoint::testing::gnuplot_installed{})) {
  const fs::path directory = scratch("plotted_runs");
  const fs::path figure = scratch("comparison.svg");
  const Run run = run_program(
      {"--trace-dir", directory.string(), "--plot", figure.string()});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  const adjoint::testing::SvgFigure svg = adjoint::testing::read_svg(figure);
  BOOST_TEST(svg.root == "svg");
  BOOST_TEST(svg.plots.size() == 2u);
  // Left: 18 loss lines, a key entry per optimizer and one per function.
  BOOST_TEST(svg.elements_of('a') == 18u + 9u + 2u);
  // Right: the contour lines, 9 Rosenbrock paths, the start and the
  // minimum.
  BOOST_TEST(svg.elements_of('b') == 1u + 9u + 2u);
  for (const std::string& optimizer : optimizer_names) {
    BOOST_TEST(svg.titles.count(optimizer) == 1u, optimizer);
  }
  BOOST_TEST(svg.titles.count("start (-1.5, 2)") == 1u);
  BOOST_TEST(svg.titles.count("minimum (1, 1)") == 1u);
  BOOST_TEST(!fs::exists(figure.string() + ".tmp"));
  // The trajectories are written as without --plot.
  for (const std::string& function : functions) {
    for (const std::string& optimizer : optimizer_names) {
      BOOST_TEST(fs::exists(directory / (function + "_" + optimizer + ".csv")));
    }
  }
}

BOOST_AUTO_TEST_CASE(
    plot_of_tutorial_shows_w,
    *boost::unit_test::precondition(adjoint::testing::gnuplot_installed{})) {
  const fs::path figure = scratch("tutorial.svg");
  const Run run = run_program({"--function", "tutorial", "--trace-dir",
                               scratch("tutorial_runs").string(), "--plot",
                               figure.string()});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  const adjoint::testing::SvgFigure svg = adjoint::testing::read_svg(figure);
  BOOST_TEST(svg.root == "svg");
  // Left: 9 loss lines and their key entries. Right: w of the 9 runs and
  // the key entry of the minimum.
  BOOST_TEST(svg.elements_of('a') == 9u + 9u);
  BOOST_TEST(svg.elements_of('b') == 9u + 1u);
  BOOST_TEST(svg.titles.count("minimum w = 2") == 1u);
  BOOST_TEST(svg.titles.count("rosenbrock") == 0u);
}

BOOST_AUTO_TEST_CASE(
    diverging_run_plots_png,
    *boost::unit_test::precondition(adjoint::testing::gnuplot_installed{})) {
  const fs::path figure = scratch("diverging.png");
  const fs::path trace = scratch("diverging_plotted.csv");
  const Run run = run_program({"--function", "rosenbrock", "--optimizer", "gd",
                               "--lr", "0.01", "--trace", trace.string(),
                               "--plot", figure.string()});
  BOOST_TEST(run.exit_code == exit_diverged);
  BOOST_TEST(run.err == "");
  const auto [width, height] = adjoint::testing::png_size(figure);
  BOOST_TEST(width == 1200u);
  BOOST_TEST(height == 480u);
  BOOST_TEST(fs::exists(trace));
}

BOOST_AUTO_TEST_CASE(plot_without_gnuplot_fails_early) {
  const fs::path empty_directory = scratch("no_programs");
  fs::create_directories(empty_directory);
  const fs::path directory = scratch("unplotted_runs");
  const fs::path figure = scratch("unplotted.svg");
  const Run run = program.run(
      {"--trace-dir", directory.string(), "--plot", figure.string()},
      adjoint::testing::Stdout::captured, {"PATH=" + empty_directory.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err ==
             "optimizers: --plot needs gnuplot, which was not found on PATH; "
             "install the Debian package gnuplot-nox\n");
  BOOST_TEST(!fs::exists(figure));
  BOOST_TEST(!fs::exists(figure.string() + ".tmp"));
  BOOST_TEST(!fs::exists(directory));
}

BOOST_AUTO_TEST_CASE(
    unwritable_plot_creates_nothing,
    *boost::unit_test::precondition(adjoint::testing::gnuplot_installed{})) {
  const fs::path directory = scratch("runs_without_figure");
  const fs::path figure = scratch("no_such_directory/figure.svg");
  const Run run = run_program(
      {"--trace-dir", directory.string(), "--plot", figure.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err == "optimizers: " + figure.string() +
                            ": cannot create the figure file: No such file "
                            "or directory\n");
  BOOST_TEST(!fs::exists(directory));
}
