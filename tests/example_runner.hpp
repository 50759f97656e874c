#pragma once

// Runs a built example program from a test: a scratch directory per test
// process, the program's exit status, stdout and stderr, small file
// helpers, and checks shared by the example tests.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace adjoint::testing {

namespace fs = std::filesystem;

/// Exit status and output of one run.
struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

enum class Stdout { captured, closed };

inline std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string shell_quote(const std::string& argument) {
  std::string quoted = "'";
  for (char c : argument) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

/// An example program under test and the scratch directory of this test
/// process, named after the test and the process id.
struct ExampleProgram {
  std::string executable;
  std::string test_name;

  fs::path scratch_directory() const {
    return fs::temp_directory_path() /
           (test_name + "." + std::to_string(::getpid()));
  }

  fs::path scratch(const std::string& name) const {
    return scratch_directory() / name;
  }

  void create_scratch() const {
    fs::remove_all(scratch_directory());
    fs::create_directories(scratch_directory());
  }

  void remove_scratch() const {
    std::error_code ignored;
    fs::remove_all(scratch_directory(), ignored);
  }

  /// Runs the program with `arguments` and captures its output and status.
  /// With Stdout::closed the program starts without file descriptor 1, so
  /// every write to stdout fails with EBADF. `environment` contains
  /// "NAME=value" entries that env(1) sets for the program, such as
  /// "PATH=/empty".
  Run run(const std::vector<std::string>& arguments,
          Stdout output = Stdout::captured,
          const std::vector<std::string>& environment = {}) const {
    const fs::path out = scratch("stdout.txt");
    const fs::path err = scratch("stderr.txt");
    fs::remove(out);
    std::string command;
    if (!environment.empty()) {
      // The shell finds env on its own PATH before env sets the new one,
      // and the program's path is absolute.
      command = "env";
      for (const std::string& entry : environment) {
        command += ' ';
        command += shell_quote(entry);
      }
      command += ' ';
    }
    command += shell_quote(executable);
    // Appending piece by piece avoids a false -Wrestrict error of GCC 12 on
    // `" " + std::string`.
    for (const std::string& argument : arguments) {
      command += ' ';
      command += shell_quote(argument);
    }
    if (output == Stdout::closed) {
      command += " >&-";
    } else {
      command += " >";
      command += shell_quote(out.string());
    }
    command += " 2>";
    command += shell_quote(err.string());
    const int status = std::system(command.c_str());
    Run result;
    if (status != -1 && WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    }
    result.out = read_text(out);
    result.err = read_text(err);
    return result;
  }
};

/// Splits `text` into lines without their line breaks.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) lines.push_back(line);
  return lines;
}

/// Reads a CSV file of numbers whose header line must be `expected_header`
/// and returns its rows. Fails the test when the file is missing, the
/// header differs or a row has another number of fields.
inline std::vector<std::vector<double>> read_numeric_csv(
    const fs::path& path, const std::string& expected_header) {
  BOOST_TEST_REQUIRE(fs::exists(path), path);
  const std::vector<std::string> lines = lines_of(read_text(path));
  BOOST_TEST_REQUIRE(!lines.empty(), path);
  BOOST_TEST_REQUIRE(lines[0] == expected_header, path);
  const auto columns = static_cast<std::size_t>(
      std::count(lines[0].begin(), lines[0].end(), ',') + 1);
  std::vector<std::vector<double>> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<double> values;
    std::istringstream fields(lines[i]);
    std::string field;
    while (std::getline(fields, field, ',')) values.push_back(std::stod(field));
    BOOST_TEST_REQUIRE(values.size() == columns, "bad row: " << lines[i]);
    rows.push_back(std::move(values));
  }
  return rows;
}

/// Checks that a failed run printed nothing on stdout and one line on
/// stderr that starts with "PROGRAM: " and contains `expected`.
inline void check_error_line(const Run& run, const std::string& program,
                             const std::string& expected) {
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err.starts_with(program + ": "), run.err);
  BOOST_TEST(std::count(run.err.begin(), run.err.end(), '\n') == 1, run.err);
  BOOST_TEST(run.err.ends_with("\n"), run.err);
  BOOST_TEST(run.err.find(expected) != std::string::npos,
             run.err << " does not contain " << expected);
}

}  // namespace adjoint::testing
