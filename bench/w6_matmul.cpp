// W6: the product of two 512 x 512 matrices, in float and in double.
//
//   W6/<type>/a_openblas          cblas_sgemm or cblas_dgemm on the operands'
//                                 arrays, into a preallocated output
//   W6/<type>/b_adjoint_forward   adjoint::matmul of two constants (nothing
//                                 is recorded; the output is a new tensor)
//   W6/<type>/c_libtorch_forward  torch::mm (libtorch_peers.cpp)
//   W6/<type>/d_adjoint_gradient  sum(matmul(A, B)) of two parameters and
//                                 backward(): three matrix products
//   W6/<type>/e_libtorch_gradient the same in libtorch
//   W6/<type>/f_openblas_gradient the three products of d_ called directly:
//                                 C = A B, dA = 1 B^T and dB = A^T 1
//
// Every variant reads the same operand arrays (data.hpp). The OpenBLAS
// variants need a build with ADJOINT_HAS_CBLAS. Each variant checks its
// result against plain loops in double before timing.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>

#include "autodiff/autodiff.hpp"
#include "data.hpp"

#ifdef ADJOINT_HAS_CBLAS
#include <cblas.h>
#endif

namespace {

using adjoint_bench::kMatmulSize;

#ifdef ADJOINT_HAS_CBLAS

/// A kMatmulSize x kMatmulSize matrix of zeros, 64-byte aligned as
/// adjoint's tensor buffers are.
template <class T>
class Matrix {
 public:
  Matrix()
      : values_(static_cast<T*>(std::aligned_alloc(64, kCount * sizeof(T)))) {
    if (!values_) throw std::bad_alloc();
    std::fill_n(values_.get(), kCount, T(0));
  }
  T* data() { return values_.get(); }
  std::span<const T> values() const { return {values_.get(), kCount}; }

 private:
  static constexpr std::size_t kCount = kMatmulSize * kMatmulSize;

  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> values_;
};

/// C = op(A) op(B) on kMatmulSize x kMatmulSize row-major matrices.
template <class T>
void gemm(bool transpose_a, bool transpose_b, const T* a, const T* b, T* c) {
  const int n = static_cast<int>(kMatmulSize);
  const auto ta = transpose_a ? CblasTrans : CblasNoTrans;
  const auto tb = transpose_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, double>) {
    cblas_dgemm(CblasRowMajor, ta, tb, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
  } else {
    cblas_sgemm(CblasRowMajor, ta, tb, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
  }
}

template <class T>
void w6_openblas(benchmark::State& state) {
  const adjoint_bench::MatmulOperands<T>& operands =
      adjoint_bench::matmul_operands<T>();
  Matrix<T> c;
  gemm<T>(false, false, operands.a.data(), operands.b.data(), c.data());
  const std::string error = adjoint_bench::check_matmul_product(c.values());
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    gemm<T>(false, false, operands.a.data(), operands.b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
}

template <class T>
void w6_openblas_gradient(benchmark::State& state) {
  const adjoint_bench::MatmulOperands<T>& operands =
      adjoint_bench::matmul_operands<T>();
  const T* a = operands.a.data();
  const T* b = operands.b.data();
  Matrix<T> ones;
  std::fill_n(ones.data(), kMatmulSize * kMatmulSize, T(1));
  Matrix<T> c;
  Matrix<T> grad_a;
  Matrix<T> grad_b;
  auto products = [&] {
    gemm<T>(false, false, a, b, c.data());
    gemm<T>(false, true, ones.data(), b, grad_a.data());
    gemm<T>(true, false, a, ones.data(), grad_b.data());
  };
  products();
  const std::string error =
      adjoint_bench::check_matmul_gradient(grad_a.values(), grad_b.values());
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    products();
    benchmark::DoNotOptimize(grad_b.data());
    benchmark::ClobberMemory();
  }
}

BENCHMARK_TEMPLATE(w6_openblas, float)
    ->Name("W6/float/a_openblas")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_openblas, double)
    ->Name("W6/double/a_openblas")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_openblas_gradient, float)
    ->Name("W6/float/f_openblas_gradient")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_openblas_gradient, double)
    ->Name("W6/double/f_openblas_gradient")
    ->Unit(benchmark::kMillisecond);

#endif  // ADJOINT_HAS_CBLAS

template <class T>
void w6_adjoint_forward(benchmark::State& state) {
  const adjoint_bench::MatmulOperands<T>& operands =
      adjoint_bench::matmul_operands<T>();
  {
    const adjoint::Tensor<T> c = matmul(operands.a, operands.b);
    const std::string error = adjoint_bench::check_matmul_product(c.values());
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  for (auto _ : state) {
    const adjoint::Tensor<T> c = matmul(operands.a, operands.b);
    benchmark::DoNotOptimize(c.data());
  }
}

template <class T>
void w6_adjoint_gradient(benchmark::State& state) {
  const adjoint_bench::MatmulOperands<T>& operands =
      adjoint_bench::matmul_operands<T>();
  adjoint::Tensor<T> a = adjoint::parameter(operands.a);
  adjoint::Tensor<T> b = adjoint::parameter(operands.b);
  {
    adjoint::Var<T> loss = sum(matmul(a, b));
    loss.backward();
    const std::string error =
        adjoint_bench::check_matmul_gradient(a.grad_values(), b.grad_values());
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  for (auto _ : state) {
    a.zero_grad();
    b.zero_grad();
    adjoint::Var<T> loss = sum(matmul(a, b));
    loss.backward();
    benchmark::DoNotOptimize(b.grad_values().data());
    benchmark::ClobberMemory();
  }
}

BENCHMARK_TEMPLATE(w6_adjoint_forward, float)
    ->Name("W6/float/b_adjoint_forward")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_adjoint_forward, double)
    ->Name("W6/double/b_adjoint_forward")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_adjoint_gradient, float)
    ->Name("W6/float/d_adjoint_gradient")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(w6_adjoint_gradient, double)
    ->Name("W6/double/d_adjoint_gradient")
    ->Unit(benchmark::kMillisecond);

}  // namespace
