#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "csv.hpp"

namespace gradient_descent {

// The checks below name the --trace value `destination` in their message.
// `role` names the file that failed: "it" for `destination` itself, or "its
// temporary file <destination>.tmp".

/// Raises input_error if `path` exists and is not a regular file.
inline void reject_non_regular_file(const std::filesystem::path& path,
                                    const std::string& destination,
                                    const std::string& role) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  const fs::file_status status = fs::symlink_status(path, ignored);
  std::string problem;
  if (fs::is_directory(status)) {
    problem = "is a directory";
  } else if (fs::is_symlink(status)) {
    problem = "is a symbolic link, not a regular file";
  } else if (fs::exists(status) && !fs::is_regular_file(status)) {
    problem = "is not a regular file";
  } else {
    return;
  }
  throw input_error(fmt::format("cannot write the trace to {}: {} {}",
                                destination, role, problem));
}

/// Raises input_error if `path` is the same file as `data`, also through a
/// hard link or another spelling of the path. A file that does not exist
/// yet is never the same.
inline void reject_data_file(const std::filesystem::path& path,
                             const std::string& destination,
                             const std::string& role, const std::string& data) {
  std::error_code ignored;
  if (data.empty() || !std::filesystem::equivalent(path, data, ignored)) {
    return;
  }
  throw input_error(fmt::format(
      "invalid --trace {}: {} is the --data file {}; choose another path",
      destination, role, data));
}

/// The --trace CSV file, with columns step,w,loss,gradient.
///
/// Rows go to "<path>.tmp", which commit() renames to `path`. The destructor
/// removes the temporary file unless commit() succeeded, so an error never
/// leaves a partial trace at `path`. An empty path writes nothing.
class TraceFile {
 public:
  /// Checks the destination and creates the temporary file, so that every
  /// problem with `path` shows before the run. Raises input_error when
  /// `path` or "<path>.tmp" is the file `data_path` or is not a regular file
  /// (a directory, a symbolic link, a FIFO, ...). Also raises it when the
  /// temporary file cannot be created. An existing regular "<path>.tmp" is
  /// replaced, whichever program wrote it.
  TraceFile(std::string path, const std::string& data_path)
      : path_(std::move(path)) {
    if (path_.empty()) return;
    const std::string temporary = path_ + ".tmp";
    const std::string temporary_role =
        fmt::format("its temporary file {}", temporary);
    reject_data_file(path_, path_, "it", data_path);
    reject_non_regular_file(path_, path_, "it");
    reject_data_file(temporary, path_, temporary_role, data_path);
    reject_non_regular_file(temporary, path_, temporary_role);

    std::error_code error;
    std::filesystem::remove(temporary, error);
    if (error) {
      throw input_error(fmt::format("{}: cannot remove the old file: {}",
                                    temporary, error.message()));
    }
    // "x" fails if the file exists, so a file or symbolic link created at
    // `temporary` since the checks above is never written through.
    file_ = std::fopen(temporary.c_str(), "wx");
    if (file_ == nullptr) {
      const int open_error = errno;
      throw input_error(fmt::format("{}: cannot create the trace file: {}",
                                    path_, std::strerror(open_error)));
    }
    temporary_ = temporary;
    try {
      write("step,w,loss,gradient\n");
    } catch (...) {
      // The destructor does not run when the constructor throws.
      discard();
      throw;
    }
  }

  TraceFile(const TraceFile&) = delete;
  TraceFile& operator=(const TraceFile&) = delete;

  ~TraceFile() { discard(); }

  /// Appends one row. `{}` prints the shortest text that reads back as the
  /// same double.
  void write_row(std::size_t step, double w, double loss, double gradient) {
    if (file_ == nullptr) return;
    write(fmt::format("{},{},{},{}\n", step, w, loss, gradient));
  }

  /// Closes the temporary file and renames it to the requested path.
  void commit() {
    if (file_ == nullptr) return;
    const bool write_failed = std::ferror(file_) != 0;
    const bool close_failed = std::fclose(file_) != 0;
    file_ = nullptr;
    if (write_failed || close_failed) {
      throw input_error(
          fmt::format("{}: failed to write the trace file", temporary_));
    }
    std::error_code error;
    std::filesystem::rename(temporary_, path_, error);
    if (error) {
      throw input_error(fmt::format("{}: cannot write the trace file: {}",
                                    path_, error.message()));
    }
    temporary_.clear();
  }

 private:
  /// Writes `text` to the temporary file. Raises input_error on a failed
  /// write, such as on a full disk.
  void write(std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) {
      const int error = errno;
      throw input_error(fmt::format("{}: cannot write the trace file: {}",
                                    temporary_, std::strerror(error)));
    }
  }

  /// Closes and removes the temporary file unless commit() renamed it.
  void discard() {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
    if (!temporary_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(temporary_, ignored);
    }
  }

  std::string path_;
  std::string temporary_;  // empty once renamed, or without a trace
  std::FILE* file_ = nullptr;
};

}  // namespace gradient_descent
