#pragma once

// The --plot figure of the optimizers example. The left panel shows the
// loss of every run against the step. The right panel shows the paths of
// the Rosenbrock runs over contour lines of the function, or w against the
// step when only the tutorial loss ran.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "common/plot.hpp"
#include "problems.hpp"
#include "settings.hpp"

namespace optimizers {

/// The loss and the parameters after `step` updates.
struct TrajectoryPoint {
  std::size_t step = 0;
  double loss = 0;
  std::vector<double> point;
};

/// The steps of a run that the figure draws: every step up to
/// dense_steps, then about points_per_decade per factor of 10 in the step
/// number, and the last step. They are spaced evenly on the logarithmic
/// step axis, and memory stays bounded for any --steps.
class SampledTrajectory {
 public:
  static constexpr std::size_t dense_steps = 50;
  static constexpr double points_per_decade = 50;

  void add(std::size_t step, double loss, const std::vector<double>& point) {
    last_ = TrajectoryPoint{step, loss, point};
    if (step <= dense_steps || static_cast<double>(step) >= next_step_) {
      kept_.push_back(*last_);
      next_step_ =
          static_cast<double>(step) * std::pow(10.0, 1 / points_per_decade);
    }
  }

  std::vector<TrajectoryPoint> points() const {
    std::vector<TrajectoryPoint> all = kept_;
    if (last_ && (all.empty() || all.back().step != last_->step)) {
      all.push_back(*last_);
    }
    return all;
  }

 private:
  std::vector<TrajectoryPoint> kept_;
  std::optional<TrajectoryPoint> last_;
  double next_step_ = 0;
};

/// A run as the figure draws it.
struct PlottedRun {
  Problem problem;
  OptimizerKind kind;
  std::vector<TrajectoryPoint> points;
};

namespace detail {

/// Returns the colour of an optimizer, the same in both panels and in
/// every figure. The colours are the 10-colour palette "tab10" of
/// matplotlib without its grey.
inline std::string colour_of(OptimizerKind kind) {
  static constexpr std::array<const char*, all_optimizers.size()> colours = {
      "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
      "#8c564b", "#e377c2", "#bcbd22", "#17becf"};
  for (std::size_t i = 0; i < all_optimizers.size(); ++i) {
    if (all_optimizers[i] == kind) return colours[i];
  }
  return "#000000";
}

inline std::string file_name(const std::string& prefix, const PlottedRun& run) {
  return fmt::format("{}_{}_{}.dat", prefix, run.problem.name,
                     name_of(run.kind));
}

inline std::size_t last_step_of(const std::vector<PlottedRun>& runs) {
  std::size_t last = 0;
  for (const PlottedRun& run : runs) {
    if (!run.points.empty()) last = std::max(last, run.points.back().step);
  }
  return last;
}

/// The left panel: the loss against the step on logarithmic axes, so step
/// 0 is left out. A loss of exactly 0 is drawn at a tenth of the smallest
/// positive loss, the bottom edge of the panel.
inline std::string loss_panel(const std::vector<PlottedRun>& runs,
                              std::vector<examples::PlotData>& data) {
  double min_positive = std::numeric_limits<double>::infinity();
  double max_loss = 0;
  bool any_zero = false;
  for (const PlottedRun& run : runs) {
    for (const TrajectoryPoint& point : run.points) {
      if (!std::isfinite(point.loss)) continue;
      max_loss = std::max(max_loss, point.loss);
      if (point.loss > 0) {
        min_positive = std::min(min_positive, point.loss);
      } else if (point.step > 0) {
        any_zero = true;
      }
    }
  }
  const double floor = std::isfinite(min_positive) ? min_positive / 10 : 1;
  const double top = std::max(max_loss, floor) * 10;

  bool both_functions = false;
  for (const PlottedRun& run : runs) {
    both_functions =
        both_functions || run.problem.function != runs.front().problem.function;
  }
  std::string script = fmt::format(
      "set title '{}'\n"
      "set xlabel 'step'\n"
      "set ylabel 'loss'\n"
      "set logscale xy\n"
      "set xrange [1:{}]\n"
      "set yrange [{}:{}]\n"
      "set format y '10^{{%L}}'\n"
      "set key outside right top\n",
      both_functions
          ? "loss against step"
          : fmt::format("loss of {} against step", runs.front().problem.name),
      std::max<std::size_t>(10, last_step_of(runs)), floor, top);
  if (any_zero) {
    script +=
        "set label 1 'a loss of 0 lies on the bottom edge' at graph 0.98, "
        "graph 0.04 right\n";
  }

  std::vector<std::string> plots;
  for (const PlottedRun& run : runs) {
    std::string rows;
    for (const TrajectoryPoint& point : run.points) {
      if (point.step == 0 || !std::isfinite(point.loss)) continue;
      rows += fmt::format("{} {}\n", point.step, std::max(point.loss, floor));
    }
    const std::string name = file_name("loss", run);
    data.push_back({name, rows});
    plots.push_back(fmt::format(
        "data('{}') with lines lw 1.5 lc rgb '{}' dt {} notitle", name,
        colour_of(run.kind),
        both_functions && run.problem.function == Function::tutorial ? 2 : 1));
  }
  // The key names each optimizer once, with a solid line of its colour, and
  // then the line style of each function.
  for (const OptimizerKind kind : all_optimizers) {
    const bool ran =
        std::any_of(runs.begin(), runs.end(),
                    [&](const PlottedRun& run) { return run.kind == kind; });
    if (!ran) continue;
    plots.push_back(
        fmt::format("keyentry with lines lw 1.5 lc rgb '{}' title '{}'",
                    colour_of(kind), name_of(kind)));
  }
  if (both_functions) {
    plots.push_back(
        "keyentry with lines lw 1.5 lc rgb '#000000' dt 1 title 'rosenbrock'");
    plots.push_back(
        "keyentry with lines lw 1.5 lc rgb '#000000' dt 2 title 'tutorial'");
  }
  return script + fmt::format("plot {}\n", fmt::join(plots, ", \\\n  "));
}

/// A rectangle of the (a, b) plane.
struct Box {
  double a_low, a_high, b_low, b_high;
};

/// Returns the view of the Rosenbrock panel: the start, the minimum and
/// the paths with a margin. It reaches at most 3 times the distance from
/// the start to the minimum beyond the minimum, so that a run that diverges
/// does not shrink the others to a dot.
inline Box view_of(const std::vector<const PlottedRun*>& runs,
                   const std::vector<double>& start,
                   const std::vector<double>& minimum) {
  const double reach = 3 * std::max({std::abs(start[0] - minimum[0]),
                                     std::abs(start[1] - minimum[1]), 0.5});
  Box box{std::min(start[0], minimum[0]), std::max(start[0], minimum[0]),
          std::min(start[1], minimum[1]), std::max(start[1], minimum[1])};
  for (const PlottedRun* run : runs) {
    for (const TrajectoryPoint& point : run->points) {
      const double a = point.point[0];
      const double b = point.point[1];
      if (!std::isfinite(a) || !std::isfinite(b)) continue;
      box.a_low = std::min(box.a_low, std::max(a, minimum[0] - reach));
      box.a_high = std::max(box.a_high, std::min(a, minimum[0] + reach));
      box.b_low = std::min(box.b_low, std::max(b, minimum[1] - reach));
      box.b_high = std::max(box.b_high, std::min(b, minimum[1] + reach));
    }
  }
  // A run that starts at the minimum and stays there gives an empty box.
  const double a_margin =
      box.a_high > box.a_low ? 0.08 * (box.a_high - box.a_low) : reach / 3;
  const double b_margin =
      box.b_high > box.b_low ? 0.08 * (box.b_high - box.b_low) : reach / 3;
  return {box.a_low - a_margin, box.a_high + a_margin, box.b_low - b_margin,
          box.b_high + b_margin};
}

/// Returns the contour lines of the Rosenbrock function over `box`, as
/// gnuplot commands that store them in the datablock $contours, and adds
/// the grid of values they come from to `data`. The lines lie at the
/// losses 10^k, from k = -2 or 6 levels below the largest loss on the grid,
/// whichever is higher, up to that loss.
inline std::string contour_commands(const Box& box,
                                    std::vector<examples::PlotData>& data,
                                    std::string& levels_title) {
  constexpr int intervals = 150;
  const adjoint::NoGradGuard no_grad;
  std::string grid;
  double max_loss = 0;
  for (int i = 0; i <= intervals; ++i) {
    const double a = box.a_low + (box.a_high - box.a_low) * i / intervals;
    for (int j = 0; j <= intervals; ++j) {
      const double b = box.b_low + (box.b_high - box.b_low) * j / intervals;
      const double loss =
          rosenbrock_loss(adjoint::Var<double>{a}, adjoint::Var<double>{b})
              .value();
      max_loss = std::max(max_loss, loss);
      grid += fmt::format("{} {} {}\n", a, b, loss);
    }
    grid += "\n";  // a blank line ends a row of the grid for splot
  }
  data.push_back({"rosenbrock_grid.dat", grid});

  // The valley at the lowest levels is narrower than the grid spacing of a
  // wide view, where their lines would break into specks, so the levels
  // span 6 factors of 10 below the largest loss at most.
  const int highest =
      std::max(-2, static_cast<int>(std::floor(std::log10(max_loss))));
  const int lowest = std::max(-2, highest - 5);
  std::vector<std::string> levels;
  std::vector<std::string> powers;  // the levels in enhanced text, 10^{k}
  for (int k = lowest; k <= highest; ++k) {
    levels.push_back(fmt::format("1e{}", k));
    powers.push_back(fmt::format("10^{{{}}}", k));
  }
  levels_title = powers.size() <= 3
                     ? fmt::format("loss = {}", fmt::join(powers, ", "))
                     : fmt::format("loss = {}, {}, ..., {}", powers[0],
                                   powers[1], powers.back());
  return fmt::format(
      "set contour base\n"
      "set cntrparam levels discrete {}\n"
      "unset surface\n"
      "set view map\n"
      "set table $contours\n"
      "splot data('rosenbrock_grid.dat') using 1:2:3 with lines notitle\n"
      "unset table\n"
      "unset contour\n",
      fmt::join(levels, ", "));
}

/// The right panel for the Rosenbrock runs: their paths in the (a, b)
/// plane over contour lines, with the start and the minimum marked.
/// `contours` receives the commands that must run before the multiplot.
inline std::string rosenbrock_panel(const std::vector<const PlottedRun*>& runs,
                                    std::vector<examples::PlotData>& data,
                                    std::string& contours) {
  const std::vector<double>& start = runs.front()->points.front().point;
  const std::vector<double>& minimum = runs.front()->problem.minimum;
  const Box box = view_of(runs, start, minimum);
  std::string levels_title;
  contours = contour_commands(box, data, levels_title);

  std::vector<std::string> plots = {fmt::format(
      "$contours with lines lw 1 lc rgb '#c0c0c0' title '{}'", levels_title)};
  for (const PlottedRun* run : runs) {
    std::string rows;
    for (const TrajectoryPoint& point : run->points) {
      if (std::isfinite(point.point[0]) && std::isfinite(point.point[1])) {
        rows += fmt::format("{} {}\n", point.point[0], point.point[1]);
      }
    }
    const std::string name = file_name("path", *run);
    data.push_back({name, rows});
    plots.push_back(
        fmt::format("data('{}') with lines lw 1.5 lc rgb '{}' notitle", name,
                    colour_of(run->kind)));
  }
  data.push_back({"start.dat", fmt::format("{} {}\n", start[0], start[1])});
  data.push_back(
      {"minimum.dat", fmt::format("{} {}\n", minimum[0], minimum[1])});
  plots.push_back(fmt::format(
      "data('start.dat') with points pt 5 ps 1.2 lc rgb '#000000' title "
      "'start ({}, {})'",
      start[0], start[1]));
  plots.push_back(fmt::format(
      "data('minimum.dat') with points pt 3 ps 2.5 lw 2 lc rgb '#000000' "
      "title 'minimum ({}, {})'",
      minimum[0], minimum[1]));
  return fmt::format(
             "set title 'path of each run on the Rosenbrock function'\n"
             "set xlabel 'a'\n"
             "set ylabel 'b'\n"
             "unset logscale\n"
             "set format y '%g'\n"
             "unset label 1\n"
             "set xrange [{}:{}]\n"
             "set yrange [{}:{}]\n"
             "set key inside top right opaque\n",
             box.a_low, box.a_high, box.b_low, box.b_high) +
         fmt::format("plot {}\n", fmt::join(plots, ", \\\n  "));
}

/// The right panel when only the tutorial loss ran: w against the step,
/// with the minimum w = 2 as a dashed line.
inline std::string tutorial_panel(const std::vector<PlottedRun>& runs,
                                  std::vector<examples::PlotData>& data) {
  const double minimum = runs.front().problem.minimum[0];
  std::vector<std::string> plots;
  for (const PlottedRun& run : runs) {
    std::string rows;
    for (const TrajectoryPoint& point : run.points) {
      if (point.step > 0 && std::isfinite(point.point[0])) {
        rows += fmt::format("{} {}\n", point.step, point.point[0]);
      }
    }
    const std::string name = file_name("path", run);
    data.push_back({name, rows});
    plots.push_back(
        fmt::format("data('{}') with lines lw 1.5 lc rgb '{}' notitle", name,
                    colour_of(run.kind)));
  }
  // The dashed line is an arrow, which has no key entry of its own.
  plots.push_back(fmt::format(
      "keyentry with lines dt 2 lc rgb '#555555' title 'minimum w = {}'",
      minimum));
  return fmt::format(
             "set title 'w of each run against step'\n"
             "set xlabel 'step'\n"
             "set ylabel 'w'\n"
             "set logscale x\n"
             "unset logscale y\n"
             "set format y '%g'\n"
             "unset label 1\n"
             "set xrange [1:{}]\n"
             "set yrange [*:*]\n"
             "set arrow 1 from graph 0, first {} to graph 1, first {} nohead "
             "dt 2 lc rgb '#555555'\n"
             "set key inside top right opaque\n",
             std::max<std::size_t>(10, last_step_of(runs)), minimum, minimum) +
         fmt::format("plot {}\n", fmt::join(plots, ", \\\n  "));
}

}  // namespace detail

/// Draws the figure of `runs`, which must not be empty, into `figure`,
/// with `title` above both panels.
inline void draw_figure(examples::Figure& figure,
                        const std::vector<PlottedRun>& runs,
                        const std::string& title) {
  if (!figure.enabled()) return;
  std::vector<examples::PlotData> data;
  std::vector<const PlottedRun*> rosenbrock_runs;
  for (const PlottedRun& run : runs) {
    if (run.problem.function == Function::rosenbrock) {
      rosenbrock_runs.push_back(&run);
    }
  }
  const std::string left = detail::loss_panel(runs, data);
  std::string contours;
  const std::string right =
      rosenbrock_runs.empty()
          ? detail::tutorial_panel(runs, data)
          : detail::rosenbrock_panel(rosenbrock_runs, data, contours);
  const std::string script = fmt::format(
      "{}set multiplot layout 1,2 title {} noenhanced\n{}{}"
      "unset multiplot\n",
      contours, examples::gnuplot_quote(title), left, right);
  figure.draw(script, data);
}

}  // namespace optimizers
