// Runs every registered benchmark and then prints the ratios of the adjoint
// variants to the plain double loops, computed from the same run.
//
// The ratios use the median CPU time when repetitions produce aggregates,
// and otherwise the median of the individual runs. CPU time rather than real
// time keeps the ratios stable when other processes share the cores; every
// benchmark in the ratios is single-threaded.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace {

struct Ratio {
  const char* label;
  const char* numerator;
  const char* denominator;
  double bar;  // maximum allowed ratio, or 0 when there is none
};

constexpr Ratio kRatios[] = {
    {"W1 hand-written gradient / plain", "W1/b_hand_gradient", "W1/a_plain", 0},
    {"W1 adjoint record / plain", "W1/c_adjoint_record", "W1/a_plain", 0},
    {"W1 adjoint record+backward / plain", "W1/d_adjoint_gradient",
     "W1/a_plain", 12},
    {"W2 hand-written gradient / plain", "W2/b_hand_gradient", "W2/a_plain", 0},
    {"W2 adjoint record / plain", "W2/c_adjoint_record", "W2/a_plain", 0},
    {"W2 adjoint record+backward / plain", "W2/d_adjoint_gradient",
     "W2/a_plain", 2.5},
};

/// Console output as usual, plus a table of ratios after the last benchmark.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const double seconds = run.GetAdjustedCPUTime() /
                             benchmark::GetTimeUnitMultiplier(run.time_unit);
      const std::string& name = run.run_name.function_name;
      if (run.run_type == Run::RT_Iteration) {
        samples_[name].push_back(seconds);
      } else if (run.aggregate_name == "median" &&
                 run.aggregate_unit == benchmark::kTime) {
        medians_[name] = seconds;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void Finalize() override {
    std::string table = "\nRatios of median CPU time, from this run:\n";
    for (const Ratio& ratio : kRatios) {
      const double numerator = median_seconds(ratio.numerator);
      const double denominator = median_seconds(ratio.denominator);
      if (numerator <= 0 || denominator <= 0) continue;  // filtered out
      const double value = numerator / denominator;
      table += fmt::format("  {:<38} {:7.2f}x", ratio.label, value);
      if (ratio.bar > 0) {
        table += fmt::format("   bar {:.1f}x: {}", ratio.bar,
                             value <= ratio.bar ? "met" : "NOT met");
      }
      table += '\n';
    }
    GetOutputStream() << table;
  }

 private:
  /// Returns the median CPU time of one benchmark in seconds, or 0 if it did
  /// not run.
  double median_seconds(const std::string& name) {
    if (auto found = medians_.find(name); found != medians_.end()) {
      return found->second;
    }
    auto found = samples_.find(name);
    if (found == samples_.end() || found->second.empty()) return 0;
    std::vector<double>& values = found->second;
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    return values.size() % 2 == 1 ? values[middle]
                                  : (values[middle - 1] + values[middle]) / 2;
  }

  std::map<std::string, std::vector<double>> samples_;
  std::map<std::string, double> medians_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // This reporter replaces the one --benchmark_format selects. For machine
  // output, use --benchmark_out=FILE --benchmark_out_format=json.
  RatioReporter reporter(isatty(STDOUT_FILENO)
                             ? benchmark::ConsoleReporter::OO_ColorTabular
                             : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
