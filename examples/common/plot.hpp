#pragma once

// Draws the figures of the example programs' --plot option with gnuplot.
//
// The program passes a gnuplot script and its data files. They are written
// to a private temporary directory, and gnuplot runs on the script there
// without a shell. Its figure replaces the requested file only after
// gnuplot exited with status 0 and wrote a non-empty file, so a failure
// never leaves a partial figure. Uses POSIX calls.

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/csv.hpp"
#include "common/output_file.hpp"

extern char** environ;  // POSIX: the environment that gnuplot inherits

namespace examples {

/// Returns whether `program` is an executable regular file in a directory
/// of PATH, searched as posix_spawnp() searches it: an empty entry is the
/// current directory, and an unset PATH means the system's default path.
inline bool is_on_path(std::string_view program) {
  std::string search_path;
  if (const char* value = std::getenv("PATH")) {
    search_path = value;
  } else {
    const std::size_t size = ::confstr(_CS_PATH, nullptr, 0);
    search_path.resize(size);
    if (size > 0) ::confstr(_CS_PATH, search_path.data(), size);
    search_path.resize(std::strlen(search_path.c_str()));
  }
  std::size_t position = 0;
  while (true) {
    const std::size_t colon = search_path.find(':', position);
    std::string directory = search_path.substr(position, colon - position);
    if (directory.empty()) directory = ".";
    const std::filesystem::path candidate =
        std::filesystem::path(directory) / program;
    std::error_code ignored;
    if (std::filesystem::is_regular_file(candidate, ignored) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return true;
    }
    if (colon == std::string::npos) return false;
    position = colon + 1;
  }
}

/// Returns the extension of `path` in lower case, with its dot: ".svg".
inline std::string lower_case_extension(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  for (char& c : extension) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return extension;
}

/// Size of every figure in pixels: two panels side by side.
inline constexpr int figure_width = 1200;
inline constexpr int figure_height = 480;

/// Returns the gnuplot `set terminal` command for a figure file, chosen by
/// its extension: .svg or .png, in upper or lower case. Raises input_error
/// naming `option` for any other extension.
///
/// NOTE: a gnuplot built without cairo has no pngcairo terminal, so it
/// fails on a .png figure with its own message. Debian's gnuplot-nox 5.4
/// depends on cairo.
inline std::string terminal_for(const std::string& path,
                                std::string_view option) {
  const std::string extension = lower_case_extension(path);
  // A viewer of the SVG file picks its own sans-serif font, and cairo
  // resolves "sans" through fontconfig, so neither needs a font file.
  if (extension == ".svg") {
    return fmt::format(
        "set terminal svg size {},{} dynamic enhanced font 'sans-serif,13' "
        "background '#ffffff'",
        figure_width, figure_height);
  }
  if (extension == ".png") {
    return fmt::format(
        "set terminal pngcairo size {},{} enhanced font 'sans,10' "
        "background '#ffffff'",
        figure_width, figure_height);
  }
  if (extension.empty()) {
    throw input_error(
        fmt::format("invalid {} {}: the file name has no extension; use .svg "
                    "or .png, which select the format",
                    option, path));
  }
  throw input_error(
      fmt::format("invalid {} {}: unsupported extension {}; use .svg or .png",
                  option, path, extension));
}

/// Raises input_error unless a figure can be drawn to `path`: its extension
/// must be .svg or .png, and gnuplot must be on PATH. Call it while
/// checking the options, so that a run that cannot draw its figure does no
/// work.
inline void check_figure_option(const std::string& path,
                                std::string_view option) {
  if (path.empty()) {
    throw input_error(fmt::format("invalid {}: the path is empty", option));
  }
  terminal_for(path, option);
  if (!is_on_path("gnuplot")) {
    throw input_error(
        fmt::format("{} needs gnuplot, which was not found on PATH; install "
                    "the Debian package gnuplot-nox",
                    option));
  }
}

/// Returns `text` as a gnuplot string literal. Single quotes keep
/// backslashes literal, and '' is a quote inside them.
inline std::string gnuplot_quote(std::string_view text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + "'";
}

/// Returns the message of gnuplot's error output `text`, for a one-line
/// error. gnuplot 5.4 echoes the failing command and a caret line before
/// the message `"SCRIPT" line N: message`, and prints warnings with the
/// same prefix followed by "warning:". Returns "script line N: message"
/// for the first such line that is not a warning, or else the first
/// non-blank line.
inline std::string gnuplot_error_message(const std::string& text) {
  std::istringstream lines(text);
  std::string first;
  for (std::string line; std::getline(lines, line);) {
    const std::string_view trimmed = trim(line);
    if (trimmed.empty()) continue;
    if (first.empty()) first = trimmed;
    const std::size_t at = trimmed.find("\" line ");
    if (trimmed.starts_with('"') && at != std::string_view::npos &&
        trimmed.find("warning:") == std::string_view::npos) {
      return fmt::format("script {}", trimmed.substr(at + 2));
    }
  }
  return first;
}

/// A directory that only this user can read, removed with its content by
/// the destructor.
///
/// NOTE: a signal that ends the program, such as SIGINT, leaves the
/// directory behind, because the signal handler of OutputFile removes
/// single files only. A figure's directory exists only during
/// Figure::draw().
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::error_code error;
    const std::filesystem::path parent =
        std::filesystem::temp_directory_path(error);
    if (error) {
      throw input_error(fmt::format(
          "cannot find the directory for temporary files: {}; set TMPDIR to "
          "a writable directory",
          error.message()));
    }
    // Absolute, because gnuplot runs an output name that starts with '|'
    // as a shell command, and a relative TMPDIR could start with one.
    std::string name =
        (std::filesystem::absolute(parent, error) / "adjoint-figure.XXXXXX")
            .string();
    if (::mkdtemp(name.data()) == nullptr) {
      const int mkdtemp_error = errno;
      throw input_error(
          fmt::format("cannot create a temporary directory in {}: {}",
                      parent.string(), std::strerror(mkdtemp_error)));
    }
    path_ = name;
  }

  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Writes `text` to a new file at `path`. Raises input_error on failure.
inline void write_file(const std::filesystem::path& path,
                       std::string_view text) {
  std::FILE* file = std::fopen(path.c_str(), "wx");
  if (file == nullptr) {
    const int open_error = errno;
    throw input_error(fmt::format("cannot create {}: {}", path.string(),
                                  std::strerror(open_error)));
  }
  int write_error = 0;
  if (std::fwrite(text.data(), 1, text.size(), file) != text.size()) {
    write_error = errno;
  }
  if (std::fclose(file) != 0 && write_error == 0) write_error = errno;
  if (write_error != 0) {
    throw input_error(fmt::format("cannot write {}: {}", path.string(),
                                  std::strerror(write_error)));
  }
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file),
          std::istreambuf_iterator<char>()};
}

/// Runs `gnuplot --default-settings -c SCRIPT DIRECTORY` without a shell,
/// with stdin and stdout on /dev/null and stderr in the file `log`, and
/// returns its wait status. --default-settings skips ~/.gnuplot, which
/// could change the figure. Raises input_error when gnuplot cannot start.
inline int run_gnuplot(const std::filesystem::path& script,
                       const std::filesystem::path& directory,
                       const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                     O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                     O_WRONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> words = {"gnuplot", "--default-settings", "-c",
                                    script.string(), directory.string()};
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);

  pid_t child = 0;
  const int spawn_error = ::posix_spawnp(&child, "gnuplot", &actions, nullptr,
                                         argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    throw input_error(
        fmt::format("cannot run gnuplot: {}", std::strerror(spawn_error)));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) == -1) {
    const int wait_error = errno;
    if (wait_error != EINTR) {
      throw input_error(fmt::format("cannot wait for gnuplot: {}",
                                    std::strerror(wait_error)));
    }
  }
  return status;
}

/// A data file of a gnuplot script: its file name, without a directory,
/// and its content.
struct PlotData {
  std::string name;
  std::string text;
};

/// A figure that gnuplot draws into a file, written in full or not at all.
/// An empty path draws nothing.
class Figure {
 public:
  /// Checks the destination as OutputFile does and creates "<path>.tmp",
  /// so that every problem with `path` shows before the run. `data_path`
  /// is the program's input file, which the figure must not replace.
  /// check_figure_option() has checked the extension and gnuplot.
  Figure(std::string path, const std::string& data_path,
         std::string_view option)
      : path_(std::move(path)),
        option_(option),
        file_(path_, data_path, {.option = option_, .content = "figure"}) {}

  bool enabled() const { return !path_.empty(); }

  /// Runs gnuplot on `script` with the files `data` and writes the figure
  /// to "<path>.tmp"; commit() renames it. The script refers to a data
  /// file as data('NAME'). The lines before it set the terminal and the
  /// output. Raises input_error when gnuplot fails or writes an empty
  /// file, with gnuplot's message on one line.
  void draw(std::string_view script, const std::vector<PlotData>& data) {
    if (!enabled()) return;
    const std::string terminal = terminal_for(path_, option_);
    const std::string output = "figure" + lower_case_extension(path_);
    const TemporaryDirectory directory;
    for (const PlotData& file : data) {
      write_file(directory.path() / file.name, file.text);
    }
    // The script reads its directory from ARG1, so that no path has to be
    // quoted inside it.
    const std::filesystem::path script_path = directory.path() / "figure.gp";
    write_file(script_path, fmt::format("directory = ARG1\n"
                                        "data(name) = directory.'/'.name\n"
                                        "{}\n"
                                        "set output directory.'/{}'\n"
                                        "{}",
                                        terminal, output, script));

    const std::filesystem::path log = directory.path() / "gnuplot.log";
    const int status = run_gnuplot(script_path, directory.path(), log);
    if (WIFSIGNALED(status)) {
      throw input_error(
          fmt::format("gnuplot was ended by signal {} ({}) while drawing {}",
                      WTERMSIG(status), strsignal(WTERMSIG(status)), path_));
    }
    const int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (exit_status != 0) {
      const std::string message = gnuplot_error_message(read_file(log));
      throw input_error(fmt::format(
          "gnuplot failed to draw {} (exit status {}): {}", path_, exit_status,
          message.empty() ? "it printed no message" : message));
    }
    const std::string figure = read_file(directory.path() / output);
    if (figure.empty()) {
      throw input_error(fmt::format(
          "gnuplot exited with status 0 but wrote an empty figure for {}",
          path_));
    }
    file_.write(figure);
    drawn_ = true;
  }

  /// Renames "<path>.tmp", written by draw(), to the requested path.
  /// Raises std::logic_error if draw() has not succeeded, which would
  /// leave an empty figure.
  void commit() {
    if (!enabled()) return;
    if (!drawn_) throw std::logic_error("Figure::commit() before draw()");
    file_.commit();
  }

 private:
  std::string path_;
  std::string option_;
  OutputFile file_;
  bool drawn_ = false;
};

}  // namespace examples
