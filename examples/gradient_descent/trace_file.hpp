#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "csv.hpp"

namespace gradient_descent {

/// The --trace CSV file, with columns step,w,loss,gradient.
///
/// Rows go to "<path>.tmp", which commit() renames to `path`. The destructor
/// removes the temporary file unless commit() succeeded, so an error never
/// leaves a partial trace at `path`. An empty path writes nothing.
class TraceFile {
 public:
  explicit TraceFile(std::string path) : path_(std::move(path)) {
    if (path_.empty()) return;
    temporary_ = path_ + ".tmp";
    file_ = std::fopen(temporary_.c_str(), "w");
    if (file_ == nullptr) {
      const int error = errno;
      throw input_error(fmt::format("{}: cannot create the trace file: {}",
                                    path_, std::strerror(error)));
    }
    fmt::print(file_, "step,w,loss,gradient\n");
  }

  TraceFile(const TraceFile&) = delete;
  TraceFile& operator=(const TraceFile&) = delete;

  ~TraceFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!temporary_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(temporary_, ignored);
    }
  }

  /// Appends one row. `{}` prints the shortest text that reads back as the
  /// same double.
  void write_row(std::size_t step, double w, double loss, double gradient) {
    if (file_ == nullptr) return;
    fmt::print(file_, "{},{},{},{}\n", step, w, loss, gradient);
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
  std::string path_;
  std::string temporary_;  // empty once renamed, or without a trace
  std::FILE* file_ = nullptr;
};

}  // namespace gradient_descent
