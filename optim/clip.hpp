#pragma once

// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and
// clip_grad_value_. Call between backward() and the optimizer's step().

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "optim/optimizer.hpp"

namespace adjoint::optim {

/// Scales the gradients of `parameters` together so that their norm (the
/// p-norm of all elements as one vector, p = norm_type, which may be
/// infinity) is at most `max_norm`, and returns the norm before scaling.
/// As in PyTorch, the factor is max_norm / (norm + 1e-6) and gradients with
/// a smaller norm are left alone. Raises std::runtime_error when a gradient
/// element or the norm is not finite, since scaling would turn every
/// gradient into NaN. The norm is computed relative to the largest element,
/// so that gradients near the limits of T do not overflow it.
template <class T>
T clip_grad_norm(const std::vector<Parameter<T>>& parameters,
                 const std::type_identity_t<T>& max_norm,
                 const std::type_identity_t<T>& norm_type = T(2)) {
  using std::abs;
  using std::isfinite;
  using std::isinf;
  using std::pow;
  check_non_negative("clip_grad_norm", "max_norm", max_norm);
  check_setting(norm_type > T(0), "clip_grad_norm", "norm_type", norm_type,
                "> 0 (or infinity)");
  // The largest magnitude first: a gradient element that is not finite
  // stops here, and dividing by it keeps the sum of powers from
  // overflowing or underflowing when the elements are large or small.
  T largest(0);
  for (const Parameter<T>& p : parameters) {
    for (const T& g : p.grad()) {
      if (!isfinite(g)) {
        throw std::runtime_error(fmt::format(
            "clip_grad_norm: a gradient element is {} because the loss or "
            "its gradient overflowed. Lower the learning rate or check the "
            "loss for invalid operations",
            static_cast<double>(g)));
      }
      largest = std::max(largest, T(abs(g)));
    }
  }
  T norm = largest;
  if (!isinf(norm_type) && largest > T(0)) {
    T sum(0);
    for (const Parameter<T>& p : parameters) {
      for (const T& g : p.grad()) sum += pow(T(abs(g) / largest), norm_type);
    }
    norm = largest * T(pow(sum, T(T(1) / norm_type)));
  }
  if (!isfinite(norm)) {
    throw std::runtime_error(fmt::format(
        "clip_grad_norm: the norm of order {} of finite gradients overflows "
        "(largest element {}); use norm_type >= 1",
        static_cast<double>(norm_type), static_cast<double>(largest)));
  }
  const T factor = max_norm / (norm + T(1e-6));
  if (factor < T(1)) {
    for (Parameter<T> p : parameters) {
      for (T& g : p.mutable_grad()) g *= factor;
    }
  }
  return norm;
}

template <class T>
T clip_grad_norm(const Optimizer<T>& optimizer,
                 const std::type_identity_t<T>& max_norm,
                 const std::type_identity_t<T>& norm_type = T(2)) {
  return clip_grad_norm(optimizer.parameters(), max_norm, norm_type);
}

/// Clamps every gradient element of `parameters` to [-clip_value,
/// clip_value]. NaN elements stay NaN.
template <class T>
void clip_grad_value(const std::vector<Parameter<T>>& parameters,
                     const std::type_identity_t<T>& clip_value) {
  check_non_negative("clip_grad_value", "clip_value", clip_value);
  for (Parameter<T> p : parameters) {
    for (T& g : p.mutable_grad()) {
      if (g > clip_value) {
        g = clip_value;
      } else if (g < -clip_value) {
        g = -clip_value;
      }
    }
  }
}

template <class T>
void clip_grad_value(const Optimizer<T>& optimizer,
                     const std::type_identity_t<T>& clip_value) {
  clip_grad_value(optimizer.parameters(), clip_value);
}

}  // namespace adjoint::optim
