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
/// returns nothing when --help is given. A stray positional argument is an
/// error, as is an unknown option (boost::program_options::error).
inline std::optional<boost::program_options::variables_map> parse_command_line(
    int argc, char** argv,
    const boost::program_options::options_description& description,
    std::string_view help_epilogue) {
  namespace po = boost::program_options;
  po::variables_map values;
  // An empty positional description makes a stray argument an error
  // instead of being ignored.
  po::store(po::command_line_parser(argc, argv)
                .options(description)
                .positional(po::positional_options_description())
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

}  // namespace examples
