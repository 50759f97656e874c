#pragma once

// A file that an example program writes in full or not at all, such as the
// --trace CSV file.

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/csv.hpp"

namespace examples {

/// The option and the kind of content of an OutputFile, for its error
/// messages: {"--trace", "trace"} gives "invalid --trace FILE: ..." and
/// "cannot create the trace file".
struct OutputRole {
  std::string_view option;
  std::string_view content;
};

// The checks below name the option's value `destination` in their message.
// `role` names the file that failed: "it" for `destination` itself, or "its
// temporary file <destination>.tmp".

/// Raises input_error if `path` exists and is not a regular file.
inline void reject_non_regular_file(const std::filesystem::path& path,
                                    const std::string& destination,
                                    const std::string& role,
                                    const OutputRole& output) {
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
  throw input_error(fmt::format("cannot write the {} to {}: {} {}",
                                output.content, destination, role, problem));
}

/// Raises input_error if `path` is the same file as `data`, also through a
/// hard link or another spelling of the path. A file that does not exist
/// yet is never the same.
inline void reject_data_file(const std::filesystem::path& path,
                             const std::string& destination,
                             const std::string& role, const std::string& data,
                             const OutputRole& output) {
  std::error_code ignored;
  if (data.empty() || !std::filesystem::equivalent(path, data, ignored)) {
    return;
  }
  throw input_error(fmt::format(
      "invalid {} {}: {} is the --data file {}; choose another path",
      output.option, destination, role, data));
}

/// Returns whether two destinations of OutputFile would write the same file:
/// the same path, or one is the other's temporary file "<path>.tmp". Compares
/// the absolute paths with "." and ".." removed, and existing files also
/// through hard links and symbolic links in the directories.
inline bool same_destination(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  const auto resolved = [](const fs::path& path, std::error_code& error) {
    // weakly_canonical() leaves a relative path relative when its first
    // component does not exist, so make the path absolute first.
    const fs::path absolute = fs::absolute(path, error);
    return error ? absolute : fs::weakly_canonical(absolute, error);
  };
  const auto same = [&](const fs::path& x, const fs::path& y) {
    std::error_code error;
    if (fs::equivalent(x, y, error)) return true;
    const fs::path resolved_x = resolved(x, error);
    if (error) return false;
    const fs::path resolved_y = resolved(y, error);
    return !error && resolved_x == resolved_y;
  };
  return same(a, b) || same(a + ".tmp", b) || same(a, b + ".tmp");
}

/// Raises input_error when `path`, the value of `option`, would write the
/// same file as `other_path`, the value of `other_option` (see
/// same_destination). An empty path writes nothing, so it never clashes.
inline void reject_same_destination(std::string_view option,
                                    const std::string& path,
                                    std::string_view other_option,
                                    const std::string& other_path) {
  if (path.empty() || other_path.empty() ||
      !same_destination(path, other_path)) {
    return;
  }
  throw input_error(fmt::format(
      "invalid {} {}: it would write the same file as {} {}; choose another "
      "path",
      option, path, other_option, other_path));
}

namespace detail {

// The temporary files being written, removed by a signal that ends the
// program (SIGINT, SIGTERM, SIGHUP) so that an interrupted run leaves no
// partial file. The slots hold pointers to strings that their OutputFile
// keeps unchanged while registered.
inline std::array<std::atomic<const char*>, 16> pending_files{};

extern "C" inline void remove_pending_files(int signal_number) {
  for (std::atomic<const char*>& slot : pending_files) {
    if (const char* path = slot.load()) ::unlink(path);  // signal-safe
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

// Registers `path` for removal on a signal and returns its slot, or
// pending_files.size() when every slot is taken, in which case a signal
// leaves that file behind.
inline std::size_t register_pending_file(const char* path) {
  static const bool installed = [] {
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
      std::signal(signal_number, remove_pending_files);
    }
    return true;
  }();
  (void)installed;
  for (std::size_t i = 0; i < pending_files.size(); ++i) {
    const char* empty = nullptr;
    if (pending_files[i].compare_exchange_strong(empty, path)) return i;
  }
  return pending_files.size();
}

inline void unregister_pending_file(std::size_t slot) {
  if (slot < pending_files.size()) pending_files[slot].store(nullptr);
}

}  // namespace detail

/// A file written to "<path>.tmp" and renamed to `path` by commit().
///
/// The destructor removes the temporary file unless commit() succeeded, so
/// an error never leaves a partial file at `path`, and an existing file
/// there stays unchanged. SIGINT, SIGTERM and SIGHUP remove it too. An
/// empty path writes nothing.
class OutputFile {
 public:
  /// Checks the destination and creates the temporary file, so that every
  /// problem with `path` shows before the run. Raises input_error when
  /// `path` or "<path>.tmp" is the file `data_path` or is not a regular file
  /// (a directory, a symbolic link, a FIFO, ...). Also raises it when the
  /// temporary file cannot be created. An existing regular "<path>.tmp" is
  /// replaced, whichever program wrote it.
  OutputFile(std::string path, const std::string& data_path, OutputRole role)
      : path_(std::move(path)), role_(role) {
    if (path_.empty()) return;
    const std::string temporary = path_ + ".tmp";
    const std::string temporary_role =
        fmt::format("its temporary file {}", temporary);
    reject_data_file(path_, path_, "it", data_path, role_);
    reject_non_regular_file(path_, path_, "it", role_);
    reject_data_file(temporary, path_, temporary_role, data_path, role_);
    reject_non_regular_file(temporary, path_, temporary_role, role_);

    std::error_code error;
    std::filesystem::remove(temporary, error);
    if (error) {
      throw input_error(
          fmt::format("invalid {} {}: cannot replace its temporary file {}: {}",
                      role_.option, path_, temporary, error.message()));
    }
    // "x" fails if the file exists, so a file or symbolic link created at
    // `temporary` since the checks above is never written through.
    file_ = std::fopen(temporary.c_str(), "wx");
    if (file_ == nullptr) {
      const int open_error = errno;
      throw input_error(fmt::format("{}: cannot create the {} file: {}", path_,
                                    role_.content, std::strerror(open_error)));
    }
    temporary_ = temporary;
    pending_slot_ = detail::register_pending_file(temporary_.c_str());
  }

  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  ~OutputFile() { discard(); }

  /// Whether the file is written at all, that is, whether `path` is not
  /// empty.
  bool enabled() const { return !path_.empty(); }

  /// Appends `text`. Raises input_error on a failed write, such as on a full
  /// disk. Does nothing for an empty path.
  void write(std::string_view text) {
    if (file_ == nullptr) return;
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) {
      const int error = errno;
      throw input_error(fmt::format("{}: cannot write the {} file: {}",
                                    temporary_, role_.content,
                                    std::strerror(error)));
    }
  }

  /// Closes the temporary file and renames it to the requested path.
  void commit() {
    if (file_ == nullptr) return;
    const bool write_failed = std::ferror(file_) != 0;
    const bool close_failed = std::fclose(file_) != 0;
    file_ = nullptr;
    if (write_failed || close_failed) {
      throw input_error(fmt::format("{}: failed to write the {} file",
                                    temporary_, role_.content));
    }
    std::error_code error;
    std::filesystem::rename(temporary_, path_, error);
    if (error) {
      throw input_error(fmt::format("{}: cannot write the {} file: {}", path_,
                                    role_.content, error.message()));
    }
    detail::unregister_pending_file(pending_slot_);
    temporary_.clear();
  }

 private:
  /// Closes and removes the temporary file unless commit() renamed it.
  void discard() {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
    if (!temporary_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(temporary_, ignored);
      detail::unregister_pending_file(pending_slot_);
    }
  }

  std::string path_;
  OutputRole role_;
  std::string temporary_;  // empty once renamed, or without a path
  std::FILE* file_ = nullptr;
  std::size_t pending_slot_ = detail::pending_files.size();  // none
};

}  // namespace examples
