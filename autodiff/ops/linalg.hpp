#pragma once

// Linear algebra: matmul, dot, transpose and permute.
//
//   matmul(A, B)  matrix product with numpy.matmul's shapes: a 1-D left
//                 operand is a row vector and a 1-D right operand a column
//                 vector (the added dimension is dropped from the result),
//                 and leading dimensions are batch dimensions that
//                 broadcast. dA = dC B^T and dB = A^T dC, each summed over
//                 the batch dimensions its operand was broadcast along.
//   dot(a, b)     sum_i a_i b_i of two vectors, as a scalar node
//   permute(x, p) dimension i of the result is dimension p[i] of x; the
//                 gradient is permuted back
//
// Products of float and double run on OpenBLAS (see autodiff/blas.hpp).

#include <fmt/format.h>

#include <array>
#include <climits>
#include <cstddef>
#include <stdexcept>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/elementwise.hpp"

namespace adjoint {
namespace detail {

/// Shapes of one matmul call: op(A) is n x k and op(B) is k x m in every
/// batch, and the batch dimensions broadcast.
struct MatmulPlan {
  std::size_t n = 0, k = 0, m = 0;
  Shape batch;   // broadcast batch shape
  Shape result;  // the output's shape
  std::array<std::size_t, Shape::max_rank> batch_a{}, batch_b{};  // strides
};

inline MatmulPlan plan_matmul(const Shape& a, const Shape& b) {
  if (a.rank() == 0 || b.rank() == 0) {
    throw std::invalid_argument(fmt::format(
        "matmul: shapes {} and {}: both operands need at least one "
        "dimension; multiply by a 0-dimensional tensor with * instead",
        a, b));
  }
  MatmulPlan plan;
  Shape batch_a, batch_b;
  for (std::size_t d = 0; d + 2 < a.rank(); ++d) batch_a.push_back(a[d]);
  for (std::size_t d = 0; d + 2 < b.rank(); ++d) batch_b.push_back(b[d]);
  plan.n = a.rank() == 1 ? 1 : a[a.rank() - 2];
  plan.k = a[a.rank() - 1];
  const std::size_t kb = b.rank() == 1 ? b[0] : b[b.rank() - 2];
  plan.m = b.rank() == 1 ? 1 : b[b.rank() - 1];
  if (plan.k != kb) {
    throw std::invalid_argument(fmt::format(
        "matmul: inner dimensions differ: {} x {} ({} against {}); the last "
        "extent of the left operand must equal the {} extent of the right",
        a, b, plan.k, kb, b.rank() == 1 ? "only" : "second-to-last"));
  }
  try {
    plan.batch = broadcast_shapes(batch_a, batch_b, "matmul");
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(fmt::format(
        "matmul: batch dimensions of {} and {} do not broadcast ({} against "
        "{}); batch extents must match or one must be 1",
        a, b, batch_a, batch_b));
  }
  plan.batch_a = broadcast_strides(batch_a, plan.batch);
  plan.batch_b = broadcast_strides(batch_b, plan.batch);
  plan.result = plan.batch;
  if (a.rank() > 1) plan.result.push_back(plan.n);
  if (b.rank() > 1) plan.result.push_back(plan.m);
  constexpr std::size_t limit = INT_MAX;
  if (plan.n > limit || plan.k > limit || plan.m > limit) {
    throw std::invalid_argument(fmt::format(
        "matmul: shapes {} and {} have an extent above {}, which the BLAS "
        "interface cannot take; split the product",
        a, b, limit));
  }
  return plan;
}

/// Calls f(c, ia, ib) for every batch index c with the matrix offsets of
/// the two operands.
template <class F>
void for_each_batch(const MatmulPlan& plan, F&& f) {
  for_each_broadcast(plan.batch, plan.batch_a, plan.batch_b, f);
}

}  // namespace detail

/// Matrix product with numpy.matmul's rules for vectors and batches.
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  const detail::MatmulPlan plan = detail::plan_matmul(a.shape(), b.shape());
  const std::size_t n = plan.n, k = plan.k, m = plan.m;
  detail::TensorState<T> out(plan.result);
  const T* pa = a.data();
  const T* pb = b.data();
  T* pc = out.data;
  detail::for_each_batch(plan, [&](std::size_t c, std::size_t ia,
                                   std::size_t ib) {
    detail::gemm<T>(false, false, n, m, k, T(1), pa + ia * n * k, k,
                    pb + ib * k * m, m, T(0), pc + c * n * m, m);
  });
  return make_tensor_node<T>(
      "matmul", std::move(out), {a, b},
      [a = Tensor<T>(a), b = Tensor<T>(b), plan](TensorGrad<T>& grad, Backward<T>& backward) {
        const std::size_t n = plan.n, k = plan.k, m = plan.m;
        const T* g = grad.data();
        const T* pa = a.data();
        const T* pb = b.data();
        if (a.requires_grad()) {
          detail::Buffer<T> ga(a.numel());
          std::fill_n(ga.data(), ga.size(), T(0));
          detail::for_each_batch(plan, [&](std::size_t c, std::size_t ia,
                                           std::size_t ib) {
            // dA (n x k) += dC (n x m) B^T.
            detail::gemm<T>(false, true, n, k, m, T(1), g + c * n * m, m,
                            pb + ib * k * m, m, T(1), ga.data() + ia * n * k,
                            k);
          });
          backward.add(a, std::move(ga));
        }
        if (b.requires_grad()) {
          detail::Buffer<T> gb(b.numel());
          std::fill_n(gb.data(), gb.size(), T(0));
          detail::for_each_batch(plan, [&](std::size_t c, std::size_t ia,
                                           std::size_t ib) {
            // dB (k x m) += A^T dC.
            detail::gemm<T>(true, false, k, m, n, T(1), pa + ia * n * k, k,
                            g + c * n * m, m, T(1), gb.data() + ib * k * m,
                            m);
          });
          backward.add(b, std::move(gb));
        }
      });
}

/// sum_i a_i b_i of two vectors of the same length, as a scalar node.
template <class T>
Var<T> dot(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.rank() != 1 || b.rank() != 1 || a.numel() != b.numel()) {
    throw std::invalid_argument(fmt::format(
        "dot: shapes {} and {}; dot takes two vectors of the same length "
        "(use matmul for matrices)",
        a.shape(), b.shape()));
  }
  const T* pa = a.data();
  const T* pb = b.data();
  const T value = detail::sum_of<T>(
      a.numel(), [pa, pb](std::size_t i) { return T(pa[i] * pb[i]); });
  return make_scalar_node<T>(
      "dot", value, {a, b}, [a = Tensor<T>(a), b = Tensor<T>(b)](const T& adjoint, Backward<T>& backward) {
        for (const bool first : {true, false}) {
          const Tensor<T>& self = first ? a : b;
          const Tensor<T>& other = first ? b : a;
          if (!self.requires_grad()) continue;
          detail::Buffer<T> g(self.numel());
          for (std::size_t i = 0; i < g.size(); ++i) {
            g[i] = adjoint * other.data()[i];
          }
          backward.add(self, std::move(g));
        }
      });
}

/// Reorders the dimensions: dimension i of the result is dimension
/// order[i] of x. Negative entries count from the end.
template <class T>
Tensor<T> permute(const Tensor<T>& x, const std::vector<std::ptrdiff_t>& order) {
  const Shape& in = x.shape();
  if (order.size() != in.rank()) {
    throw std::invalid_argument(fmt::format(
        "permute: {} dimensions in the order [{}] for shape {}; name every "
        "dimension once",
        order.size(), fmt::join(order, ", "), in));
  }
  std::array<bool, Shape::max_rank> seen{};
  const auto in_strides = strides_of(in);
  std::array<std::size_t, Shape::max_rank> strides{};
  Shape shape;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::size_t d = normalize_axis(order[i], in.rank(), "permute");
    if (seen[d]) {
      throw std::invalid_argument(fmt::format(
          "permute: dimension {} appears twice in [{}]; name every dimension "
          "once",
          order[i], fmt::join(order, ", ")));
    }
    seen[d] = true;
    shape.push_back(in[d]);
    strides[i] = in_strides[d];
  }
  detail::TensorState<T> out(shape);
  const T* v = x.data();
  detail::for_each_broadcast(shape, strides, strides,
                             [&](std::size_t i, std::size_t from, std::size_t) {
                               out.data[i] = v[from];
                             });
  return make_tensor_node<T>(
      "permute", std::move(out), {x},
      [x = Tensor<T>(x), shape, strides](TensorGrad<T>& grad, Backward<T>& backward) {
        detail::Buffer<T> g(x.numel());
        detail::for_each_broadcast(
            shape, strides, strides,
            [&](std::size_t i, std::size_t from, std::size_t) {
              g[from] = grad[i];
            });
        backward.add(x, std::move(g));
      });
}

/// Swaps dimensions d0 and d1.
template <class T>
Tensor<T> transpose(const Tensor<T>& x, std::ptrdiff_t d0, std::ptrdiff_t d1) {
  std::vector<std::ptrdiff_t> order(x.rank());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = static_cast<std::ptrdiff_t>(i);
  }
  std::swap(order.at(normalize_axis(d0, x.rank(), "transpose")),
            order.at(normalize_axis(d1, x.rank(), "transpose")));
  return permute(x, order);
}

/// The transpose of a matrix (the last two dimensions of a batch).
template <class T>
Tensor<T> transpose(const Tensor<T>& x) {
  if (x.rank() < 2) {
    throw std::invalid_argument(fmt::format(
        "transpose: shape {} has fewer than two dimensions; a vector is its "
        "own transpose, use unsqueeze() to make it a row or column",
        x.shape()));
  }
  return transpose(x, -2, -1);
}

}  // namespace adjoint
