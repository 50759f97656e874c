#define BOOST_TEST_MODULE tensor_reduction
// GCC 12 reports a false -Wrestrict in the std::string::assign that
// Boost.Multiprecision's format_float_string inlines, when to_text() prints
// a cpp_bin_float_50. The state at the warning's location decides, so the
// pragma must come before the first standard header.
#pragma GCC diagnostic ignored "-Wrestrict"
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "tensor_support.hpp"

// Gradients of the reductions (sum, mean, max, min, logsumexp over every
// element and over chosen axes), softmax, log_softmax and cross_entropy
// against the 50-digit central difference of check_gradient(), for double
// and cpp_bin_float_50. The samples have no ties, so max and min are
// smooth there; the tie conventions are in tensor_forward_test.cpp.

namespace {

using adjoint::Axes;
using adjoint::Reference;
using adjoint::Shape;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::EmptyTapes;
using adjoint::testing::expect_exact_values;
using adjoint::testing::expect_tensor_gradient;
using adjoint::testing::make;
using adjoint::testing::sample;
using adjoint::testing::TensorTypes;
using adjoint::testing::weighted_sum;

/// Axes of a [2, 3, 4] tensor to reduce over: each single axis, from the
/// front and from the back, pairs, and all three.
const std::vector<Axes>& axis_lists() {
  static const std::vector<Axes> lists = {
      {0}, {1}, {2}, {-1}, {-3}, {0, 2}, {-1, 0}, {2, 1}, {0, 1, 2}, {-3, -2},
  };
  return lists;
}

/// Checks sum, mean, max, min and logsumexp of `x` over `axes`, with and
/// without keepdim. Each result is squared and weighted, so that every
/// output element sends its own gradient back.
template <class T>
void check_axis_reductions(const Tensor<T>& x, const Axes& axes) {
  for (const bool keepdim : {false, true}) {
    BOOST_TEST_CONTEXT("axes [" << fmt::format("{}", fmt::join(axes, ", "))
                                << "] of shape " << fmt::format("{}", x.shape())
                                << (keepdim ? " with keepdim" : "")) {
      expect_tensor_gradient<T>(
          [&](auto v) { return weighted_sum(square(sum(v[0], axes, keepdim))); },
          {x});
      expect_tensor_gradient<T>(
          [&](auto v) { return weighted_sum(square(mean(v[0], axes, keepdim))); },
          {x});
      expect_tensor_gradient<T>(
          [&](auto v) { return weighted_sum(square(max(v[0], axes, keepdim))); },
          {x});
      expect_tensor_gradient<T>(
          [&](auto v) { return weighted_sum(square(min(v[0], axes, keepdim))); },
          {x});
      expect_tensor_gradient<T>(
          [&](auto v) {
            return weighted_sum(square(logsumexp(v[0], axes, keepdim)));
          },
          {x});
    }
  }
}

/// Tolerance of the gradient checks at logits near ±1000. There the step
/// of the central difference is 1e-9, and its truncation error, about
/// h^2 f'''(x) / (6 f'(x)), reaches 1e-18 relative, the tolerance of
/// cpp_bin_float_50 at ordinary points.
template <class T>
inline constexpr double large_logit_tolerance =
    std::max(adjoint::testing::tensor_tolerance<T>, 1e-16);

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tensor_reduction, EmptyTapes)

BOOST_AUTO_TEST_CASE_TEMPLATE(reductions_over_every_element, T, TensorTypes) {
  for (const Shape& shape : {Shape{}, Shape{5}, Shape{2, 3}, Shape{2, 3, 4}}) {
    BOOST_TEST_CONTEXT("shape " << fmt::format("{}", shape)) {
      const std::vector<Tensor<T>> x = {sample<T>(shape, 0.4, 2.0)};
      // Alone, with the adjoint 1, and inside a larger expression.
      expect_tensor_gradient<T>([](auto v) { return sum(v[0]); }, x);
      expect_tensor_gradient<T>([](auto v) { return mean(v[0]); }, x);
      expect_tensor_gradient<T>([](auto v) { return max(v[0]); }, x);
      expect_tensor_gradient<T>([](auto v) { return min(v[0]); }, x);
      expect_tensor_gradient<T>([](auto v) { return logsumexp(v[0]); }, x);
      expect_tensor_gradient<T>(
          [](auto v) { return square(sum(v[0] * v[0])) * 0.5; }, x);
      expect_tensor_gradient<T>(
          [](auto v) { return exp(mean(v[0])) * sum(sin(v[0])); }, x);
      expect_tensor_gradient<T>(
          [](auto v) { return max(v[0]) * min(v[0]) - max(v[0] * 3.0); }, x);
      expect_tensor_gradient<T>(
          [](auto v) { return logsumexp(v[0] * 2.0) * sum(v[0]); }, x);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reductions_over_axes, T, TensorTypes) {
  const Tensor<T> x = sample<T>({2, 3, 4}, 0.2, 2.0);
  for (const Axes& axes : axis_lists()) check_axis_reductions<T>(x, axes);
  // A matrix, and an axis of extent 1.
  check_axis_reductions<T>(sample<T>({3, 4}, 1.2), {1});
  check_axis_reductions<T>(sample<T>({3, 4}, 1.2), {-2});
  check_axis_reductions<T>(sample<T>({3, 1, 2}, 0.9), {1});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reductions_with_single_axis_argument, T,
                              TensorTypes) {
  const std::vector<Tensor<T>> x = {sample<T>({2, 3}, 0.8)};
  expect_tensor_gradient<T>(
      [](auto v) {
        return weighted_sum(sum(v[0], 1)) + weighted_sum(mean(v[0], -2, true)) +
               weighted_sum(max(v[0], 0)) + weighted_sum(min(v[0], -1, true)) +
               weighted_sum(logsumexp(v[0], 1));
      },
      x);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reductions_at_large_magnitudes, T, TensorTypes) {
  // logsumexp shifts by the largest element, so logits of 1000 neither
  // overflow nor lose the gradient. Within one reduction the logits stay
  // within a few units of each other: exp(-2000) is a normal number in 50
  // digits, but no central difference of f can resolve it.
  for (const double sign : {1.0, -1.0}) {
    const std::vector<Tensor<T>> logits = {make<T>(
        {2, 3}, {1000 * sign, 999 * sign, 1001.5 * sign, 998 * sign,
                 1002 * sign, 1000.25 * sign})};
    BOOST_TEST_CONTEXT("logits near " << 1000 * sign) {
      expect_tensor_gradient<T>([](auto v) { return logsumexp(v[0]); }, logits,
                                large_logit_tolerance<T>);
      expect_tensor_gradient<T>(
          [](auto v) { return weighted_sum(logsumexp(v[0], 1)); }, logits,
          large_logit_tolerance<T>);
      expect_tensor_gradient<T>(
          [](auto v) { return weighted_sum(logsumexp(v[0], 0, true)); },
          logits, large_logit_tolerance<T>);
    }
  }
  const std::vector<Tensor<T>> big = {
      make<T>({2, 2}, {1e150, -3e150, 2e149, 5e150})};
  expect_tensor_gradient<T>([](auto v) { return sum(v[0]) * 1e-150; }, big);
  expect_tensor_gradient<T>([](auto v) { return mean(v[0]); }, big);
  expect_tensor_gradient<T>([](auto v) { return max(v[0]) - min(v[0]); }, big);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(max(v[0], 1)) + weighted_sum(mean(v[0], 0)); },
      big);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reductions_of_empty_tensors, T, TensorTypes) {
  const Tensor<T> empty(Shape{4, 0}, std::vector<T>{});
  // Sum over no elements is 0 and every gradient has no elements.
  expect_tensor_gradient<T>([](auto v) { return sum(v[0]); }, {empty});
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(sum(v[0], 1)); }, {empty});
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(max(v[0], 0, true)); }, {empty});
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(logsumexp(v[0], 0)); }, {empty});
  // The values: sum over the empty axis is 0, mean NaN, logsumexp -inf.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  expect_exact_values<T>(sum(empty, 1).values(), {0, 0, 0, 0});
  expect_exact_values<T>(mean(empty, 1).values(), {nan, nan, nan, nan});
  expect_exact_values<T>(logsumexp(empty, 1).values(), {-inf, -inf, -inf, -inf});
  BOOST_TEST((sum(empty, 0).shape() == Shape{0}));
  BOOST_TEST((max(empty, 0).shape() == Shape{0}));
  BOOST_TEST((sum(empty, {0, 1}, true).shape() == Shape{1, 1}));
  BOOST_TEST(sum(empty).value() == T(0));
  BOOST_TEST(logsumexp(empty).value() == T(-inf));
}

// softmax, log_softmax and cross_entropy

BOOST_AUTO_TEST_CASE_TEMPLATE(softmax_gradients, T, TensorTypes) {
  const std::vector<Tensor<T>> matrix = {sample<T>({2, 3}, 0.3, 2.0)};
  const std::vector<Tensor<T>> cube = {sample<T>({2, 3, 4}, 1.3, 2.0)};
  const std::vector<Tensor<T>> vector = {sample<T>({5}, 2.3, 2.0)};
  for (const std::ptrdiff_t axis : {0, 1, -1, -2}) {
    BOOST_TEST_CONTEXT("axis " << axis) {
      const auto softmax_along = [axis](auto v) {
        return weighted_sum(softmax(v[0], axis));
      };
      const auto log_softmax_along = [axis](auto v) {
        return weighted_sum(log_softmax(v[0], axis));
      };
      expect_tensor_gradient<T>(softmax_along, matrix);
      expect_tensor_gradient<T>(log_softmax_along, matrix);
      expect_tensor_gradient<T>(softmax_along, cube);
      expect_tensor_gradient<T>(log_softmax_along, cube);
    }
  }
  expect_tensor_gradient<T>([](auto v) { return weighted_sum(softmax(v[0])); },
                            vector);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(log_softmax(v[0], 2)); }, cube);
  // sum(log_softmax) has a uniform output gradient; the default axis is
  // the last.
  expect_tensor_gradient<T>([](auto v) { return sum(log_softmax(v[0])); },
                            matrix);
  expect_tensor_gradient<T>(
      [](auto v) { return sum(square(softmax(v[0]))); }, cube);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(softmax_with_large_logits, T, TensorTypes) {
  // Rows near 1000 and near -1000: along axis 1 each line is close
  // together, along axis 0 each line spans 2000, where softmax sends 0 to
  // the smaller logit.
  const std::vector<Tensor<T>> logits = {
      make<T>({2, 3}, {1000, 999, 1001.5, -1000, -998, -1000.25})};
  const double tolerance = large_logit_tolerance<T>;
  expect_tensor_gradient<T>([](auto v) { return weighted_sum(softmax(v[0])); },
                            logits, tolerance);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(log_softmax(v[0])); }, logits, tolerance);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(log_softmax(v[0], 0)); }, logits,
      tolerance);
  expect_tensor_gradient<T>(
      [](auto v) { return cross_entropy(v[0], {2, 0}); }, logits, tolerance);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(cross_entropy_gradients, T, TensorTypes) {
  const std::vector<Tensor<T>> batch = {sample<T>({4, 3}, 0.6, 2.0)};
  // Every class, and one class chosen twice.
  expect_tensor_gradient<T>(
      [](auto v) { return cross_entropy(v[0], {0, 2, 1, 2}); }, batch);
  // One row of logits with one target.
  const std::vector<Tensor<T>> row = {sample<T>({5}, 1.6, 2.0)};
  for (const std::size_t target : {0, 3, 4}) {
    expect_tensor_gradient<T>(
        [target](auto v) { return cross_entropy(v[0], {target}); }, row);
  }
  // Inside a larger expression, and through a matrix product.
  expect_tensor_gradient<T>(
      [](auto v) {
        return cross_entropy(matmul(v[0], v[1]), {1, 0}) * 2.0 + sum(v[1]);
      },
      {sample<T>({2, 3}, 0.1), sample<T>({3, 2}, 0.5)});
  // One class: the loss is 0 whatever the logit.
  expect_tensor_gradient<T>([](auto v) { return cross_entropy(v[0], {0, 0}); },
                            {sample<T>({2, 1}, 0.5)});
}

BOOST_AUTO_TEST_SUITE_END()
