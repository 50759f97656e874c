#define BOOST_TEST_MODULE linear_regression_example
#include <boost/test/unit_test.hpp>

// Runs the built examples/linear_regression program and checks its output,
// its --output and --trace files and its exit status.

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "example_runner.hpp"

namespace {

namespace fs = std::filesystem;
using adjoint::testing::check_error_line;
using adjoint::testing::lines_of;
using adjoint::testing::read_numeric_csv;
using adjoint::testing::read_text;
using adjoint::testing::Run;
using adjoint::testing::Stdout;
using adjoint::testing::write_text;

const std::string executable = ADJOINT_LINEAR_REGRESSION_EXE;
const std::string stackloss_csv =
    std::string(ADJOINT_EXAMPLES_DATA_DIR) + "/stackloss.csv";
const std::vector<std::string> stackloss = {"--data", stackloss_csv, "--target",
                                            "stack_loss"};

constexpr int exit_converged = 0;
constexpr int exit_invalid_input = 1;
constexpr int exit_not_converged = 2;
constexpr int exit_diverged = 3;

// The least-squares fit of stack_loss on the other three columns of
// examples/data/stackloss.csv, computed with NumPy 1.24.2 (Debian 12) as
//
//   d = numpy.loadtxt("stackloss.csv", delimiter=",", skiprows=1)
//   X, y = d[:, :3], d[:, 3]
//   A = numpy.c_[X, numpy.ones(len(y))]
//   c = numpy.linalg.lstsq(A, y, rcond=None)[0]
//
// and printed with repr(): the weights of air_flow, water_temp, acid_conc
// and the bias.
const std::vector<std::string> feature_names = {"air_flow", "water_temp",
                                                "acid_conc"};
const std::vector<double> closed_form_weights = {
    0.7156402004853745, 1.2952861243882448, -0.15212251914863484};
const double closed_form_bias = -39.91967442012409;
// mean((y - A c)^2), the minimum of the loss.
const double closed_form_loss = 8.515712457064698;
// The same fit in standardised units, as the trace writes it:
// c[:3] * X.std(axis=0) and y.mean().
const std::vector<double> standardised_weights = {
    6.403057342979016, 3.99543581449609, -0.7955140747744713};
const double standardised_bias = 17.523809523809526;
// At w = 0, b = 0: the loss mean(y^2) and the gradient norm
// |(-2/n Z^T y, -2 mean(y))| with Z = (X - X.mean(0)) / X.std(0).
const double starting_loss = 405.6190476190476;
const double starting_gradient_norm = 43.895476337520876;
// 1 / (the largest eigenvalue of Z^T Z / n), from numpy.linalg.eigvalsh.
const double stable_limit = 1 / 2.13317349;

const adjoint::testing::ExampleProgram program{
    executable, "linear_regression_example_test"};

/// Creates the scratch directory of this test process and removes it at the
/// end.
struct ScratchDirectory {
  ScratchDirectory() { program.create_scratch(); }
  ~ScratchDirectory() { program.remove_scratch(); }
  static fs::path path() { return program.scratch_directory(); }
};

fs::path scratch(const std::string& name) { return program.scratch(name); }

Run run_program(const std::vector<std::string>& arguments,
                Stdout output = Stdout::captured) {
  return program.run(arguments, output);
}

/// Returns the stack loss arguments followed by `more`.
std::vector<std::string> stackloss_with(const std::vector<std::string>& more) {
  std::vector<std::string> arguments = stackloss;
  arguments.insert(arguments.end(), more.begin(), more.end());
  return arguments;
}

std::string last_line(const std::string& text) {
  const std::vector<std::string> lines = lines_of(text);
  return lines.empty() ? "" : lines.back();
}

bool relative_close(double actual, double expected, double tolerance) {
  return std::abs(actual - expected) <= tolerance * std::abs(expected);
}

/// A fitted model as printed or written: names and values in order.
struct Model {
  std::vector<std::string> names;
  std::vector<double> values;
};

/// Reads the model rows that follow the line starting with `heading` on
/// stdout: two spaces, the name, spaces and the value.
Model printed_model(const std::string& out, const std::string& heading) {
  const std::vector<std::string> lines = lines_of(out);
  auto line = std::find_if(lines.begin(), lines.end(), [&](const auto& l) {
    return l.starts_with(heading);
  });
  BOOST_TEST_REQUIRE((line != lines.end()), "no line starting " << heading);
  Model model;
  for (++line; line != lines.end() && line->starts_with("  "); ++line) {
    std::istringstream fields(*line);
    std::string name;
    double value = 0;
    fields >> name >> value;
    BOOST_TEST_REQUIRE(!fields.fail(), "bad model line: " << *line);
    model.names.push_back(name);
    model.values.push_back(value);
  }
  return model;
}

/// Reads a --output file. The value is the text after the last comma, so a
/// quoted name may contain commas.
Model read_model(const fs::path& path) {
  const std::vector<std::string> lines = lines_of(read_text(path));
  BOOST_TEST_REQUIRE(!lines.empty());
  BOOST_TEST_REQUIRE(lines[0] == "name,value");
  Model model;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t comma = lines[i].rfind(',');
    BOOST_TEST_REQUIRE(comma != std::string::npos, lines[i]);
    model.names.push_back(lines[i].substr(0, comma));
    model.values.push_back(std::stod(lines[i].substr(comma + 1)));
  }
  return model;
}

/// Checks a model of the stack loss data against the closed form.
void check_stackloss_model(const Model& model) {
  const std::vector<std::string> names = {"air_flow", "water_temp", "acid_conc",
                                          "bias"};
  BOOST_TEST(model.names == names, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(model.values.size() == 4u);
  for (std::size_t j = 0; j < 3; ++j) {
    BOOST_TEST(relative_close(model.values[j], closed_form_weights[j], 1e-6),
               feature_names[j] << ": fitted " << model.values[j]
                                << ", closed form " << closed_form_weights[j]);
  }
  BOOST_TEST(relative_close(model.values[3], closed_form_bias, 1e-6),
             "bias: fitted " << model.values[3] << ", closed form "
                             << closed_form_bias);
}

struct TraceRow {
  std::size_t step = 0;
  double loss = 0;
  double gradient_norm = 0;
  std::vector<double> weights;
  double bias = 0;
};

/// Reads a --trace file, whose header must be `expected_header`.
std::vector<TraceRow> read_trace(const fs::path& path,
                                 const std::string& expected_header) {
  std::vector<TraceRow> rows;
  for (const std::vector<double>& values :
       read_numeric_csv(path, expected_header)) {
    TraceRow row;
    row.step = static_cast<std::size_t>(values[0]);
    row.loss = values[1];
    row.gradient_norm = values[2];
    row.weights.assign(values.begin() + 3, values.end() - 1);
    row.bias = values.back();
    rows.push_back(row);
  }
  return rows;
}

const std::string stackloss_trace_header =
    "step,loss,gradient_norm,w_air_flow,w_water_temp,w_acid_conc,bias";

/// Returns the step numbers of the loss table on stdout: the first numbers
/// of the lines after the heading "  step ...".
std::vector<std::size_t> printed_steps(const std::string& out) {
  std::vector<std::size_t> steps;
  bool in_table = false;
  for (const std::string& line : lines_of(out)) {
    if (line.starts_with("  step")) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    std::istringstream fields(line);
    std::size_t step = 0;
    if (!(fields >> step)) break;
    steps.push_back(step);
  }
  return steps;
}

/// Returns the step count on the last line: the number after "after ",
/// "at step " or "within ".
std::size_t final_step(const std::string& out) {
  const std::string line = last_line(out);
  for (const std::string_view marker : {"after ", "at step ", "within "}) {
    const std::size_t at = line.find(marker);
    if (at != std::string::npos) {
      return std::stoul(line.substr(at + marker.size()));
    }
  }
  BOOST_FAIL("no step count in: " << line);
  return 0;
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(ScratchDirectory);

BOOST_AUTO_TEST_CASE(stackloss_matches_closed_form) {
  const Run run = run_program(stackloss);
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  BOOST_TEST(
      run.out.starts_with("21 rows from " + stackloss_csv +
                          "; target stack_loss; 3 features, standardised:\n"),
      run.out);
  check_stackloss_model(
      printed_model(run.out, "fitted model in the units of the data:"));
  const std::string line = last_line(run.out);
  BOOST_TEST(line.starts_with("converged after "), line);
  BOOST_TEST(line.find(": |gradient| <= 1e-09, mean squared error ") !=
                 std::string::npos,
             line);
  const double loss = std::stod(line.substr(line.rfind(' ') + 1));
  BOOST_TEST(relative_close(loss, closed_form_loss, 1e-12),
             "loss " << loss << ", closed form " << closed_form_loss);
  // 1 / 2.133 = 0.4688.
  BOOST_TEST(run.out.find("stable for lr < 1/lambda_max = 0.469, where "
                          "lambda_max = 2.13 ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(output_file_has_fitted_model) {
  const fs::path output = scratch("model.csv");
  const Run run = run_program(stackloss_with({"--output", output.string()}));
  BOOST_TEST_REQUIRE(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  const Model written = read_model(output);
  check_stackloss_model(written);
  // Stdout prints the same shortest round-trip text as the file.
  const Model printed =
      printed_model(run.out, "fitted model in the units of the data:");
  BOOST_TEST(printed.values == written.values,
             boost::test_tools::per_element());
  BOOST_TEST(!fs::exists(output.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(trace_file_has_every_step) {
  const fs::path trace = scratch("trace.csv");
  const Run run = run_program(stackloss_with({"--trace", trace.string()}));
  BOOST_TEST_REQUIRE(run.exit_code == exit_converged);
  const std::vector<TraceRow> rows = read_trace(trace, stackloss_trace_header);
  BOOST_TEST_REQUIRE(rows.size() == final_step(run.out) + 1);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    BOOST_TEST(rows[i].step == i);
    BOOST_TEST(rows[i].weights.size() == 3u);
  }

  BOOST_TEST(rows[0].loss == starting_loss,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rows[0].gradient_norm == starting_gradient_norm,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rows[0].weights == std::vector<double>(3, 0.0),
             boost::test_tools::per_element());
  BOOST_TEST(rows[0].bias == 0.0);
  // The first update moves b by -lr * dJ/db = 0.1 * 2 * mean(y).
  BOOST_TEST(rows[1].bias == 0.2 * standardised_bias,
             boost::test_tools::tolerance(1e-12));

  // Below lr = 1 / (2 lambda_max) every mode of the error shrinks without
  // changing sign, so the loss never increases by more than rounding.
  for (std::size_t i = 1; i < rows.size(); ++i) {
    BOOST_TEST(
        rows[i].loss <= rows[i - 1].loss * (1 + 1e-13),
        "step " << i << ": " << rows[i].loss << " > " << rows[i - 1].loss);
  }
  const TraceRow& last = rows.back();
  BOOST_TEST(last.gradient_norm <= 1e-9);
  BOOST_TEST(rows[rows.size() - 2].gradient_norm > 1e-9);
  BOOST_TEST(relative_close(last.loss, closed_form_loss, 1e-12));
  for (std::size_t j = 0; j < 3; ++j) {
    BOOST_TEST(relative_close(last.weights[j], standardised_weights[j], 1e-6),
               feature_names[j] << ": " << last.weights[j]);
  }
  BOOST_TEST(relative_close(last.bias, standardised_bias, 1e-6));
}

BOOST_AUTO_TEST_CASE(stdout_abridges_the_steps) {
  const Run run = run_program(stackloss);
  BOOST_TEST_REQUIRE(run.exit_code == exit_converged);
  const std::size_t last = final_step(run.out);
  BOOST_TEST_REQUIRE(last > 400u);
  BOOST_TEST_REQUIRE(last < 1000u);
  std::vector<std::size_t> expected = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,
                                       10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  for (std::size_t step = 200; step < last; step += 100) {
    expected.push_back(step);
  }
  expected.push_back(last);
  const std::vector<std::size_t> steps = printed_steps(run.out);
  BOOST_TEST(steps == expected, boost::test_tools::per_element());

  // A last step that is printed anyway appears once.
  const Run capped = run_program(stackloss_with({"--max-steps", "100"}));
  BOOST_TEST(capped.exit_code == exit_not_converged);
  const std::vector<std::size_t> capped_steps = printed_steps(capped.out);
  BOOST_TEST_REQUIRE(!capped_steps.empty());
  BOOST_TEST(capped_steps.back() == 100u);
  BOOST_TEST(std::count(capped_steps.begin(), capped_steps.end(), 100u) == 1);
}

BOOST_AUTO_TEST_CASE(large_lr_diverges) {
  const fs::path trace = scratch("diverging_trace.csv");
  const fs::path output = scratch("diverging_model.csv");
  const Run run = run_program(stackloss_with(
      {"--lr", "1", "--trace", trace.string(), "--output", output.string()}));
  BOOST_TEST(run.exit_code == exit_diverged);
  BOOST_TEST(run.err == "");
  const std::string line = last_line(run.out);
  BOOST_TEST(line.starts_with("diverged at step 5 because the loss kept "
                              "growing past its starting value. The learning "
                              "rate 1 is too large"),
             line);
  BOOST_TEST(line.find("stable only for lr < 0.469") != std::string::npos,
             line);
  BOOST_TEST(
      line.ends_with("; --output " + output.string() + " was not written"),
      line);
  // A diverged run still writes its trace, one row per step, but no model.
  BOOST_TEST(read_trace(trace, stackloss_trace_header).size() == 6u);
  BOOST_TEST(!fs::exists(output));
  BOOST_TEST(!fs::exists(output.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(stability_limit_is_sharp) {
  // The limit is 1 / lambda_max = 0.46878: just below it the run converges,
  // just above it diverges.
  const double below = 0.995 * stable_limit;
  const double above = 1.005 * stable_limit;
  const Run converging =
      run_program(stackloss_with({"--lr", std::to_string(below)}));
  BOOST_TEST(converging.exit_code == exit_converged, last_line(converging.out));
  check_stackloss_model(
      printed_model(converging.out, "fitted model in the units of the data:"));
  const Run diverging =
      run_program(stackloss_with({"--lr", std::to_string(above)}));
  BOOST_TEST(diverging.exit_code == exit_diverged, last_line(diverging.out));
}

BOOST_AUTO_TEST_CASE(huge_lr_gives_non_finite_loss) {
  const Run run = run_program(stackloss_with({"--lr", "1e300"}));
  BOOST_TEST(run.exit_code == exit_diverged);
  const std::string line = last_line(run.out);
  BOOST_TEST(line.starts_with("diverged at step 1 because the loss is not "
                              "finite"),
             line);
}

BOOST_AUTO_TEST_CASE(max_steps_keeps_existing_output) {
  const fs::path output = scratch("kept_model.csv");
  write_text(output, "previous run\n");
  const Run run = run_program(
      stackloss_with({"--max-steps", "50", "--output", output.string()}));
  BOOST_TEST(run.exit_code == exit_not_converged);
  BOOST_TEST(run.err == "");
  const std::string line = last_line(run.out);
  BOOST_TEST(line.starts_with("did not converge within 50 steps "
                              "(--max-steps): |gradient| = "),
             line);
  BOOST_TEST(
      line.ends_with("; --output " + output.string() + " was not written"),
      line);
  const Model model =
      printed_model(run.out, "model after 50 steps in the units of the data:");
  BOOST_TEST(model.names.size() == 4u);
  BOOST_TEST(read_text(output) == "previous run\n");
  BOOST_TEST(!fs::exists(output.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(bad_input_gives_one_error_line) {
  struct Case {
    std::string name;
    std::string file_content;  // written to <name>.csv and passed as --data
    std::vector<std::string> arguments;
    std::string expected;  // text the error line must contain
  };
  const std::string missing = scratch("missing.csv").string();
  const std::string directory = scratch("data_directory").string();
  fs::create_directory(directory);
  // clang-format off
  const std::vector<Case> cases = {
      {"missing_file", "", {"--data", missing, "--target", "z"},
       missing + ": cannot open file: No such file or directory"},
      {"directory", "", {"--data", directory, "--target", "z"},
       directory + ": is a directory, not a CSV file"},
      {"missing_target", "a,b\n1,2\n2,3\n", {"--target", "z"},
       "missing_target.csv:1: missing column \"z\" in the header (columns: "
       "a, b); name the target column with --target"},
      {"short_row", "x1,x2,z\n1,2,3\n4,5\n2,1,1\n", {"--target", "z"},
       "short_row.csv:3: expected 3 fields as in the header, found 2"},
      {"long_row", "x,z\n1,2\n2,3,4\n3,5\n", {"--target", "z"},
       "long_row.csv:3: expected 2 fields as in the header, found 3"},
      {"bad_target_number", "x,z\n1,2\n2,abc\n3,5\n", {"--target", "z"},
       "bad_target_number.csv:3: invalid number \"abc\" in column z"},
      {"bad_feature_number", "x,z\n1,2\nfast,3\n3,5\n", {"--target", "z"},
       "bad_feature_number.csv:3: invalid number \"fast\" in column x"},
      {"missing_value", "x,z\n1,2\n,3\n3,5\n", {"--target", "z"},
       "missing_value.csv:3: missing value in column x"},
      {"infinity_text", "x,z\n1,2\n2,inf\n3,5\n", {"--target", "z"},
       "infinity_text.csv:3: invalid number \"inf\" in column z"},
      {"nan_text", "x,z\n1,2\nnan,3\n3,5\n", {"--target", "z"},
       "nan_text.csv:3: invalid number \"nan\" in column x"},
      {"overflowing_number", "x,z\n1,2\n2,3\n1e999,5\n", {"--target", "z"},
       "overflowing_number.csv:4: number \"1e999\" in column x is out of "
       "range: the largest double is about 1.8e308"},
      {"unterminated_quote", "x,z\n1,2\n\"2,3\n", {"--target", "z"},
       "unterminated_quote.csv:3: unterminated quoted field"},
      {"empty_file", "", {"--target", "z"},
       "empty_file.csv: the file is empty; expected a header line naming "
       "the target column z and the feature columns"},
      {"blank_file", "\r\n\n", {"--target", "z"},
       "blank_file.csv: the file is empty"},
      {"header_only", "x,z\r\n\r\n", {"--target", "z"},
       "header_only.csv: no data rows after the header line"},
      {"one_row", "x,z\n1,2\n", {"--target", "z"},
       "one_row.csv:2: the file ends after 1 data row, but fitting 1 weight "
       "and a bias needs at least 2 rows"},
      {"too_few_rows", "x1,x2,z\n1,2,3\n\n4,6,6\n", {"--target", "z"},
       "too_few_rows.csv:4: the file ends after 2 data rows, but fitting 2 "
       "weights and a bias needs at least 3 rows"},
      {"constant_feature", "x,c,z\n1,5,2\n2,5,3\n3,5,5\n", {"--target", "z"},
       "constant_feature.csv:1: feature column \"c\" is constant (every row "
       "has 5), so it cannot be standardised and would duplicate the bias; "
       "remove the column"},
      {"constant_feature_after_blank_line", "\nx,c,z\n1,0.1,2\n2,0.1,3\n"
       "3,0.1,5\n", {"--target", "z"},
       "constant_feature_after_blank_line.csv:2: feature column \"c\" is "
       "constant (every row has 0.1)"},
      {"huge_feature", "x,z\n1.5e308,1\n1.5e308,2\n-1e308,3\n",
       {"--target", "z"},
       "huge_feature.csv:1: feature column \"x\" cannot be standardised in "
       "double precision (mean inf, standard deviation "},
      {"huge_target", "x,z\n1,1\n2,1e300\n3,2\n", {"--target", "z"},
       "huge_target.csv:3: the loss or its gradient is not finite at the "
       "starting point w = 0, b = 0, because target values such as "
       "z = 1e+300 on this line are too large for double; rescale the "
       "column"},
      {"linear_combination", "x1,x2,x3,z\n1,0,1,3\n2,1,3,5\n3,0,3,8\n"
       "4,2,6,9\n5,1,6,1\n", {"--target", "z"},
       "linear_combination.csv:1: feature column \"x3\" is a linear "
       "combination of the feature columns before it (x1, x2), to within "
       "1e-10 of its variance, so the least-squares weights are not unique; "
       "remove the column"},
      {"only_target", "z\n1\n2\n", {"--target", "z"},
       "only_target.csv:1: the header names only the target column z; a "
       "linear model needs at least one feature column"},
      {"feature_named_bias", "bias,z\n1,2\n2,3\n3,5\n", {"--target", "z"},
       "feature_named_bias.csv:1: feature column \"bias\" has the name of "
       "the model's intercept in the output; rename the column"},
      {"repeated_column", "x,x,z\n1,2,3\n2,1,3\n3,3,5\n", {"--target", "z"},
       "repeated_column.csv:1: column \"x\" appears twice in the header"},
      {"repeated_target", "z,x,z\n1,2,3\n2,1,3\n3,3,5\n", {"--target", "z"},
       "repeated_target.csv:1: column \"z\" appears twice in the header"},
      {"unnamed_column", "x,,z\n1,2,3\n2,1,3\n3,3,5\n", {"--target", "z"},
       "unnamed_column.csv:1: column 2 of the header has no name; name "
       "every column"},
  };
  // clang-format on
  const fs::path trace = scratch("error_trace.csv");
  const fs::path output = scratch("error_model.csv");
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.name) {
      std::vector<std::string> arguments = test.arguments;
      if (test.arguments[0] != "--data") {
        const fs::path data = scratch(test.name + ".csv");
        write_text(data, test.file_content);
        arguments.insert(arguments.end(), {"--data", data.string()});
      }
      arguments.insert(arguments.end(), {"--trace", trace.string(), "--output",
                                         output.string()});
      const Run run = run_program(arguments);
      BOOST_TEST(run.exit_code == exit_invalid_input);
      check_error_line(run, "linear_regression", test.expected);
      BOOST_TEST(!fs::exists(trace));
      BOOST_TEST(!fs::exists(trace.string() + ".tmp"));
      BOOST_TEST(!fs::exists(output));
      BOOST_TEST(!fs::exists(output.string() + ".tmp"));
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_option_gives_one_error_line) {
  struct Case {
    std::vector<std::string> arguments;
    std::string expected;  // text the error line must contain
  };
  // clang-format off
  const std::vector<Case> cases = {
      {{"--target", "stack_loss"},
       "the option '--data' is required but missing"},
      {{"--data", stackloss_csv},
       "the option '--target' is required but missing"},
      {{"--data", "", "--target", "stack_loss"},
       "invalid --data: the path is empty"},
      {{"--data", stackloss_csv, "--target", ""},
       "invalid --target: the column name is empty"},
      {stackloss_with({"--trace", ""}), "invalid --trace: the path is empty"},
      {stackloss_with({"--output", ""}),
       "invalid --output: the path is empty"},
      {stackloss_with({"--lr", "-0.1"}),
       "invalid --lr -0.1: the learning rate must be a finite number > 0"},
      {stackloss_with({"--lr", "0"}), "invalid --lr 0"},
      {stackloss_with({"--lr", "nan"}), "invalid --lr nan"},
      {stackloss_with({"--lr", "inf"}), "invalid --lr inf"},
      {stackloss_with({"--lr", "fast"}),
       "the argument ('fast') for option '--lr' is invalid"},
      {stackloss_with({"--tolerance", "-1"}),
       "invalid --tolerance -1: it must be a finite number >= 0"},
      {stackloss_with({"--max-steps", "-1"}),
       "invalid --max-steps -1: it must be >= 0"},
      {stackloss_with({"--learning-rate", "0.1"}),
       "unrecognised option '--learning-rate'; run linear_regression --help "
       "for the options"},
      {stackloss_with({"data.csv"}), "too many positional options"},
  };
  // clang-format on
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.expected) {
      const Run run = run_program(test.arguments);
      BOOST_TEST(run.exit_code == exit_invalid_input);
      check_error_line(run, "linear_regression", test.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(output_over_data_rejected) {
  const std::string content = "x,z\n1,2\n2,3\n3,5\n";
  const fs::path data = scratch("same.csv");
  const fs::path hard_link = scratch("same_hard_link.csv");
  write_text(data, content);
  fs::create_hard_link(data, hard_link);
  struct Case {
    std::string option;
    fs::path path;
  };
  const std::vector<Case> cases = {
      {"--output", data},
      {"--output", ScratchDirectory::path() / "." / "same.csv"},
      {"--output", hard_link},
      {"--trace", hard_link},
  };
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.option << " " << test.path) {
      const Run run = run_program({"--data", data.string(), "--target", "z",
                                   test.option, test.path.string()});
      BOOST_TEST(run.exit_code == exit_invalid_input);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == "linear_regression: invalid " + test.option + " " +
                                test.path.string() +
                                ": it is the --data file " + data.string() +
                                "; choose another path\n");
      BOOST_TEST(read_text(data) == content);
    }
  }
  // The temporary file "<FILE>.tmp" must not be the data file either.
  const fs::path temporary_data = scratch("input.csv.tmp");
  write_text(temporary_data, content);
  const Run run = run_program({"--data", temporary_data.string(), "--target",
                               "z", "--output", scratch("input.csv").string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.err == "linear_regression: invalid --output " +
                            scratch("input.csv").string() +
                            ": its temporary file " + temporary_data.string() +
                            " is the --data file " + temporary_data.string() +
                            "; choose another path\n");
  BOOST_TEST(read_text(temporary_data) == content);
  BOOST_TEST(!fs::exists(scratch("same.csv.tmp")));
  BOOST_TEST(!fs::exists(scratch("input.csv")));
}

BOOST_AUTO_TEST_CASE(output_over_trace_rejected) {
  const fs::path path = scratch("shared.csv");
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {path.string(), path.string()},
      {path.string(), (ScratchDirectory::path() / "." / "shared.csv").string()},
      {path.string(), path.string() + ".tmp"},
      {path.string() + ".tmp", path.string()},
  };
  for (const auto& [trace, output] : pairs) {
    BOOST_TEST_CONTEXT("--trace " << trace << " --output " << output) {
      const Run run =
          run_program(stackloss_with({"--trace", trace, "--output", output}));
      BOOST_TEST(run.exit_code == exit_invalid_input);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == "linear_regression: invalid --output " + output +
                                ": it would write the same file as --trace " +
                                trace + "; choose another path\n");
      BOOST_TEST(!fs::exists(path));
      BOOST_TEST(!fs::exists(path.string() + ".tmp"));
    }
  }
}

BOOST_AUTO_TEST_CASE(non_regular_output_rejected) {
  const fs::path directory = scratch("output_directory");
  const fs::path fifo = scratch("output_fifo");
  const fs::path target = scratch("link_target.csv");
  const fs::path link = scratch("output_link");
  fs::create_directory(directory);
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  write_text(target, "kept\n");
  fs::create_symlink(target, link);
  struct Case {
    fs::path output;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {directory, "it is a directory"},
      {fifo, "it is not a regular file"},
      {link, "it is a symbolic link, not a regular file"},
  };
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.output) {
      const Run run =
          run_program(stackloss_with({"--output", test.output.string()}));
      BOOST_TEST(run.exit_code == exit_invalid_input);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == "linear_regression: cannot write the model to " +
                                test.output.string() + ": " + test.problem +
                                "\n");
      BOOST_TEST(
          !fs::exists(fs::symlink_status(test.output.string() + ".tmp")));
    }
  }
  BOOST_TEST(fs::is_directory(fs::symlink_status(directory)));
  BOOST_TEST(fs::is_fifo(fs::symlink_status(fifo)));
  BOOST_TEST(fs::is_symlink(fs::symlink_status(link)));
  BOOST_TEST(read_text(target) == "kept\n");

  // A symbolic link at the temporary path is not written through either.
  const fs::path blocked = scratch("blocked.csv");
  fs::create_symlink(target, blocked.string() + ".tmp");
  const Run run = run_program(stackloss_with({"--output", blocked.string()}));
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.err == "linear_regression: cannot write the model to " +
                            blocked.string() + ": its temporary file " +
                            blocked.string() +
                            ".tmp is a symbolic link, not a regular file\n");
  BOOST_TEST(read_text(target) == "kept\n");
  BOOST_TEST(!fs::exists(blocked));
}

BOOST_AUTO_TEST_CASE(unwritable_output_is_an_error) {
  const fs::path output = scratch("no_such_directory/model.csv");
  const Run run = run_program(stackloss_with({"--output", output.string()}));
  BOOST_TEST(run.exit_code == exit_invalid_input);
  // The temporary file is created before the run prints anything.
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err == "linear_regression: " + output.string() +
                            ": cannot create the model file: No such file "
                            "or directory\n");
}

BOOST_AUTO_TEST_CASE(stale_temporary_output_replaced) {
  const fs::path output = scratch("stale.csv");
  write_text(output.string() + ".tmp", "left by an earlier run\n");
  write_text(output, "previous model\n");
  const Run run = run_program(stackloss_with({"--output", output.string()}));
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  check_stackloss_model(read_model(output));
  BOOST_TEST(!fs::exists(output.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(failed_stdout_write_keeps_files) {
  const fs::path output = scratch("unprinted_model.csv");
  const fs::path trace = scratch("unprinted_trace.csv");
  write_text(output, "previous model\n");
  write_text(trace, "previous trace\n");
  const Run run = run_program(
      stackloss_with({"--output", output.string(), "--trace", trace.string()}),
      Stdout::closed);
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.err ==
             "linear_regression: cannot write the output: Bad file "
             "descriptor\n");
  BOOST_TEST(read_text(output) == "previous model\n");
  BOOST_TEST(read_text(trace) == "previous trace\n");
  BOOST_TEST(!fs::exists(output.string() + ".tmp"));
  BOOST_TEST(!fs::exists(trace.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(quoted_names_and_crlf_accepted) {
  // z = 2 a - 3 b + 1 exactly, with the feature "a, b" named in quotes, so
  // the fit is exact and the names must be quoted again in the files.
  const fs::path data = scratch("quoted.csv");
  write_text(data,
             "\xEF\xBB\xBF\"a, b\", \"say \"\"c\"\"\" ,z\r\n"
             "1,0,3\r\n"
             "\r\n"
             "2,1,2\r\n"
             "0,1,-2\r\n"
             "3,-1,10\r\n");
  const fs::path output = scratch("quoted_model.csv");
  const fs::path trace = scratch("quoted_trace.csv");
  const Run run =
      run_program({"--data", data.string(), "--target", "z", "--output",
                   output.string(), "--trace", trace.string()});
  BOOST_TEST_REQUIRE(run.exit_code == exit_converged, run.out << run.err);
  BOOST_TEST(run.err == "");
  const Model model = read_model(output);
  const std::vector<std::string> names = {"\"a, b\"", "\"say \"\"c\"\"\"",
                                          "bias"};
  BOOST_TEST(model.names == names, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(model.values.size() == 3u);
  BOOST_TEST(relative_close(model.values[0], 2, 1e-6), model.values[0]);
  BOOST_TEST(relative_close(model.values[1], -3, 1e-6), model.values[1]);
  BOOST_TEST(relative_close(model.values[2], 1, 1e-6), model.values[2]);
  const std::string header = lines_of(read_text(trace)).at(0);
  BOOST_TEST(header ==
             "step,loss,gradient_norm,\"w_a, b\",\"w_say \"\"c\"\"\",bias");
}

BOOST_AUTO_TEST_CASE(help_lists_every_option) {
  const Run run = run_program({"--help"});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  for (const char* option :
       {"--help", "--data FILE", "--target NAME", "--lr RATE (=0.1)",
        "--tolerance TOL (=1e-9)", "--max-steps N (=10000)", "--trace FILE",
        "--output FILE", "Exit status"}) {
    BOOST_TEST(run.out.find(option) != std::string::npos,
               "help does not contain " << option);
  }
}
