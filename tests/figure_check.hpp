#pragma once

// Checks of the figures that the example programs draw with gnuplot for
// --plot: a test precondition that gnuplot is installed, the structure of
// an SVG file and the signature of a PNG file.

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "example_runner.hpp"

namespace adjoint::testing {

/// Precondition of the tests that need gnuplot: they are skipped, with
/// this message in the test log, when `gnuplot --version` does not run.
/// CI installs gnuplot, so they run there.
struct gnuplot_installed {
  boost::test_tools::assertion_result operator()(
      boost::unit_test::test_unit_id) const {
    const bool installed =
        std::system("gnuplot --version >/dev/null 2>&1") == 0;
    boost::test_tools::assertion_result result(installed);
    result.message() << "gnuplot was not found on PATH; install the Debian "
                        "package gnuplot-nox to run this test";
    return result;
  }
};

/// Precondition of the tests that render DOT text with Graphviz's dot
/// program; as gnuplot_installed, CI installs it.
struct graphviz_installed {
  boost::test_tools::assertion_result operator()(
      boost::unit_test::test_unit_id) const {
    const bool installed = std::system("dot -V >/dev/null 2>&1") == 0;
    boost::test_tools::assertion_result result(installed);
    result.message() << "Graphviz's dot was not found on PATH; install the "
                        "Debian package graphviz to run this test";
    return result;
  }
};

/// The parts of a gnuplot 5.4 SVG figure that the tests check. gnuplot puts
/// each element of a plot command in a group with the id "gnuplot_plot_<N><p>",
/// where the letter p counts the plots of a multiplot: "a" for the left
/// panel, "b" for the right one. Its <title> child is the element's key
/// text without the enhanced-text markup, such as "w12 = 2" for
/// 'w_{12} = 2'. gnuplot writes an opaque key's groups twice.
struct SvgFigure {
  std::string root;                             // name of the root element
  std::map<char, std::set<std::string>> plots;  // panel letter -> group ids
  std::set<std::string> titles;                 // key texts of all panels

  /// Returns the number of plot elements of a panel: 'a', 'b', ...
  std::size_t elements_of(char panel) const {
    const auto found = plots.find(panel);
    return found == plots.end() ? 0 : found->second.size();
  }
};

namespace detail {

inline void collect_plot_groups(const boost::property_tree::ptree& node,
                                SvgFigure& figure) {
  for (const auto& [name, child] : node) {
    if (name == "g") {
      const std::string id = child.get("<xmlattr>.id", "");
      if (id.starts_with("gnuplot_plot_")) {
        figure.plots[id.back()].insert(id);
        const std::string title = child.get("title", "");
        if (!title.empty()) figure.titles.insert(title);
      }
    }
    collect_plot_groups(child, figure);
  }
}

}  // namespace detail

/// Parses the SVG file at `path` with Boost.PropertyTree's XML parser.
/// Fails the test when the file is missing, empty or not well-formed XML.
inline SvgFigure read_svg(const fs::path& path) {
  BOOST_TEST_REQUIRE(fs::exists(path), path);
  BOOST_TEST_REQUIRE(fs::file_size(path) > 0u, path);
  boost::property_tree::ptree tree;
  try {
    boost::property_tree::read_xml(path.string(), tree);
  } catch (const boost::property_tree::xml_parser_error& error) {
    BOOST_FAIL(path << " is not well-formed XML: " << error.what());
  }
  SvgFigure figure;
  for (const auto& [name, child] : tree) {
    if (name == "<xmlcomment>") continue;
    figure.root = name;
    detail::collect_plot_groups(child, figure);
    break;
  }
  return figure;
}

/// The first 8 bytes of every PNG file (PNG specification, section 5.2).
inline const std::string png_signature("\x89PNG\r\n\x1a\n", 8);

/// Returns the width and height of a PNG file from its IHDR chunk, which
/// follows the signature and stores them as big-endian 32-bit numbers at
/// bytes 16 to 23. Fails the test when the file does not start with the
/// PNG signature and an IHDR chunk.
inline std::pair<unsigned long, unsigned long> png_size(const fs::path& path) {
  const std::string bytes = read_text(path);
  BOOST_TEST_REQUIRE(bytes.size() > 24u, path);
  BOOST_TEST_REQUIRE(bytes.substr(0, 8) == png_signature, path);
  BOOST_TEST_REQUIRE(bytes.substr(12, 4) == "IHDR", path);
  const auto big_endian = [&](std::size_t offset) {
    unsigned long value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      value = value * 256 + static_cast<unsigned char>(bytes[offset + i]);
    }
    return value;
  };
  return {big_endian(16), big_endian(20)};
}

}  // namespace adjoint::testing
