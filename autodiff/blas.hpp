#pragma once

// General matrix product C = alpha op(A) op(B) + beta C on row-major
// arrays. float and double go to the CBLAS of OpenBLAS when the build
// defines ADJOINT_HAS_CBLAS (the adjoint::autodiff target does when OpenBLAS
// is found); other scalar types, such as multiprecision numbers, use the
// loops below.

#include <cstddef>
#include <type_traits>

#ifdef ADJOINT_HAS_CBLAS
#include <cblas.h>
#endif

namespace adjoint::detail {

/// C (m x n, row stride ldc) = alpha op(A) op(B) + beta C, where op(A) is
/// m x k and op(B) is k x n; `transpose_a` reads A (k x m, stride lda) as
/// its transpose, and likewise for B.
template <class T>
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n,
          std::size_t k, const T& alpha, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, const T& beta, T* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
#ifdef ADJOINT_HAS_CBLAS
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
    if (k > 0) {
      const auto ta = transpose_a ? CblasTrans : CblasNoTrans;
      const auto tb = transpose_b ? CblasTrans : CblasNoTrans;
      const auto i = [](std::size_t x) { return static_cast<int>(x); };
      constexpr bool is_double = std::is_same_v<T, double>;
      if (n == 1) {
        // A column of output: a matrix-vector product with op(A).
        const std::size_t rows = transpose_a ? k : m;
        const std::size_t cols = transpose_a ? m : k;
        const std::size_t step = transpose_b ? 1 : ldb;
        if constexpr (is_double) {
          cblas_dgemv(CblasRowMajor, ta, i(rows), i(cols), alpha, a, i(lda), b,
                      i(step), beta, c, i(ldc));
        } else {
          cblas_sgemv(CblasRowMajor, ta, i(rows), i(cols), alpha, a, i(lda), b,
                      i(step), beta, c, i(ldc));
        }
      } else if (m == 1) {
        // A row of output: op(B) transposed times the row of op(A).
        const auto tv = transpose_b ? CblasNoTrans : CblasTrans;
        const std::size_t rows = transpose_b ? n : k;
        const std::size_t cols = transpose_b ? k : n;
        const std::size_t step = transpose_a ? lda : 1;
        if constexpr (is_double) {
          cblas_dgemv(CblasRowMajor, tv, i(rows), i(cols), alpha, b, i(ldb), a,
                      i(step), beta, c, 1);
        } else {
          cblas_sgemv(CblasRowMajor, tv, i(rows), i(cols), alpha, b, i(ldb), a,
                      i(step), beta, c, 1);
        }
      } else if constexpr (is_double) {
        cblas_dgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), alpha, a, i(lda),
                    b, i(ldb), beta, c, i(ldc));
      } else {
        cblas_sgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), alpha, a, i(lda),
                    b, i(ldb), beta, c, i(ldc));
      }
      return;
    }
  }
#endif
  // Row by row: c[i, :] = beta c[i, :] + alpha sum_p op(A)[i, p] op(B)[p, :].
  for (std::size_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    for (std::size_t j = 0; j < n; ++j) {
      row[j] = beta == T(0) ? T(0) : T(beta * row[j]);
    }
    for (std::size_t p = 0; p < k; ++p) {
      const T aip = transpose_a ? a[p * lda + i] : a[i * lda + p];
      const T scaled = alpha * aip;
      if (transpose_b) {
        for (std::size_t j = 0; j < n; ++j) row[j] += scaled * b[j * ldb + p];
      } else {
        const T* brow = b + p * ldb;
        for (std::size_t j = 0; j < n; ++j) row[j] += scaled * brow[j];
      }
    }
  }
}

}  // namespace adjoint::detail
