// The recorded programs of W3 and W5, shared by the benchmarks and by
// adjoint_profile, so that the profile measures the benchmarked code.

#pragma once

#include "autodiff/autodiff.hpp"
#include "data.hpp"

namespace adjoint_bench {

/// W3: sum(square(z - w * x)), with w a Var or a 0-dimensional tensor.
template <class Parameter>
adjoint::Var<double> tutorial_loss(const TutorialTensors& data,
                                   const Parameter& w) {
  return sum(square(data.z - w * data.x));
}

/// W5 with scalar nodes: t <- t + p and t <- t * p in turn, from
/// kChainStart. Each operation records a node, since t is never a
/// temporary that could be fused.
inline adjoint::Var<double> var_chain(const adjoint::Var<double>& p) {
  adjoint::Var<double> t = adjoint::constant(kChainStart);
  for (int i = 0; i < kChainOperations; ++i) t = i % 2 == 0 ? t + p : t * p;
  return t;
}

/// W5 with one-element tensors, ending in sum(t).
inline adjoint::Var<double> tensor_chain(const adjoint::Tensor<double>& start,
                                         const adjoint::Tensor<double>& p) {
  adjoint::Tensor<double> t = start;
  for (int i = 0; i < kChainOperations; ++i) t = i % 2 == 0 ? t + p : t * p;
  return sum(t);
}

}  // namespace adjoint_bench
