#!/usr/bin/env bash
# Builds the benchmarks with the bench preset and runs them pinned to one
# core, 5 repetitions each in random order. The order spreads a burst of
# load from other processes over many benchmarks instead of the few that
# run at that moment. Extra arguments go to the benchmark binary, for
# example --benchmark_filter=W2.
#
# Every compared workload is single-threaded. adjoint_bench limits OpenBLAS
# and libtorch to one thread itself, and the variables below also keep
# OpenBLAS and OpenMP (libtorch's thread pool) from starting worker threads.
set -euo pipefail

cd "$(dirname "$0")/.."
cmake --preset bench
cmake --build --preset bench

# Pins the run to the last core. The runs in docs/benchmarks.md used core 1
# of a 2-core machine.
core=$(($(nproc) - 1))
echo "Load average before the run: $(cut -d ' ' -f 1-3 /proc/loadavg)"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c "$core" \
  ./build/bench/bench/adjoint_bench \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_enable_random_interleaving=true "$@"
echo "Load average after the run: $(cut -d ' ' -f 1-3 /proc/loadavg)"
