#!/usr/bin/env bash
# Builds the benchmarks with the bench preset and runs them pinned to one
# core, 5 repetitions each. Extra arguments go to the benchmark binary, for
# example --benchmark_filter=W2.
set -euo pipefail

cd "$(dirname "$0")/.."
cmake --preset bench
cmake --build --preset bench

# Pins the run to the last core. The runs in docs/benchmarks.md used core 1
# of a 2-core machine.
core=$(($(nproc) - 1))
taskset -c "$core" ./build/bench/bench/adjoint_bench \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "$@"
