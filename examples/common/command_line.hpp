#pragma once

// Command-line parsing shared by the example programs.

#include <boost/program_options.hpp>
#include <optional>
#include <sstream>
#include <string_view>

#include "common/stdout.hpp"

namespace examples {

/// Parses the command line into the variables that `description` binds and
/// returns them. Prints the help text followed by `help_epilogue` and
/// returns nothing when --help is given. A stray positional argument, an
/// unknown option and an abbreviated one are errors
/// (boost::program_options::error).
inline std::optional<boost::program_options::variables_map> parse_command_line(
    int argc, char** argv,
    const boost::program_options::options_description& description,
    std::string_view help_epilogue) {
  namespace po = boost::program_options;
  po::variables_map values;
  // An empty positional description makes a stray argument an error
  // instead of being ignored, and without guessing an abbreviation such as
  // --step is an unknown option rather than --steps.
  po::store(po::command_line_parser(argc, argv)
                .options(description)
                .positional(po::positional_options_description())
                .style(po::command_line_style::default_style &
                       ~po::command_line_style::allow_guessing)
                .run(),
            values);
  if (values.count("help") != 0) {
    std::ostringstream text;
    text << description;
    print_output("{}{}", text.str(), help_epilogue);
    return std::nullopt;
  }
  po::notify(values);
  return values;
}

/// Runs an example program: checks that stdout is open, parses the options
/// with `parse`, which returns nothing after printing --help, and returns
/// what `body` returns for them. Every exception becomes one line
/// "PROGRAM: message" on stderr and the status `invalid_input`.
template <class Parse, class Body>
int run_program(const char* program, int argc, char** argv, Parse parse,
                Body body, int invalid_input) {
  try {
    check_stdout_open();
    const auto options = parse(argc, argv);
    if (!options) {
      flush_output();
      return 0;
    }
    return body(*options);
  } catch (const boost::program_options::error& error) {
    fmt::print(stderr, "{}: {}; run {} --help for the options\n", program,
               error.what(), program);
    return invalid_input;
  } catch (const std::exception& error) {
    std::fflush(stdout);
    fmt::print(stderr, "{}: {}\n", program, error.what());
    return invalid_input;
  }
}

}  // namespace examples
