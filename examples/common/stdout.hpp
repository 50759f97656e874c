#pragma once

// Writes to stdout and reports a failed write, such as to a full disk or a
// closed pipe, as an error instead of losing the output silently. Uses
// POSIX calls.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace examples {

/// Returns the error for a failed write to stdout. `error` is an errno
/// value, or 0 when it is unknown.
inline std::runtime_error output_error(int error) {
  return std::runtime_error(
      fmt::format("cannot write the output: {}",
                  error != 0 ? std::strerror(error) : "unknown error"));
}

/// Raises output_error() if file descriptor 1 is closed. Call it before
/// opening any file: the first file opened would otherwise get descriptor
/// 1, and the text meant for stdout would go into that file.
inline void check_stdout_open() {
  if (::fcntl(STDOUT_FILENO, F_GETFD) == -1 && errno == EBADF) {
    throw output_error(EBADF);
  }
}

/// Prints to stdout like fmt::print. Raises output_error() when the write
/// fails.
template <class... Args>
void print_output(fmt::format_string<Args...> format, Args&&... args) {
  try {
    fmt::print(format, std::forward<Args>(args)...);
  } catch (const std::system_error& error) {
    throw output_error(error.code().value());
  }
}

/// Writes the buffered output. Raises output_error() if that or any earlier
/// write to stdout failed.
inline void flush_output() {
  errno = 0;
  const bool flush_failed = std::fflush(stdout) != 0;
  const int error = errno;
  if (flush_failed || std::ferror(stdout) != 0) throw output_error(error);
}

}  // namespace examples
