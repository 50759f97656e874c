// Runs every registered benchmark and then prints the ratios of the adjoint
// variants to their peers (plain double loops, OpenBLAS and libtorch) and
// the time per operation of W5, computed from the same run.
//
// The ratios use the median CPU time when repetitions produce aggregates,
// and otherwise the median of the individual runs. CPU time rather than real
// time keeps the ratios stable when other processes share the cores. Every
// benchmark is single-threaded: main() limits OpenBLAS and libtorch to one
// thread before the first one runs.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "data.hpp"
#include "setup.hpp"

namespace {

struct Ratio {
  const char* label;
  const char* numerator;
  const char* denominator;
  double bar;  // maximum allowed ratio, or 0 when there is none
};

// W6's bar: adjoint's matrix product reaches at least 90% of OpenBLAS's
// speed, so its time is at most 1 / 0.9 times OpenBLAS's.
constexpr double kMatmulBar = 1 / 0.9;

constexpr Ratio kRatios[] = {
    {"W1 hand-written gradient / plain", "W1/b_hand_gradient", "W1/a_plain", 0},
    {"W1 adjoint record / plain", "W1/c_adjoint_record", "W1/a_plain", 0},
    {"W1 adjoint record+backward / plain", "W1/d_adjoint_gradient",
     "W1/a_plain", 12},
    {"W2 hand-written gradient / plain", "W2/b_hand_gradient", "W2/a_plain", 0},
    {"W2 adjoint record / plain", "W2/c_adjoint_record", "W2/a_plain", 0},
    {"W2 adjoint record+backward / plain", "W2/d_adjoint_gradient",
     "W2/a_plain", 2.5},
    {"W3 adjoint Var / libtorch", "W3/a_adjoint_var", "W3/c_libtorch", 0.6},
    {"W3 adjoint 0-d tensor / libtorch", "W3/b_adjoint_tensor",
     "W3/c_libtorch", 0.6},
    {"W3 adjoint Var / W1 plain", "W3/a_adjoint_var", "W1/a_plain", 0},
    {"W3 adjoint 0-d tensor / W1 plain", "W3/b_adjoint_tensor", "W1/a_plain",
     0},
    {"W3 libtorch / W1 plain", "W3/c_libtorch", "W1/a_plain", 0},
    {"W3 adjoint Var / W1 adjoint scalar", "W3/a_adjoint_var",
     "W1/d_adjoint_gradient", 0},
    {"W4 adjoint / libtorch", "W4/b_adjoint", "W4/c_libtorch", 1.0},
    {"W4 adjoint / hand-written BLAS", "W4/b_adjoint",
     "W4/a_blas_hand_gradient", 0},
    {"W4 libtorch / hand-written BLAS", "W4/c_libtorch",
     "W4/a_blas_hand_gradient", 0},
    {"W5 adjoint tensor / libtorch", "W5/b_adjoint_tensor", "W5/c_libtorch",
     0},
    {"W5 adjoint tensor / adjoint Var", "W5/b_adjoint_tensor",
     "W5/a_adjoint_var", 0},
    {"W6 double adjoint forward / OpenBLAS", "W6/double/b_adjoint_forward",
     "W6/double/a_openblas", kMatmulBar},
    {"W6 double libtorch forward / OpenBLAS", "W6/double/c_libtorch_forward",
     "W6/double/a_openblas", 0},
    {"W6 double adjoint gradient / libtorch", "W6/double/d_adjoint_gradient",
     "W6/double/e_libtorch_gradient", 0},
    {"W6 double adjoint gradient / OpenBLAS", "W6/double/d_adjoint_gradient",
     "W6/double/f_openblas_gradient", 0},
    {"W6 float adjoint forward / OpenBLAS", "W6/float/b_adjoint_forward",
     "W6/float/a_openblas", kMatmulBar},
    {"W6 float libtorch forward / OpenBLAS", "W6/float/c_libtorch_forward",
     "W6/float/a_openblas", 0},
    {"W6 float adjoint gradient / libtorch", "W6/float/d_adjoint_gradient",
     "W6/float/e_libtorch_gradient", 0},
    {"W6 float adjoint gradient / OpenBLAS", "W6/float/d_adjoint_gradient",
     "W6/float/f_openblas_gradient", 0},
    {"W7 adjoint Adam step / libtorch", "W7/b_adjoint", "W7/c_libtorch", 0},
    {"W7 adjoint Adam step / loop", "W7/b_adjoint", "W7/a_loop", 0},
    {"W7 libtorch Adam step / loop", "W7/c_libtorch", "W7/a_loop", 0},
};

/// A benchmark whose median CPU time is shown per operation.
struct PerOperation {
  const char* label;
  const char* benchmark;
  double operations;        // operations per iteration
  double bar_microseconds;  // maximum allowed time per operation, or 0
};

constexpr PerOperation kPerOperation[] = {
    {"W5 adjoint Var", "W5/a_adjoint_var", adjoint_bench::kChainOperations, 0},
    {"W5 adjoint tensor", "W5/b_adjoint_tensor",
     adjoint_bench::kChainOperations, 0.1},
    {"W5 libtorch", "W5/c_libtorch", adjoint_bench::kChainOperations, 0},
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
      table += fmt::format("  {:<40} {:8.3f}x", ratio.label, value);
      if (ratio.bar > 0) {
        table += fmt::format("   bar {:.3g}x: {}", ratio.bar,
                             value <= ratio.bar ? "met" : "NOT met");
      }
      table += '\n';
    }
    table += "\nMedian CPU time per operation, from this run:\n";
    for (const PerOperation& row : kPerOperation) {
      const double seconds = median_seconds(row.benchmark);
      if (seconds <= 0) continue;  // filtered out
      const double value = seconds / row.operations * 1e6;
      table += fmt::format("  {:<40} {:8.3f} us", row.label, value);
      if (row.bar_microseconds > 0) {
        table += fmt::format("   bar {:.3g} us: {}", row.bar_microseconds,
                             value <= row.bar_microseconds ? "met" : "NOT met");
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
  // Every workload, adjoint's and its peers', runs on one thread.
  adjoint_bench::set_threads(1);
  // libstdc++ makes shared_ptr reference counts atomic only once the
  // process has started a thread (glibc 2.32 and later). Starting one here
  // makes them atomic in every benchmark, as in a program with a data
  // loader or a thread pool, whichever benchmarks the filter selects.
  std::thread([] {}).join();
  std::fputs(adjoint_bench::describe_setup().c_str(), stdout);
  std::fflush(stdout);
  // This reporter replaces the one --benchmark_format selects. For machine
  // output, use --benchmark_out=FILE --benchmark_out_format=json.
  RatioReporter reporter(isatty(STDOUT_FILENO)
                             ? benchmark::ConsoleReporter::OO_ColorTabular
                             : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
