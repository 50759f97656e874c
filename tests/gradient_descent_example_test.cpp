#define BOOST_TEST_MODULE gradient_descent_example
#include <boost/test/unit_test.hpp>

// Runs the built examples/gradient_descent program and checks its output,
// trace file and exit status.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "example_runner.hpp"
#include "figure_check.hpp"

namespace {

namespace fs = std::filesystem;
using adjoint::testing::check_error_line;
using adjoint::testing::read_text;
using adjoint::testing::Run;
using adjoint::testing::Stdout;
using adjoint::testing::write_text;

const std::string executable = ADJOINT_GRADIENT_DESCENT_EXE;
const std::string hubble_csv =
    std::string(ADJOINT_EXAMPLES_DATA_DIR) + "/hubble1929.csv";
const std::vector<std::string> hubble_columns = {"--data",     hubble_csv,
                                                 "--x-column", "distance_mpc",
                                                 "--z-column", "velocity_km_s"};

constexpr int exit_converged = 0;
constexpr int exit_invalid_input = 1;
constexpr int exit_not_converged = 2;
constexpr int exit_diverged = 3;

const adjoint::testing::ExampleProgram program{executable,
                                               "gradient_descent_example_test"};

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

/// Runs the program with stdout on a pipe whose read end is closed and with
/// SIGPIPE ignored, so that every write to stdout fails with EPIPE.
Run run_with_broken_pipe(const std::vector<std::string>& arguments) {
  const fs::path err = scratch("stderr.txt");
  std::vector<std::string> words = {executable};
  words.insert(words.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);

  int pipe_ends[2];
  BOOST_TEST_REQUIRE(::pipe(pipe_ends) == 0);
  ::close(pipe_ends[0]);
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child != -1);
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    std::signal(SIGPIPE, SIG_IGN);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err_fd == -1 || ::dup2(pipe_ends[1], STDOUT_FILENO) == -1 ||
        ::dup2(err_fd, STDERR_FILENO) == -1) {
      ::_exit(127);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_ends[1]);
  int status = 0;
  BOOST_TEST_REQUIRE(::waitpid(child, &status, 0) == child);
  Run run;
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.err = read_text(err);
  return run;
}

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  return trimmed.substr(trimmed.rfind('\n') + 1);
}

/// Returns the number after "w = " on the last line of the output.
double final_w(const std::string& out) {
  const std::string line = last_line(out);
  const std::size_t at = line.find("w = ");
  BOOST_TEST_REQUIRE(at != std::string::npos, "no \"w = \" in: " << line);
  return std::strtod(line.c_str() + at + 4, nullptr);
}

struct TraceRow {
  std::size_t step;
  double w;
  double loss;
  double gradient;
};

std::vector<TraceRow> read_trace(const fs::path& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  BOOST_TEST_REQUIRE(line == "step,w,loss,gradient");
  std::vector<TraceRow> rows;
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    TraceRow row{};
    char comma = 0;
    fields >> row.step >> comma >> row.w >> comma >> row.loss >> comma >>
        row.gradient;
    BOOST_TEST_REQUIRE(!fields.fail(), "bad trace row: " << line);
    rows.push_back(row);
  }
  return rows;
}

/// sum(x^2) and sum(x*z) of a data set, computed independently of the
/// program.
struct Sums {
  double xx = 0;
  double xz = 0;
};

Sums builtin_sums() {
  Sums sums;
  for (double x : {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}) {
    sums.xx += x * x;
    sums.xz += x * (2 * x);
  }
  return sums;
}

/// Sums of the Hubble table, whose second column is the distance x and third
/// the velocity z. No field of that file contains a comma.
Sums hubble_sums() {
  std::ifstream file(hubble_csv);
  std::string line;
  std::getline(file, line);
  BOOST_TEST_REQUIRE(line == "nebula,distance_mpc,velocity_km_s");
  Sums sums;
  int rows = 0;
  while (std::getline(file, line)) {
    const std::size_t first = line.find(',');
    const std::size_t second = line.find(',', first + 1);
    const double x = std::stod(line.substr(first + 1, second - first - 1));
    const double z = std::stod(line.substr(second + 1));
    sums.xx += x * x;
    sums.xz += x * z;
    ++rows;
  }
  BOOST_TEST_REQUIRE(rows == 24);
  return sums;
}

bool relative_close(double actual, double expected, double tolerance) {
  return std::abs(actual - expected) <= tolerance * std::abs(expected);
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(ScratchDirectory);

BOOST_AUTO_TEST_CASE(default_run_converges) {
  const Run run = run_program({});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  BOOST_TEST(last_line(run.out).starts_with("converged after "));
  // |dJ/dw| = 2 * sum(x^2) * |w - 2| <= 1e-6 at the default tolerance.
  BOOST_TEST(std::abs(final_w(run.out) - 2) <= 1e-6 / (2 * 0.91));
}

BOOST_AUTO_TEST_CASE(four_steps_within_one_percent) {
  const fs::path trace = scratch("default_trace.csv");
  const Run run = run_program({"--trace", trace.string()});
  BOOST_TEST_REQUIRE(run.exit_code == exit_converged);
  const std::vector<TraceRow> rows = read_trace(trace);
  BOOST_TEST_REQUIRE(rows.size() > 4);
  BOOST_TEST(rows[0].step == 0u);
  BOOST_TEST(rows[0].w == 0.0);
  BOOST_TEST(rows[0].loss == 4 * 0.91, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rows[1].loss < rows[0].loss / 10);
  BOOST_TEST(std::abs(rows[4].w - 2) < 0.01 * 2);
  BOOST_TEST(rows.back().step + 1 == rows.size());
}

BOOST_AUTO_TEST_CASE(iterates_match_closed_form) {
  struct Setting {
    std::vector<std::string> arguments;
    Sums sums;
    double w0;
    double learning_rate;
  };
  const std::vector<std::string> hubble_with_lr_0_03 = [] {
    std::vector<std::string> arguments = hubble_columns;
    arguments.insert(arguments.end(), {"--lr", "0.03"});
    return arguments;
  }();
  const std::vector<Setting> settings = {
      {{}, builtin_sums(), 0, 0.4},
      {{"--w0", "0.2"}, builtin_sums(), 0.2, 0.4},
      {{"--w0", "-3.5", "--lr", "0.9"}, builtin_sums(), -3.5, 0.9},
      {hubble_with_lr_0_03, hubble_sums(), 0, 0.03},
  };
  const fs::path trace = scratch("closed_form_trace.csv");
  for (const Setting& setting : settings) {
    std::vector<std::string> arguments = setting.arguments;
    arguments.insert(arguments.end(), {"--trace", trace.string()});
    BOOST_TEST_CONTEXT("w0 " << setting.w0 << ", lr "
                             << setting.learning_rate) {
      const Run run = run_program(arguments);
      BOOST_TEST_REQUIRE(run.exit_code == exit_converged);
      const double minimum = setting.sums.xz / setting.sums.xx;
      const double factor = 1 - 2 * setting.learning_rate * setting.sums.xx;
      for (const TraceRow& row : read_trace(trace)) {
        const double expected =
            minimum -
            (minimum - setting.w0) * std::pow(factor, double(row.step));
        const double scale = std::max(std::abs(expected), std::abs(minimum));
        BOOST_TEST(std::abs(row.w - expected) <= 1e-12 * scale,
                   "step " << row.step << ": w " << row.w << ", closed form "
                           << expected);
        // dJ/dw = 2 * (w * sum(x^2) - sum(x*z)).
        const double gradient = 2 * (row.w * setting.sums.xx - setting.sums.xz);
        const double gradient_scale =
            2 * (std::abs(row.w) * setting.sums.xx + std::abs(setting.sums.xz));
        BOOST_TEST(std::abs(row.gradient - gradient) <= 1e-12 * gradient_scale,
                   "step " << row.step << ": gradient " << row.gradient
                           << ", expected " << gradient);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(large_lr_diverges) {
  const fs::path trace = scratch("diverging_trace.csv");
  const Run run = run_program({"--lr", "2", "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_diverged);
  BOOST_TEST(run.err == "");
  const std::string line = last_line(run.out);
  BOOST_TEST(line.starts_with("diverged at step 5 because the loss kept "
                              "growing"),
             line);
  BOOST_TEST(line.find("learning rate 2 is too large") != std::string::npos,
             line);
  // 1 / sum(x^2) = 1 / 0.91 = 1.0989.
  BOOST_TEST(line.find("lr < 1/sum(x^2) = 1.10") != std::string::npos, line);
  // A diverged run still writes its trace, one row per step.
  BOOST_TEST(read_trace(trace).size() == 6u);
}

BOOST_AUTO_TEST_CASE(huge_lr_gives_non_finite_loss) {
  const Run run = run_program({"--lr", "1e300"});
  BOOST_TEST(run.exit_code == exit_diverged);
  const std::string line = last_line(run.out);
  BOOST_TEST(line.find("the loss is not finite") != std::string::npos, line);
  BOOST_TEST(line.find("lr < 1/sum(x^2) = 1.10") != std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(tiny_lr_stops_at_max_steps) {
  const fs::path trace = scratch("crawling_trace.csv");
  const Run run = run_program(
      {"--lr", "1e-4", "--max-steps", "200", "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_not_converged);
  BOOST_TEST(run.err == "");
  const std::string line = last_line(run.out);
  BOOST_TEST(line.starts_with("did not converge within 200 steps"), line);
  const std::vector<TraceRow> rows = read_trace(trace);
  BOOST_TEST_REQUIRE(rows.size() == 201u);
  // Each step removes only 2 * 1e-4 * 0.91 = 1.8e-4 of the error, so after
  // 200 steps w = 2 * (1 - (1 - 1.8e-4)^200) = 0.072.
  BOOST_TEST(rows.back().w < 0.1);
  BOOST_TEST(rows.back().w > rows.front().w);
}

BOOST_AUTO_TEST_CASE(bad_input_gives_one_error_line) {
  struct Case {
    std::string name;
    std::string file_content;  // written to <name>.csv and passed as --data
    std::vector<std::string> arguments;
    std::string expected;  // text the error line must contain
  };
  const std::string missing = scratch("missing.csv").string();
  // clang-format off
  const std::vector<Case> cases = {
      {"missing_file", "", {"--data", missing},
       missing + ": cannot open file: No such file or directory"},
      {"bad_number", "x,z\n0.1,0.2\n0.2,0.4\nabc,0.6\n", {},
       "bad_number.csv:4: invalid number \"abc\" in column x"},
      {"overflowing_number", "d,v\n1,2\n3,1e999\n",
       {"--x-column", "d", "--z-column", "v"},
       "overflowing_number.csv:3: number \"1e999\" in column v is out of "
       "range: the largest double is about 1.8e308"},
      {"overflowing_negative_number", "x,z\n1,2\n-1e400,3\n", {},
       "overflowing_negative_number.csv:3: number \"-1e400\" in column x is "
       "out of range"},
      {"plus_minus_sign", "x,z\n+-1,2\n", {},
       "plus_minus_sign.csv:2: invalid number \"+-1\" in column x"},
      {"double_plus_sign", "x,z\n1,++2\n", {},
       "double_plus_sign.csv:2: invalid number \"++2\" in column z"},
      {"lone_plus_sign", "x,z\n1,+\n", {},
       "lone_plus_sign.csv:2: invalid number \"+\" in column z"},
      {"infinity_text", "x,z\n1,inf\n", {},
       "infinity_text.csv:2: invalid number \"inf\" in column z"},
      {"trailing_text", "x,z\n1,2x\n", {},
       "trailing_text.csv:2: invalid number \"2x\" in column z"},
      {"missing_value", "x,z\n1,2\n2,\n", {},
       "missing_value.csv:3: missing value in column z"},
      {"missing_column", "a,z\n1,2\n", {},
       "missing_column.csv:1: missing column \"x\" in the header"},
      {"short_row", "x,z\n1,2\n3\n", {},
       "short_row.csv:3: expected 2 fields as in the header, found 1"},
      {"empty_file", "", {}, "empty_file.csv: the file is empty"},
      {"blank_file", "\r\n\n", {}, "blank_file.csv: the file is empty"},
      {"header_only", "x,z\r\n\r\n", {},
       "header_only.csv: no data rows after the header line"},
      {"all_zero_x", "x,z\n0,1\n0,2\n", {}, "all_zero_x.csv: every x is 0"},
      {"empty_data_path", "", {"--data", ""},
       "invalid --data: the path is empty"},
      {"empty_x_column", "", {"--x-column", ""},
       "invalid --x-column: the column name is empty"},
      {"empty_z_column", "", {"--z-column", ""},
       "invalid --z-column: the column name is empty"},
      {"negative_learning_rate", "", {"--lr", "-0.1"},
       "invalid --lr -0.1: the learning rate must be a finite number > 0"},
      {"zero_learning_rate", "", {"--lr", "0"}, "invalid --lr 0"},
      {"nan_learning_rate", "", {"--lr", "nan"}, "invalid --lr nan"},
      {"infinite_learning_rate", "", {"--lr", "inf"}, "invalid --lr inf"},
      {"unparsable_learning_rate", "", {"--lr", "fast"},
       "the argument ('fast') for option '--lr' is invalid"},
      {"infinite_w0", "", {"--w0", "inf"}, "invalid --w0 inf"},
      {"negative_tolerance", "", {"--tolerance", "-1"},
       "invalid --tolerance -1"},
      {"negative_max_steps", "", {"--max-steps", "-1"},
       "invalid --max-steps -1"},
      {"unknown_option", "", {"--learning-rate", "0.1"},
       "unrecognised option '--learning-rate'"},
      {"stray_argument", "", {"data.csv"}, "too many positional options"},
  };
  // clang-format on
  const fs::path trace = scratch("error_trace.csv");
  const fs::path temporary_trace = scratch("error_trace.csv.tmp");
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.name) {
      std::vector<std::string> arguments = test.arguments;
      if (!test.file_content.empty() || test.name == "empty_file") {
        const fs::path data = scratch(test.name + ".csv");
        write_text(data, test.file_content);
        arguments.insert(arguments.end(), {"--data", data.string()});
      }
      arguments.insert(arguments.end(), {"--trace", trace.string()});
      const Run run = run_program(arguments);
      BOOST_TEST(run.exit_code == exit_invalid_input);
      check_error_line(run, "gradient_descent", test.expected);
      BOOST_TEST(!fs::exists(trace));
      BOOST_TEST(!fs::exists(temporary_trace));
    }
  }
}

BOOST_AUTO_TEST_CASE(error_keeps_existing_trace) {
  const fs::path trace = scratch("kept_trace.csv");
  write_text(trace, "previous run\n");
  const Run run = run_program({"--lr", "-1", "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(read_text(trace) == "previous run\n");
}

BOOST_AUTO_TEST_CASE(unwritable_trace_is_an_error) {
  const fs::path trace = scratch("no_such_directory/trace.csv");
  const Run run = run_program({"--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  // The temporary trace file is created before the run prints anything.
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err == "gradient_descent: " + trace.string() +
                            ": cannot create the trace file: No such file or "
                            "directory\n");
}

BOOST_AUTO_TEST_CASE(empty_trace_path_rejected) {
  const Run run = run_program({"--trace", ""});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err ==
             "gradient_descent: invalid --trace: the path is empty\n");
}

BOOST_AUTO_TEST_CASE(trace_over_data_rejected) {
  const std::string content = "x,z\n1,2\n";
  const fs::path data = scratch("same.csv");
  const fs::path hard_link = scratch("same_hard_link.csv");
  const fs::path temporary_data = scratch("input.csv.tmp");
  write_text(data, content);
  fs::create_hard_link(data, hard_link);
  write_text(temporary_data, content);
  struct Case {
    std::string name;
    fs::path data;
    fs::path trace;
    std::string role;  // the file named in the message
  };
  const std::vector<Case> cases = {
      {"same path", data, data, "it"},
      {"other spelling", data, ScratchDirectory::path() / "." / "same.csv",
       "it"},
      {"hard link", data, hard_link, "it"},
      {"temporary file", temporary_data, scratch("input.csv"),
       "its temporary file " + temporary_data.string()},
  };
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.name) {
      const Run run = run_program(
          {"--data", test.data.string(), "--trace", test.trace.string()});
      BOOST_TEST(run.exit_code == exit_invalid_input);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == "gradient_descent: invalid --trace " +
                                test.trace.string() + ": " + test.role +
                                " is the --data file " + test.data.string() +
                                "; choose another path\n");
      BOOST_TEST(read_text(test.data) == content);
    }
  }
  BOOST_TEST(!fs::exists(scratch("same.csv.tmp")));
  BOOST_TEST(!fs::exists(scratch("same_hard_link.csv.tmp")));
  BOOST_TEST(!fs::exists(scratch("input.csv")));
}

BOOST_AUTO_TEST_CASE(non_regular_trace_rejected) {
  const fs::path directory = scratch("trace_directory");
  const fs::path fifo = scratch("trace_fifo");
  const fs::path target = scratch("link_target.csv");
  const fs::path link = scratch("trace_link");
  const fs::path dangling_link = scratch("trace_dangling_link");
  const fs::path dangling_target = scratch("no_such_target");
  fs::create_directory(directory);
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  write_text(target, "kept\n");
  fs::create_symlink(target, link);
  fs::create_symlink(dangling_target, dangling_link);
  struct Case {
    fs::path trace;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {directory, "it is a directory"},
      {fifo, "it is not a regular file"},
      {link, "it is a symbolic link, not a regular file"},
      {dangling_link, "it is a symbolic link, not a regular file"},
  };
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.trace) {
      const Run run = run_program({"--trace", test.trace.string()});
      BOOST_TEST(run.exit_code == exit_invalid_input);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == "gradient_descent: cannot write the trace to " +
                                test.trace.string() + ": " + test.problem +
                                "\n");
      BOOST_TEST(!fs::exists(fs::symlink_status(test.trace.string() + ".tmp")));
    }
  }
  BOOST_TEST(fs::is_directory(fs::symlink_status(directory)));
  BOOST_TEST(fs::is_fifo(fs::symlink_status(fifo)));
  BOOST_TEST(fs::is_symlink(fs::symlink_status(link)));
  BOOST_TEST(read_text(target) == "kept\n");
  BOOST_TEST(fs::is_symlink(fs::symlink_status(dangling_link)));
  BOOST_TEST(!fs::exists(dangling_target));
}

BOOST_AUTO_TEST_CASE(non_regular_temporary_trace_rejected) {
  const fs::path trace = scratch("blocked.csv");
  const fs::path temporary = scratch("blocked.csv.tmp");
  const fs::path target = scratch("temporary_link_target.csv");
  write_text(target, "kept\n");
  const std::string prefix = "gradient_descent: cannot write the trace to " +
                             trace.string() + ": its temporary file " +
                             temporary.string();

  fs::create_directory(temporary);
  Run run = run_program({"--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err == prefix + " is a directory\n");
  BOOST_TEST(fs::is_directory(fs::symlink_status(temporary)));
  BOOST_TEST(!fs::exists(trace));

  fs::remove(temporary);
  fs::create_symlink(target, temporary);
  run = run_program({"--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err == prefix + " is a symbolic link, not a regular file\n");
  BOOST_TEST(fs::is_symlink(fs::symlink_status(temporary)));
  BOOST_TEST(read_text(target) == "kept\n");
  BOOST_TEST(!fs::exists(trace));
}

BOOST_AUTO_TEST_CASE(stale_temporary_trace_replaced) {
  const fs::path trace = scratch("stale.csv");
  const fs::path temporary = scratch("stale.csv.tmp");
  write_text(temporary, "left by an earlier run\n");
  const Run run = run_program({"--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  BOOST_TEST(read_trace(trace).size() == 13u);
  BOOST_TEST(!fs::exists(temporary));
}

BOOST_AUTO_TEST_CASE(non_finite_start_is_input_error) {
  struct Case {
    std::string name;
    std::string file_content;  // written to <name>.csv and passed as --data
    std::vector<std::string> arguments;
    std::string expected;
  };
  const std::string advice =
      ": the data or w0 are too large for double; rescale them\n";
  // (1e154)^2 = 1e308 is finite, but dJ/dw = -2 * 1e154 * 1e154 is not.
  // clang-format off
  const std::vector<Case> cases = {
      {"huge_w0", "", {"--w0", "1e160"},
       "the loss is not finite at the starting point w0 = 1e+160" + advice},
      {"huge_z", "x,z\n1,1e300\n", {},
       "the loss is not finite at the starting point w0 = 0" + advice},
      {"huge_gradient", "x,z\n1e154,1e154\n", {},
       "the gradient dJ/dw is not finite at the starting point w0 = 0" +
           advice},
  };
  // clang-format on
  const fs::path trace = scratch("non_finite_trace.csv");
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.name) {
      std::vector<std::string> arguments = test.arguments;
      if (!test.file_content.empty()) {
        const fs::path data = scratch(test.name + ".csv");
        write_text(data, test.file_content);
        arguments.insert(arguments.end(), {"--data", data.string()});
      }
      arguments.insert(arguments.end(), {"--trace", trace.string()});
      const Run run = run_program(arguments);
      BOOST_TEST(run.exit_code == exit_invalid_input);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == "gradient_descent: " + test.expected);
      BOOST_TEST(!fs::exists(trace));
      BOOST_TEST(!fs::exists(trace.string() + ".tmp"));
    }
  }
}

BOOST_AUTO_TEST_CASE(underflowing_numbers_read_as_zero) {
  // 4.9e-324 is the smallest subnormal double, and the other small values
  // round to +-0. So sum(x^2) = 5 and sum(x*z) = 2, and lr = 0.1 reaches
  // w* = 0.4 in one step.
  const fs::path data = scratch("underflow.csv");
  write_text(data, "x,z\n1,2\n2,1e-400\n+1e-400,-1e-400\n4.9e-324,0\n");
  const Run run = run_program({"--data", data.string(), "--lr", "0.1"});
  BOOST_TEST(run.exit_code == exit_converged, run.out << run.err);
  BOOST_TEST(run.err == "");
  BOOST_TEST(run.out.starts_with("4 points from "), run.out);
  BOOST_TEST(std::abs(final_w(run.out) - 0.4) <= 1e-12);
}

BOOST_AUTO_TEST_CASE(failed_stdout_write_is_an_error) {
  const fs::path trace = scratch("unprinted_trace.csv");
  write_text(trace, "previous run\n");
  // The 200-step run prints about 17 KB, more than the 4 KB stdio buffer of
  // glibc for a pipe, so a write fails during the run and not only at the
  // final flush.
  const std::vector<std::vector<std::string>> argument_lists = {
      {},
      {"--help"},
      {"--lr", "1e-4", "--max-steps", "200", "--trace", trace.string()},
  };
  for (const std::vector<std::string>& arguments : argument_lists) {
    BOOST_TEST_CONTEXT("arguments " << arguments.size()) {
      const Run run = run_with_broken_pipe(arguments);
      BOOST_TEST(run.exit_code == exit_invalid_input);
      BOOST_TEST(run.err ==
                 "gradient_descent: cannot write the output: Broken pipe\n");
    }
  }
  BOOST_TEST(read_text(trace) == "previous run\n");
  BOOST_TEST(!fs::exists(trace.string() + ".tmp"));

  const Run run = run_program({}, Stdout::closed);
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(
      run.err ==
      "gradient_descent: cannot write the output: Bad file descriptor\n");
}

BOOST_AUTO_TEST_CASE(crlf_quotes_and_blank_lines_accepted) {
  const fs::path data = scratch("windows.csv");
  write_text(data,
             "\xEF\xBB\xBF\"label\", x ,\"z\"\r\n"
             "\"a, b\",0.1,0.3\r\n"
             "\"say \"\"c\"\"\",0.2,0.6\r\n"
             "\r\n"
             "d,+0.3,0.9\r\n"
             "\r\n"
             "\r\n");
  const Run run = run_program({"--data", data.string(), "--lr", "2"});
  BOOST_TEST(run.exit_code == exit_converged, run.out << run.err);
  BOOST_TEST(run.err == "");
  BOOST_TEST(run.out.starts_with("3 points from "), run.out);
  // |dJ/dw| = 2 * 0.14 * |w - 3| <= 1e-6.
  BOOST_TEST(std::abs(final_w(run.out) - 3) <= 1e-6 / (2 * 0.14));
}

BOOST_AUTO_TEST_CASE(hubble_diverges_at_default_lr) {
  const Run run = run_program(hubble_columns);
  BOOST_TEST(run.exit_code == exit_diverged);
  BOOST_TEST(run.err == "");
  const std::string line = last_line(run.out);
  BOOST_TEST(line.find("learning rate 0.4 is too large") != std::string::npos,
             line);
  BOOST_TEST(line.find("lr < 1/sum(x^2) = 0.0339") != std::string::npos, line);
  BOOST_TEST(1 / hubble_sums().xx == 0.0339,
             boost::test_tools::tolerance(0.005));
}

BOOST_AUTO_TEST_CASE(hubble_converges_with_stable_lr) {
  const Sums sums = hubble_sums();
  const double hubble_constant = sums.xz / sums.xx;
  BOOST_TEST(std::abs(hubble_constant - 423.94) < 0.005);
  for (const char* learning_rate : {"0.03", "0.015"}) {
    BOOST_TEST_CONTEXT("lr " << learning_rate) {
      std::vector<std::string> arguments = hubble_columns;
      arguments.insert(arguments.end(), {"--lr", learning_rate});
      const Run run = run_program(arguments);
      BOOST_TEST(run.exit_code == exit_converged);
      BOOST_TEST(run.err == "");
      BOOST_TEST(relative_close(final_w(run.out), hubble_constant, 1e-9),
                 "final w " << final_w(run.out) << ", least squares "
                            << hubble_constant);
    }
  }
}

BOOST_AUTO_TEST_CASE(help_lists_every_option) {
  const Run run = run_program({"--help"});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.err == "");
  for (const char* option :
       {"--help", "--data FILE", "--x-column NAME (=x)", "--z-column NAME (=z)",
        "--w0 W (=0)", "--lr RATE (=0.4)", "--tolerance TOL (=1e-6)",
        "--max-steps N (=1000)", "--trace FILE", "--plot FILE", "--explain",
        "--graph FILE", "Exit status"}) {
    BOOST_TEST(run.out.find(option) != std::string::npos,
               "help does not contain " << option);
  }
}

BOOST_AUTO_TEST_CASE(
    plot_draws_both_panels,
    *boost::unit_test::precondition(adjoint::testing::gnuplot_installed{})) {
  // The left panel has a line for each of the first 4 steps, one element
  // for the fading lines after them, the final line and the data. The
  // right panel has the parabola, the arrows, the points, their labels, the
  // final point and the key entry of w*.
  struct Case {
    std::string name;
    std::vector<std::string> arguments;
    int exit_code;
    std::size_t left_elements;
    std::size_t right_elements;
    std::string final_title;  // key text of the final line
  };
  std::vector<std::string> hubble = hubble_columns;
  hubble.insert(hubble.end(), {"--lr", "0.015"});
  const std::vector<Case> cases = {
      {"default", {}, exit_converged, 7, 6, "w12 = 2, final"},
      {"diverging", {"--lr", "1.5"}, exit_diverged, 7, 6, "w5 = 32.99, final"},
      {"hubble", hubble, exit_converged, 7, 6, "w12 = 423.9, final"},
      // Steps 41 to 999 are not drawn.
      {"crawling",
       {"--lr", "0.001"},
       exit_not_converged,
       7,
       6,
       "w1000 = 1.676, final"},
      // No fading lines.
      {"two_steps",
       {"--max-steps", "2"},
       exit_not_converged,
       4,
       6,
       "w2 = 1.852, final"},
      // One point and no arrow.
      {"no_step",
       {"--max-steps", "0"},
       exit_not_converged,
       2,
       5,
       "w0 = 0, final"},
  };
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.name) {
      const fs::path figure = scratch(test.name + ".svg");
      const fs::path trace = scratch(test.name + "_plotted_trace.csv");
      std::vector<std::string> arguments = test.arguments;
      arguments.insert(arguments.end(),
                       {"--plot", figure.string(), "--trace", trace.string()});
      const Run run = run_program(arguments);
      BOOST_TEST(run.exit_code == test.exit_code);
      BOOST_TEST(run.err == "");
      const adjoint::testing::SvgFigure svg =
          adjoint::testing::read_svg(figure);
      BOOST_TEST(svg.root == "svg");
      BOOST_TEST(svg.plots.size() == 2u);
      BOOST_TEST(svg.elements_of('a') == test.left_elements);
      BOOST_TEST(svg.elements_of('b') == test.right_elements);
      BOOST_TEST(svg.titles.count(test.final_title) == 1u, test.final_title);
      BOOST_TEST(svg.titles.count("data") == 1u);
      BOOST_TEST(!fs::exists(figure.string() + ".tmp"));
      BOOST_TEST(fs::exists(trace));
    }
  }
}

BOOST_AUTO_TEST_CASE(
    plot_writes_png,
    *boost::unit_test::precondition(adjoint::testing::gnuplot_installed{})) {
  const fs::path figure = scratch("figure.PNG");
  const Run run = run_program({"--lr", "1.5", "--plot", figure.string()});
  BOOST_TEST(run.exit_code == exit_diverged);
  BOOST_TEST(run.err == "");
  const auto [width, height] = adjoint::testing::png_size(figure);
  BOOST_TEST(width == 1200u);
  BOOST_TEST(height == 480u);
  BOOST_TEST(!fs::exists(figure.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(plot_without_gnuplot_fails_early) {
  const fs::path empty_directory = scratch("no_programs");
  fs::create_directories(empty_directory);
  const std::vector<std::string> environment = {"PATH=" +
                                                empty_directory.string()};
  const fs::path figure = scratch("unplotted.svg");
  const fs::path trace = scratch("unplotted_trace.csv");
  const Run run =
      program.run({"--plot", figure.string(), "--trace", trace.string()},
                  Stdout::captured, environment);
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err ==
             "gradient_descent: --plot needs gnuplot, which was not found on "
             "PATH; install the Debian package gnuplot-nox\n");
  BOOST_TEST(!fs::exists(figure));
  BOOST_TEST(!fs::exists(figure.string() + ".tmp"));
  BOOST_TEST(!fs::exists(trace));
  BOOST_TEST(!fs::exists(trace.string() + ".tmp"));

  // Without --plot the program needs nothing on PATH.
  const Run unplotted = program.run({}, Stdout::captured, environment);
  BOOST_TEST(unplotted.exit_code == exit_converged);
  BOOST_TEST(unplotted.err == "");
}

BOOST_AUTO_TEST_CASE(bad_plot_path_rejected) {
  struct Case {
    std::string name;
    std::vector<std::string> arguments;
    std::string expected;  // the error line without "gradient_descent: "
  };
  const std::string pdf = scratch("figure.pdf").string();
  const std::string bare = scratch("figure").string();
  const std::string shared = scratch("shared.svg").string();
  const std::vector<Case> cases = {
      {"pdf",
       {"--plot", pdf},
       "invalid --plot " + pdf +
           ": unsupported extension .pdf; use .svg or "
           ".png"},
      {"no_extension",
       {"--plot", bare},
       "invalid --plot " + bare +
           ": the file name has no extension; use "
           ".svg or .png, which select the format"},
      {"empty", {"--plot", ""}, "invalid --plot: the path is empty"},
      {"same_as_trace",
       {"--plot", shared, "--trace", shared},
       "invalid --plot " + shared +
           ": it would write the same file as "
           "--trace " +
           shared + "; choose another path"},
  };
  for (const Case& test : cases) {
    BOOST_TEST_CONTEXT(test.name) {
      const Run run = run_program(test.arguments);
      BOOST_TEST(run.exit_code == exit_invalid_input);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == "gradient_descent: " + test.expected + "\n");
      BOOST_TEST(!fs::exists(pdf));
      BOOST_TEST(!fs::exists(shared));
      BOOST_TEST(!fs::exists(shared + ".tmp"));
    }
  }
}

BOOST_AUTO_TEST_CASE(
    unwritable_plot_is_an_error,
    *boost::unit_test::precondition(adjoint::testing::gnuplot_installed{})) {
  const fs::path figure = scratch("no_such_directory/figure.svg");
  const fs::path trace = scratch("unwritten_trace.csv");
  const Run run =
      run_program({"--plot", figure.string(), "--trace", trace.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  // The temporary figure file is created before the run prints anything.
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err == "gradient_descent: " + figure.string() +
                            ": cannot create the figure file: No such file "
                            "or directory\n");
  BOOST_TEST(!fs::exists(trace));
  BOOST_TEST(!fs::exists(trace.string() + ".tmp"));
}

/// Returns a directory that contains only an executable "gnuplot": a shell
/// script with the commands `body`, which the tests put on PATH in place
/// of gnuplot.
fs::path fake_gnuplot(const std::string& name, const std::string& body) {
  const fs::path directory = scratch(name);
  fs::create_directories(directory);
  write_text(directory / "gnuplot", "#!/bin/sh\n" + body);
  fs::permissions(directory / "gnuplot", fs::perms::owner_all);
  return directory;
}

BOOST_AUTO_TEST_CASE(gnuplot_error_gives_one_line) {
  // gnuplot 5.4 echoes the failing command and a caret before its message.
  const fs::path directory =
      fake_gnuplot("failing_gnuplot",
                   "echo '' >&2\n"
                   "echo 'plot foo(x)' >&2\n"
                   "echo '     ^' >&2\n"
                   "echo '\"/tmp/x/figure.gp\" line 7: undefined function: "
                   "foo' >&2\n"
                   "exit 1\n");
  const fs::path figure = scratch("failed.svg");
  const fs::path trace = scratch("failed_trace.csv");
  write_text(figure, "previous figure\n");
  const Run run =
      program.run({"--plot", figure.string(), "--trace", trace.string()},
                  Stdout::captured, {"PATH=" + directory.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  // The run itself completed, so its output is there.
  BOOST_TEST(run.out.find("converged after 12 steps") != std::string::npos);
  BOOST_TEST(run.err == "gradient_descent: gnuplot failed to draw " +
                            figure.string() +
                            " (exit status 1): script line 7: undefined "
                            "function: foo\n");
  BOOST_TEST(read_text(figure) == "previous figure\n");
  BOOST_TEST(!fs::exists(figure.string() + ".tmp"));
  // The trace is committed only with the figure.
  BOOST_TEST(!fs::exists(trace));
  BOOST_TEST(!fs::exists(trace.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(empty_figure_is_an_error) {
  const fs::path directory = fake_gnuplot("silent_gnuplot", "exit 0\n");
  const fs::path figure = scratch("empty.svg");
  const Run run = program.run({"--plot", figure.string()}, Stdout::captured,
                              {"PATH=" + directory.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(run.err ==
             "gradient_descent: gnuplot exited with status 0 but wrote an "
             "empty figure for " +
                 figure.string() + "\n");
  BOOST_TEST(!fs::exists(figure));
  BOOST_TEST(!fs::exists(figure.string() + ".tmp"));
}

// --explain on the built-in sample (x = 0.1, ..., 0.6, z = 2x, w0 = 0). By
// hand, point i has residual r_i = 2 x_i, so its square node passes
// 2 r_i = 4 x_i to the subtract node, which passes -4 x_i to the multiply
// node, which adds -4 x_i * x_i to w: dJ/dw = -4 * 0.91 = -3.64.
BOOST_AUTO_TEST_CASE(explain_traces_first_step) {
  const Run run = run_program({"--explain"});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  const std::vector<std::string> lines = adjoint::testing::lines_of(run.out);
  BOOST_TEST_REQUIRE(lines.size() > 70u);
  BOOST_TEST(lines[0] ==
             "Backpropagation of step 0: J(w) = sum((z - w*x)^2) at w = 0, "
             "one node per operation.");
  BOOST_TEST(lines[6] == "   1  n24   add         3.64        1");
  const auto contains = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  const double x[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t subtract = 4 * i + 2;  // n0 is w
    BOOST_TEST_INFO("point " << i);
    BOOST_TEST(contains(fmt::format("            n{} += 1 * {:.6g} = {:.6g}",
                                    subtract, 4 * x[i], 4 * x[i])));
    BOOST_TEST(contains(fmt::format("            n{} += {:.6g} * (-1) = {:.6g}",
                                    subtract - 1, 4 * x[i], -4 * x[i])));
    BOOST_TEST(contains(fmt::format("            w += {:.6g} * {:.6g} = {:.6g}",
                                    -4 * x[i], x[i], -4 * x[i] * x[i])));
  }
  BOOST_TEST(contains("  25  w     parameter      0    -3.64"));
  BOOST_TEST(contains("  w = -3.64"));
  // The fit follows, unchanged, and its first row has the same gradient.
  const auto header = std::find_if(
      lines.begin(), lines.end(),
      [](const std::string& line) { return line.starts_with(" step"); });
  BOOST_TEST_REQUIRE((header != lines.end() && header + 1 != lines.end()));
  BOOST_TEST(header[1].ends_with("-3.64"), header[1]);
  BOOST_TEST(last_line(run.out).starts_with("converged after 12 steps"));
}

BOOST_AUTO_TEST_CASE(graph_writes_dot_text) {
  const fs::path graph = scratch("step0.dot");
  const Run run = run_program({"--graph", graph.string(), "--w0", "0.5"});
  BOOST_TEST(run.exit_code == exit_converged);
  BOOST_TEST(run.err == "");
  const std::string dot = read_text(graph);
  BOOST_TEST(dot.starts_with("digraph adjoint {\n"));
  BOOST_TEST(dot.ends_with("}\n"));
  // At w = 0.5 the residuals are 1.5 x_i and dJ/dw = -3 * 0.91 = -2.73.
  BOOST_TEST(dot.find("  n0 [label=\"w\\nparameter\\nvalue 0.5\\ngrad "
                      "-2.73\"") != std::string::npos,
             dot);
  BOOST_TEST(
      dot.find("  n3 [label=\"n3\\nsquare\\nvalue 0.0225\\ngrad 1\"];") !=
          std::string::npos,
      dot);
  // 25 nodes and 29 edges: four per point and one from each add to the next.
  const std::vector<std::string> lines = adjoint::testing::lines_of(dot);
  BOOST_TEST(
      std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
        return line.find("[label=") != std::string::npos &&
               line.find("->") == std::string::npos;
      }) == 25);
  BOOST_TEST(
      std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
        return line.find(" -> ") != std::string::npos;
      }) == 29);
  BOOST_TEST(!fs::exists(graph.string() + ".tmp"));
}

BOOST_AUTO_TEST_CASE(
    graph_renders_with_graphviz,
    *boost::unit_test::precondition(adjoint::testing::graphviz_installed{})) {
  const fs::path graph = scratch("hubble.dot");
  const fs::path svg = scratch("hubble.svg");
  std::vector<std::string> arguments = hubble_columns;
  arguments.insert(arguments.end(),
                   {"--lr", "0.015", "--graph", graph.string()});
  BOOST_TEST_REQUIRE(run_program(arguments).exit_code == exit_converged);
  const std::string command =
      "dot -Tsvg " + adjoint::testing::shell_quote(graph.string()) + " -o " +
      adjoint::testing::shell_quote(svg.string());
  BOOST_TEST_REQUIRE(std::system(command.c_str()) == 0);
  BOOST_TEST(adjoint::testing::read_svg(svg).root == "svg");
  // 24 points: w and four nodes per point.
  BOOST_TEST(read_text(svg).find("n96") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_graph_path_rejected) {
  const fs::path trace = scratch("graph_and_trace.csv");
  const Run same =
      run_program({"--trace", trace.string(), "--graph", trace.string()});
  BOOST_TEST(same.exit_code == exit_invalid_input);
  check_error_line(same, "gradient_descent",
                   "invalid --graph " + trace.string() +
                       ": it would write the same file as --trace " +
                       trace.string() + "; choose another path");
  BOOST_TEST(!fs::exists(trace));

  const Run empty = run_program({"--graph", ""});
  BOOST_TEST(empty.exit_code == exit_invalid_input);
  check_error_line(empty, "gradient_descent",
                   "invalid --graph: the path is empty");

  const fs::path missing = scratch("no/such/dir/graph.dot");
  const Run unwritable =
      run_program({"--graph", missing.string(), "--explain"});
  BOOST_TEST(unwritable.exit_code == exit_invalid_input);
  BOOST_TEST(unwritable.out == "");
  BOOST_TEST(unwritable.err.find("graph") != std::string::npos, unwritable.err);
  BOOST_TEST(!fs::exists(missing));
}

BOOST_AUTO_TEST_CASE(graph_kept_on_a_later_error) {
  // The graph is committed at the end with the trace and the figure, so a
  // figure that gnuplot fails to draw leaves an existing graph unchanged.
  const fs::path directory = fake_gnuplot("failing_gnuplot_for_graph",
                                          "echo 'line 1: bad' >&2\nexit 1\n");
  const fs::path graph = scratch("kept.dot");
  write_text(graph, "previous graph\n");
  const Run run = program.run(
      {"--graph", graph.string(), "--plot", scratch("kept.svg").string()},
      Stdout::captured, {"PATH=" + directory.string()});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  BOOST_TEST(read_text(graph) == "previous graph\n");
  BOOST_TEST(!fs::exists(graph.string() + ".tmp"));
}
