#pragma once

// Runs a built example program from a test: a scratch directory per test
// process, the program's exit status, stdout and stderr, and small file
// helpers.

#include <sys/wait.h>
#include <unistd.h>

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
  /// every write to stdout fails with EBADF.
  Run run(const std::vector<std::string>& arguments,
          Stdout output = Stdout::captured) const {
    const fs::path out = scratch("stdout.txt");
    const fs::path err = scratch("stderr.txt");
    fs::remove(out);
    std::string command = shell_quote(executable);
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

}  // namespace adjoint::testing
