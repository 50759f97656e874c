#pragma once

// The saved state of an optimizer and its text form.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <ios>
#include <istream>
#include <limits>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace adjoint::optim {

/// Everything an optimizer changes while it runs: with the same settings and
/// parameter values, an optimizer that loads this state continues exactly as
/// the one that produced it.
template <class T>
struct OptimizerState {
  std::string optimizer;  // Optimizer::name() of the optimizer saved
  std::uint64_t steps = 0;
  std::vector<T> learning_rates;  // one per parameter group
  std::vector<std::size_t> parameter_sizes;
  // Named arrays: per-parameter buffers are named "NAME.INDEX" (for example
  // "exp_avg.0"); state of the whole optimizer has a plain name.
  std::map<std::string, std::vector<T>> buffers;

  bool operator==(const OptimizerState&) const = default;
};

namespace detail {

// Formats a value with enough digits to read back the same value.
template <class T>
std::string exact_text(const T& value) {
  if constexpr (std::is_floating_point_v<T>) {
    return fmt::format("{}", value);  // shortest text that round-trips
  } else {
    return value.str(std::numeric_limits<T>::max_digits10,
                     std::ios_base::scientific);
  }
}

template <class T>
T parse_exact(const std::string& text) {
  if constexpr (std::is_floating_point_v<T>) {
    T value{};
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc{} || stop != end) {
      throw std::invalid_argument(fmt::format(
          "read_state: invalid number '{}' in the optimizer state", text));
    }
    return value;
  } else {
    try {
      return T(text);
    } catch (const std::runtime_error&) {
      throw std::invalid_argument(fmt::format(
          "read_state: invalid number '{}' in the optimizer state", text));
    }
  }
}

inline std::string read_token(std::istream& in, const char* expected) {
  std::string token;
  if (!(in >> token)) {
    throw std::invalid_argument(fmt::format(
        "read_state: the optimizer state ends where {} was expected; the "
        "file is truncated or not an optimizer state",
        expected));
  }
  return token;
}

inline void expect_token(std::istream& in, const std::string& keyword) {
  const std::string token = read_token(in, keyword.c_str());
  if (token != keyword) {
    throw std::invalid_argument(fmt::format(
        "read_state: expected '{}' in the optimizer state, found '{}'", keyword,
        token));
  }
}

inline std::uint64_t read_count(std::istream& in, const char* expected) {
  const std::string token = read_token(in, expected);
  std::uint64_t value = 0;
  const char* end = token.data() + token.size();
  const auto [stop, error] = std::from_chars(token.data(), end, value);
  if (error != std::errc{} || stop != end) {
    throw std::invalid_argument(fmt::format(
        "read_state: invalid {} '{}' in the optimizer state; expected a "
        "non-negative integer",
        expected, token));
  }
  return value;
}

// Reads the element count of an array, capped at 2^32 so that a corrupt
// count raises instead of allocating without bound.
inline std::size_t read_length(std::istream& in, const char* expected) {
  const std::uint64_t length = read_count(in, expected);
  if (length > (std::uint64_t{1} << 32)) {
    throw std::invalid_argument(fmt::format(
        "read_state: {} is {}, more than an optimizer state can hold; the "
        "file is corrupt",
        expected, length));
  }
  return static_cast<std::size_t>(length);
}

template <class T>
std::vector<T> read_values(std::istream& in, const char* count,
                           const char* what) {
  const std::size_t length = read_length(in, count);
  std::vector<T> values;
  for (std::size_t i = 0; i < length; ++i) {
    values.push_back(parse_exact<T>(read_token(in, what)));
  }
  return values;
}

inline constexpr const char* state_magic = "adjoint-optimizer-state";

// Raises std::invalid_argument unless `name` is a non-empty word without
// white space, which read_state() reads back as one token.
inline void check_state_name(std::string_view operation, const char* what,
                             const std::string& name) {
  const bool blank =
      name.empty() || std::any_of(name.begin(), name.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0;
      });
  if (!blank) return;
  throw std::invalid_argument(fmt::format(
      "{}: invalid {} '{}'; it must be a non-empty word without spaces, so "
      "that a saved state can be read back",
      operation, what, name));
}

}  // namespace detail

/// Writes `state` as text that read_state() reads back exactly: every number
/// is written with the digits it needs to round-trip. Raises
/// std::invalid_argument for a name that is empty or contains white space.
template <class T>
void write_state(std::ostream& out, const OptimizerState<T>& state) {
  detail::check_state_name("write_state", "optimizer name", state.optimizer);
  for (const auto& entry : state.buffers) {
    detail::check_state_name("write_state", "buffer name", entry.first);
  }
  std::string text =
      fmt::format("{} 1\noptimizer {}\nsteps {}\n", detail::state_magic,
                  state.optimizer, state.steps);
  text += fmt::format("learning_rates {}", state.learning_rates.size());
  for (const T& rate : state.learning_rates) {
    text += ' ' + detail::exact_text(rate);
  }
  text += fmt::format("\nparameter_sizes {}", state.parameter_sizes.size());
  for (std::size_t size : state.parameter_sizes) {
    text += fmt::format(" {}", size);
  }
  text += fmt::format("\nbuffers {}\n", state.buffers.size());
  for (const auto& [name, values] : state.buffers) {
    text += fmt::format("{} {}", name, values.size());
    for (const T& value : values) text += ' ' + detail::exact_text(value);
    text += '\n';
  }
  out << text;
}

/// Reads a state written by write_state(). Raises std::invalid_argument
/// naming the first field that is missing or malformed.
template <class T>
OptimizerState<T> read_state(std::istream& in) {
  OptimizerState<T> state;
  detail::expect_token(in, detail::state_magic);
  const std::uint64_t version = detail::read_count(in, "version");
  if (version != 1) {
    throw std::invalid_argument(fmt::format(
        "read_state: optimizer state version {} is not supported; this "
        "build reads version 1",
        version));
  }
  detail::expect_token(in, "optimizer");
  state.optimizer = detail::read_token(in, "the optimizer name");
  detail::expect_token(in, "steps");
  state.steps = detail::read_count(in, "steps");
  detail::expect_token(in, "learning_rates");
  state.learning_rates =
      detail::read_values<T>(in, "learning rate count", "learning rate");
  detail::expect_token(in, "parameter_sizes");
  const std::size_t parameters = detail::read_length(in, "parameter count");
  for (std::size_t i = 0; i < parameters; ++i) {
    state.parameter_sizes.push_back(detail::read_length(in, "parameter size"));
  }
  detail::expect_token(in, "buffers");
  const std::size_t buffers = detail::read_length(in, "buffer count");
  for (std::size_t i = 0; i < buffers; ++i) {
    std::string name = detail::read_token(in, "a buffer name");
    std::vector<T> values =
        detail::read_values<T>(in, "buffer length", "buffer value");
    if (!state.buffers.emplace(name, std::move(values)).second) {
      throw std::invalid_argument(fmt::format(
          "read_state: buffer '{}' appears twice in the optimizer state",
          name));
    }
  }
  return state;
}

}  // namespace adjoint::optim
