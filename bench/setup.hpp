// The thread and BLAS setup of the benchmark process, which main() sets and
// prints before the first benchmark.

#pragma once

#include <benchmark/benchmark.h>

#include <string>

namespace adjoint_bench {

/// Limits OpenBLAS, and libtorch when it is linked, to `threads` threads.
void set_threads(int threads);

/// Lines saying which BLAS library adjoint and libtorch call, with how many
/// threads, and which BLAS libraries the process has mapped.
std::string describe_setup();

/// Minor page faults of the process so far: first touches of memory that
/// the process got from the kernel, for example when glibc's malloc has
/// returned a freed large block to the kernel and maps a new one.
double minor_page_faults();

/// Sets the counter page_faults of `state` to the minor page faults per
/// iteration since `before`, a value of minor_page_faults().
void set_page_faults(benchmark::State& state, double before);

#ifdef ADJOINT_BENCH_HAS_LIBTORCH
// Defined in libtorch_peers.cpp.
void set_libtorch_threads(int threads);
std::string describe_libtorch();
#endif

}  // namespace adjoint_bench
