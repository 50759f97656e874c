#pragma once

// Reads and writes the CSV files of the example programs.
//
// The first non-blank line is the header. Fields are separated by commas and
// may be quoted ("a,b", with "" for a literal quote) but may not span lines.
// Spaces around a field, a UTF-8 byte order mark, CRLF line endings and blank
// lines are ignored.

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace examples {

/// Error in an input file or option. The message names the file and line
/// where one applies.
class input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::string_view trim(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

/// Splits one CSV line into trimmed, unquoted fields. `where` is the
/// "file:line" prefix of the error raised for an unterminated quote.
inline std::vector<std::string> split_csv_line(std::string_view line,
                                               const std::string& where) {
  std::vector<std::string> fields;
  std::size_t position = 0;
  while (true) {
    std::string field;
    const std::size_t start = line.find_first_not_of(" \t", position);
    if (start != std::string_view::npos && line[start] == '"') {
      // A quoted field runs to the next quote that is not doubled.
      std::size_t i = start + 1;
      while (true) {
        if (i >= line.size()) {
          throw input_error(
              fmt::format("{}: unterminated quoted field", where));
        }
        if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          i += 2;
        } else if (line[i] == '"') {
          break;
        } else {
          field += line[i++];
        }
      }
      position = line.find(',', i + 1);
      if (!trim(line.substr(i + 1, position - (i + 1))).empty()) {
        throw input_error(
            fmt::format("{}: unexpected text after a quoted field", where));
      }
    } else {
      const std::size_t comma = line.find(',', position);
      field = trim(line.substr(position, comma - position));
      position = comma;
    }
    fields.push_back(std::move(field));
    if (position == std::string_view::npos) return fields;
    ++position;
  }
}

/// Formats `text` as one CSV field that split_csv_line() reads back as
/// `text`: quoted when it is empty or contains a comma, a quote, a space
/// or tab at either end, or a line break. A line break still makes a field
/// that split_csv_line() cannot read, because fields may not span lines.
inline std::string csv_field(std::string_view text) {
  const bool plain = !text.empty() &&
                     text.find_first_of(",\"\r\n") == std::string_view::npos &&
                     trim(text).size() == text.size();
  if (plain) return std::string(text);
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

/// Returns the index of `name` in the header, or raises input_error.
/// `advice` ends the message for a missing column, such as "name the column
/// with --x-column".
inline std::size_t find_column(const std::vector<std::string>& header,
                               const std::string& name,
                               const std::string& where,
                               std::string_view advice) {
  std::size_t found = header.size();
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] != name) continue;
    if (found != header.size()) {
      throw input_error(fmt::format(
          "{}: column \"{}\" appears twice in the header", where, name));
    }
    found = i;
  }
  if (found == header.size()) {
    throw input_error(
        fmt::format("{}: missing column \"{}\" in the header (columns: {}); {}",
                    where, name, fmt::join(header, ", "), advice));
  }
  return found;
}

/// Parses a finite decimal number that fills the whole field. A value too
/// small for double reads as 0 or a subnormal number, as strtod rounds it.
inline double parse_number(const std::string& field, const std::string& column,
                           const std::string& where) {
  if (field.empty()) {
    throw input_error(
        fmt::format("{}: missing value in column {}", where, column));
  }
  const auto invalid_number = [&] {
    return input_error(fmt::format("{}: invalid number \"{}\" in column {}",
                                   where, field, column));
  };
  const char* begin = field.data();
  const char* end = field.data() + field.size();
  // from_chars rejects a leading '+' but accepts a leading '-', so skipping
  // the '+' of "+-1" would accept a number with two signs.
  if (*begin == '+') {
    ++begin;
    if (begin != end && *begin == '-') throw invalid_number();
  }
  double value = 0;
  const auto [stop, error] = std::from_chars(begin, end, value);
  if (stop != end ||
      (error != std::errc() && error != std::errc::result_out_of_range)) {
    throw invalid_number();
  }
  if (error == std::errc::result_out_of_range) {
    // from_chars reports overflow and underflow alike and leaves `value`
    // unset. strtod returns +-HUGE_VAL on overflow and 0 or a subnormal
    // number on underflow. It reads the same decimal syntax here, because
    // the example programs never change the C locale.
    value = std::strtod(std::string(begin, end).c_str(), nullptr);
    if (std::isinf(value)) {
      throw input_error(fmt::format(
          "{}: number \"{}\" in column {} is out of range: the largest "
          "double is about 1.8e308",
          where, field, column));
    }
  }
  if (!std::isfinite(value)) throw invalid_number();
  return value;
}

/// Reads the CSV file at `path`. Calls `on_header(fields, where)` with the
/// fields of the header line and then `on_row(fields, where)` with those of
/// each data row. `where` is the "file:line" prefix for error messages.
///
/// Raises input_error for a directory, an unreadable file, a malformed
/// quoted field, or a row whose field count differs from the header's. It
/// also raises for a file without a header line, in a message that ends
/// "expected a header line <header_description>", and for a file without
/// data rows. The callbacks may raise input_error themselves.
template <class OnHeader, class OnRow>
void read_csv(const std::string& path, std::string_view header_description,
              OnHeader&& on_header, OnRow&& on_row) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    throw input_error(fmt::format("{}: is a directory, not a CSV file", path));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const int error = errno;
    throw input_error(
        fmt::format("{}: cannot open file: {}", path,
                    error != 0 ? std::strerror(error) : "unknown error"));
  }

  std::size_t header_size = 0;
  std::size_t rows = 0;
  std::string line;
  for (std::size_t number = 1; std::getline(file, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (trim(line).empty()) continue;

    const std::string where = fmt::format("{}:{}", path, number);
    const std::vector<std::string> fields = split_csv_line(line, where);
    if (header_size == 0) {
      header_size = fields.size();
      on_header(fields, where);
      continue;
    }
    if (fields.size() != header_size) {
      throw input_error(
          fmt::format("{}: expected {} fields as in the header, found {}",
                      where, header_size, fields.size()));
    }
    on_row(fields, where);
    ++rows;
  }
  if (file.bad()) {
    throw input_error(fmt::format("{}: read error", path));
  }
  if (header_size == 0) {
    throw input_error(
        fmt::format("{}: the file is empty; expected a header line {}", path,
                    header_description));
  }
  if (rows == 0) {
    throw input_error(
        fmt::format("{}: no data rows after the header line", path));
  }
}

}  // namespace examples
