#pragma once

// The --plot figure of the gradient_descent example. The left panel shows
// the data and the fitted line z = w_k * x after each step k. The right
// panel shows the loss J(w) with every step w_k -> w_(k+1) as an arrow on
// the parabola.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/plot.hpp"

namespace gradient_descent {

/// The parameter and the loss after `step` updates.
struct Iterate {
  std::size_t step;
  double w;
  double loss;
};

/// The figure draws steps 0 to max_drawn_step one by one and then the last
/// step of the run. Later steps of a long run lie too close together to
/// tell apart.
inline constexpr std::size_t max_drawn_step = 40;

/// The number of first steps whose w_k the left panel names in its key.
inline constexpr std::size_t labelled_steps = 4;

/// The right panel's J axis is logarithmic once the largest drawn J exceeds
/// J(w_0) by this factor, as in a diverging run. On a linear axis the first
/// steps would then lie flat on the bottom edge.
inline constexpr double log_scale_growth = 10;

/// The iterates that the figure draws: steps 0 to max_drawn_step and the
/// last one, so that memory stays bounded for any --max-steps.
class DrawnIterates {
 public:
  void add(const Iterate& iterate) {
    if (iterate.step <= max_drawn_step) {
      first_.push_back(iterate);
    } else {
      last_ = iterate;
    }
  }

  std::vector<Iterate> iterates() const {
    std::vector<Iterate> all = first_;
    if (last_) all.push_back(*last_);
    return all;
  }

 private:
  std::vector<Iterate> first_;
  std::optional<Iterate> last_;
};

/// The texts of the figure: the line above both panels and the names of x
/// and z, such as the --x-column and --z-column of the data.
struct FigureText {
  std::string title;
  std::string x_label;
  std::string z_label;
};

namespace detail {

/// Returns "w_{k}", which gnuplot's enhanced text sets as w with the
/// subscript k.
inline std::string subscripted_w(std::size_t step) {
  return fmt::format("w_{{{}}}", step);
}

inline std::string quote(const std::string& text) {
  return examples::gnuplot_quote(text);
}

/// The least-squares quantities of the data: sum(x^2), the minimizer w*
/// and J(w*).
struct Parabola {
  double sum_xx = 0;
  double minimum = 0;
  double minimum_loss = 0;

  /// J(w) = J(w*) + sum(x^2) (w - w*)^2, an identity of the quadratic J.
  /// Unlike the expanded form sum(x^2) w^2 - 2 sum(x*z) w + sum(z^2), it
  /// does not cancel to rounding noise near w*.
  double loss(double w) const {
    return minimum_loss + sum_xx * (w - minimum) * (w - minimum);
  }
};

inline Parabola parabola_of(const std::vector<double>& x,
                            const std::vector<double>& z) {
  Parabola parabola;
  double sum_xz = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    parabola.sum_xx += x[i] * x[i];
    sum_xz += x[i] * z[i];
  }
  parabola.minimum = sum_xz / parabola.sum_xx;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double residual = z[i] - parabola.minimum * x[i];
    parabola.minimum_loss += residual * residual;
  }
  return parabola;
}

/// Returns [low, high] widened by `margin` of its width on each side, or
/// [-1, 1] around `low` when the interval is empty.
inline std::pair<double, double> widen(double low, double high, double margin) {
  const double width = high - low;
  if (width == 0) return {low - 1, low + 1};
  return {low - margin * width, high + margin * width};
}

/// The left panel: the data and the line z = w_k * x of each drawn step.
/// The first labelled_steps steps have their own colour and key entry, the
/// steps after them fade to light grey, and the last drawn step is red.
inline std::string fit_panel(const std::vector<double>& x,
                             const std::vector<double>& z,
                             const std::vector<Iterate>& drawn,
                             const std::string& last_name,
                             const FigureText& text,
                             std::vector<examples::PlotData>& data) {
  const auto [x_min, x_max] = std::minmax_element(x.begin(), x.end());
  const auto [z_min, z_max] = std::minmax_element(z.begin(), z.end());
  // Every line z = w * x passes through the origin, so it is in view.
  const auto [x_low, x_high] =
      widen(std::min(0.0, *x_min), std::max(0.0, *x_max), 0.05);
  const auto [z_low, z_high] =
      widen(std::min(0.0, *z_min), std::max(0.0, *z_max), 0.1);

  std::string samples;
  for (std::size_t i = 0; i < x.size(); ++i) {
    samples += fmt::format("{} {}\n", x[i], z[i]);
  }
  data.push_back({"samples.dat", samples});

  // One data set per line, separated by two blank lines so that gnuplot's
  // `index` selects it. The third column is the colour of a fading line.
  const std::size_t last = drawn.size() - 1;
  const std::size_t labelled = std::min(labelled_steps, last);
  const std::size_t faded = last - labelled;
  std::string lines;
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    int grey = 0;
    if (i >= labelled && i < last) {
      // From #a0a0a0 for the first fading line to #e6e6e6 for the last.
      const double fraction =
          faded > 1 ? double(i - labelled) / double(faded - 1) : 0;
      grey = 0xa0 + static_cast<int>(std::lround(fraction * (0xe6 - 0xa0)));
    }
    const int colour = grey * 0x010101;
    lines += fmt::format("{} {} {}\n{} {} {}\n\n\n", x_low, drawn[i].w * x_low,
                         colour, x_high, drawn[i].w * x_high, colour);
  }
  data.push_back({"lines.dat", lines});

  std::string script = fmt::format(
      "set title 'data and the line z = w_k x after step k'\n"
      "set xlabel {} noenhanced\n"
      "set ylabel {} noenhanced\n"
      "set xrange [{}:{}]\n"
      "set yrange [{}:{}]\n"
      "set key inside top left opaque\n",
      quote(text.x_label), quote(text.z_label), x_low, x_high, z_low, z_high);
  static const char* const colours[labelled_steps] = {"#1f77b4", "#ff7f0e",
                                                      "#2ca02c", "#9467bd"};
  std::vector<std::string> plots;
  for (std::size_t i = 0; i < labelled; ++i) {
    plots.push_back(fmt::format(
        "data('lines.dat') index {} with lines lw 2 lc rgb '{}' title '{} = "
        "{:.4g}'",
        i, colours[i], subscripted_w(drawn[i].step), drawn[i].w));
  }
  if (faded > 0) {
    const std::string range =
        faded == 1
            ? subscripted_w(drawn[labelled].step)
            : fmt::format("{} to {}", subscripted_w(drawn[labelled].step),
                          subscripted_w(drawn[last - 1].step));
    plots.push_back(fmt::format(
        "data('lines.dat') index {}:{} using 1:2:3 with lines lc rgb "
        "variable title '{}'",
        labelled, last - 1, range));
  }
  plots.push_back(fmt::format(
      "data('lines.dat') index {} with lines lw 3 lc rgb '#d62728' title '{} "
      "= {:.4g}, {}'",
      last, subscripted_w(drawn[last].step), drawn[last].w, last_name));
  plots.push_back(
      "data('samples.dat') with points pt 7 ps 0.6 lc rgb '#000000' title "
      "'data'");
  return script + fmt::format("plot {}\n", fmt::join(plots, ", \\\n  "));
}

/// The right panel: J(w) over a range of w centred on w* that covers every
/// drawn iterate, the iterates on it, an arrow for each step, and w*.
inline std::string loss_panel(const Parabola& parabola,
                              const std::vector<Iterate>& drawn,
                              const std::string& last_name,
                              std::vector<examples::PlotData>& data) {
  double half_width = 0;
  double max_loss = 0;
  double min_positive_loss = std::numeric_limits<double>::infinity();
  for (const Iterate& iterate : drawn) {
    half_width =
        std::max(half_width, std::abs(iterate.w - parabola.minimum) * 1.15);
    max_loss = std::max(max_loss, iterate.loss);
    if (iterate.loss > 0) {
      min_positive_loss = std::min(min_positive_loss, iterate.loss);
    }
  }
  // A run that starts at w* never moves, so the range gets a width of its
  // own.
  if (half_width == 0) half_width = std::max(std::abs(parabola.minimum), 1.0);
  const double w_low = parabola.minimum - half_width;
  const double w_high = parabola.minimum + half_width;

  constexpr int intervals = 400;
  std::string curve;
  for (int i = 0; i <= intervals; ++i) {
    const double w = w_low + (w_high - w_low) * i / intervals;
    const double loss = parabola.loss(w);
    if (std::isfinite(loss)) curve += fmt::format("{} {}\n", w, loss);
  }
  data.push_back({"parabola.dat", curve});

  // The first labelled_steps iterates are named on the curve, except one
  // closer than 5% of the panel's width to the last named one, whose label
  // it would overlap.
  std::string labels;
  double labelled_w = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < std::min(labelled_steps, drawn.size()); ++i) {
    if (std::abs(drawn[i].w - labelled_w) < 0.05 * (w_high - w_low)) continue;
    labels +=
        fmt::format("{} {} {}\n", drawn[i].w, drawn[i].loss, drawn[i].step);
    labelled_w = drawn[i].w;
  }
  data.push_back({"labels.dat", labels});

  std::string iterates;
  std::string steps;
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    iterates += fmt::format("{} {}\n", drawn[i].w, drawn[i].loss);
    if (i + 1 < drawn.size() && drawn[i + 1].step == drawn[i].step + 1) {
      steps += fmt::format("{} {} {} {}\n", drawn[i].w, drawn[i].loss,
                           drawn[i + 1].w, drawn[i + 1].loss);
    }
  }
  data.push_back({"iterates.dat", iterates});
  data.push_back({"steps.dat", steps});
  data.push_back(
      {"last.dat", fmt::format("{} {}\n", drawn.back().w, drawn.back().loss)});

  const double start_loss = drawn.front().loss;
  const bool log_scale =
      start_loss > 0 && max_loss > log_scale_growth * start_loss;
  std::string script = fmt::format(
      "set title 'loss J(w) = sum((z - w x)^2) and each step from w_k to "
      "w_{{k+1}}'\n"
      "set xlabel 'w'\n"
      "set ylabel 'J(w){}'\n"
      "set xrange [{}:{}]\n",
      log_scale ? ", logarithmic" : "", w_low, w_high);
  if (log_scale) {
    script += fmt::format("set logscale y\nset yrange [{}:*]\n",
                          min_positive_loss / 10);
  } else {
    script += "unset logscale y\nset yrange [*:*]\n";
  }
  script += fmt::format(
      "set arrow 1 from first {0}, graph 0 to first {0}, graph 1 nohead dt 2 "
      "lc rgb '#555555'\n"
      "set key inside top center opaque\n",
      parabola.minimum);

  std::vector<std::string> plots = {
      "data('parabola.dat') with lines lw 1.5 lc rgb '#808080' title 'J(w)'"};
  if (!steps.empty()) {
    plots.push_back(
        "data('steps.dat') using 1:2:($3-$1):($4-$2) with vectors head filled "
        "size screen 0.01,20 lc rgb '#1f77b4' title 'step'");
  }
  plots.push_back(
      "data('iterates.dat') using 1:2 with points pt 7 ps 0.7 lc rgb "
      "'#1f77b4' title 'w_k'");
  plots.push_back(
      "data('labels.dat') using 1:2:(sprintf('w_{%d}', int($3))) with labels "
      "offset character 0, 1 notitle");
  plots.push_back(fmt::format(
      "data('last.dat') with points pt 7 ps 1.3 lc rgb '#d62728' title '{} "
      "w'",
      last_name));
  // The dashed line at w* is an arrow, which has no key entry of its own.
  plots.push_back(fmt::format(
      "keyentry with lines dt 2 lc rgb '#555555' title 'w* = {:.6g}'",
      parabola.minimum));
  return script + fmt::format("plot {}\n", fmt::join(plots, ", \\\n  "));
}

}  // namespace detail

/// Draws the figure of a run on the samples `x` and `z` into `figure`.
/// `iterates` come from DrawnIterates and end with the run's last step.
/// Iterates whose w or loss is not finite, after a divergence, are left
/// out.
inline void draw_figure(examples::Figure& figure, const std::vector<double>& x,
                        const std::vector<double>& z,
                        const std::vector<Iterate>& iterates,
                        const FigureText& text) {
  if (!figure.enabled() || iterates.empty()) return;
  std::vector<Iterate> drawn;
  for (const Iterate& iterate : iterates) {
    if (std::isfinite(iterate.w) && std::isfinite(iterate.loss)) {
      drawn.push_back(iterate);
    }
  }
  // The program checks that J is finite at w0, so step 0 is drawn.
  if (drawn.empty()) throw std::logic_error("draw_figure: no finite iterate");
  const std::string last_name =
      drawn.back().step == iterates.back().step ? "final" : "last finite";

  std::vector<examples::PlotData> data;
  const std::string script = fmt::format(
      "set multiplot layout 1,2 title {} noenhanced\n"
      "set clip two\n"
      "{}{}unset multiplot\n",
      examples::gnuplot_quote(text.title),
      detail::fit_panel(x, z, drawn, last_name, text, data),
      detail::loss_panel(detail::parabola_of(x, z), drawn, last_name, data));
  figure.draw(script, data);
}

}  // namespace gradient_descent
