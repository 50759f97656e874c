#include "setup.hpp"

#include <dlfcn.h>
#include <sys/resource.h>
#include <fmt/format.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#ifdef ADJOINT_HAS_CBLAS
#include <cblas.h>
#endif

namespace adjoint_bench {
namespace {

/// The resolved path of the shared object that contains `address`.
[[maybe_unused]] std::string library_of(const void* address) {
  Dl_info info;
  if (address == nullptr || dladdr(address, &info) == 0 ||
      info.dli_fname == nullptr) {
    return "not found";
  }
  char resolved[PATH_MAX];
  if (realpath(info.dli_fname, resolved) == nullptr) return info.dli_fname;
  return resolved;
}

/// Paths of the mapped files whose names contain "blas" or "lapack".
std::set<std::string> mapped_blas_libraries() {
  std::set<std::string> paths;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const std::size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name.find("blas") != std::string::npos ||
        name.find("lapack") != std::string::npos) {
      paths.insert(path);
    }
  }
  return paths;
}

}  // namespace

void set_threads([[maybe_unused]] int threads) {
#ifdef ADJOINT_HAS_CBLAS
  openblas_set_num_threads(threads);
#endif
#ifdef ADJOINT_BENCH_HAS_LIBTORCH
  set_libtorch_threads(threads);
#endif
}

std::string describe_setup() {
  std::string text;
#ifdef ADJOINT_HAS_CBLAS
  text += fmt::format(
      "adjoint matmul: {} (core {}), {} thread(s), cblas_dgemm from {}\n",
      openblas_get_config(), openblas_get_corename(),
      openblas_get_num_threads(),
      library_of(reinterpret_cast<const void*>(&cblas_dgemm)));
#else
  text += "adjoint matmul: the built-in loops (built without OpenBLAS)\n";
#endif
#ifdef ADJOINT_BENCH_HAS_LIBTORCH
  // libtorch calls the Fortran BLAS symbols, which the dynamic linker
  // resolves to the first library in the process that defines them.
  text += fmt::format("{}, dgemm_ from {}\n", describe_libtorch(),
                      library_of(dlsym(RTLD_DEFAULT, "dgemm_")));
#else
  text += "libtorch: not built in (ADJOINT_BENCH_LIBTORCH off or not found)\n";
#endif
  const std::set<std::string> libraries = mapped_blas_libraries();
  text += "BLAS libraries mapped:";
  for (const std::string& path : libraries) text += ' ' + path;
  text += libraries.empty() ? " none\n" : "\n";
  return text;
}

double minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_minflt);
}

void set_page_faults(benchmark::State& state, double before) {
  state.counters["page_faults"] = benchmark::Counter(
      minor_page_faults() - before, benchmark::Counter::kAvgIterations);
}

}  // namespace adjoint_bench
