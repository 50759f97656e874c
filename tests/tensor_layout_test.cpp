#define BOOST_TEST_MODULE tensor_layout
// GCC 12 reports a false -Wrestrict in the std::string::assign that
// Boost.Multiprecision's format_float_string inlines, when to_text() prints
// a cpp_bin_float_50. The state at the warning's location decides, so the
// pragma must come before the first standard header.
#pragma GCC diagnostic ignored "-Wrestrict"
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "tensor_support.hpp"

// Gradients against the 50-digit central difference of check_gradient(),
// for double and cpp_bin_float_50, of the linear algebra and layout
// operators: matmul, dot, transpose, permute, reshape, flatten, squeeze,
// unsqueeze, slice, index_select, concat and stack. Then as_tensor and
// graphs that mix Var and Tensor nodes.

namespace {

using adjoint::ScalarOf;
using adjoint::Shape;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::EmptyTapes;
using adjoint::testing::expect_gradient;
using adjoint::testing::expect_tensor_gradient;
using adjoint::testing::sample;
using adjoint::testing::tensor_tolerance;
using adjoint::testing::TensorTypes;
using adjoint::testing::weighted_sum;

/// matmul's operand shapes. They are matrix x matrix, matrix x vector,
/// vector x matrix and vector x vector, batches with equal and with
/// broadcast batch dimensions, and a batch against a plain matrix or
/// vector on either side. The last are an inner extent of 1 and products
/// with an empty dimension.
const std::vector<std::pair<Shape, Shape>>& matmul_shapes() {
  static const std::vector<std::pair<Shape, Shape>> shapes = {
      {Shape{2, 3}, Shape{3, 4}},       {Shape{2, 3}, Shape{3}},
      {Shape{3}, Shape{3, 4}},          {Shape{3}, Shape{3}},
      {Shape{1, 3}, Shape{3, 1}},       {Shape{4, 1}, Shape{1, 2}},
      {Shape{2, 2, 3}, Shape{2, 3, 4}}, {Shape{2, 1, 2, 3}, Shape{3, 3, 2}},
      {Shape{2, 3}, Shape{4, 3, 2}},    {Shape{4, 2, 3}, Shape{3, 2}},
      {Shape{5, 2, 3}, Shape{3}},       {Shape{3}, Shape{2, 3, 4}},
      {Shape{1, 2, 3}, Shape{2, 3, 1}}, {Shape{2, 0}, Shape{0, 3}},
      {Shape{0, 3}, Shape{3, 2}},       {Shape{2, 3}, Shape{3, 0}},
  };
  return shapes;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tensor_layout, EmptyTapes)

// Linear algebra

BOOST_AUTO_TEST_CASE_TEMPLATE(matmul_gradients, T, TensorTypes) {
  for (const auto& [shape_a, shape_b] : matmul_shapes()) {
    BOOST_TEST_CONTEXT("matmul of " << fmt::format("{}", shape_a) << " and "
                                    << fmt::format("{}", shape_b)) {
      const std::vector<Tensor<T>> inputs = {sample<T>(shape_a, 0.3),
                                             sample<T>(shape_b, 1.7)};
      expect_tensor_gradient<T>(
          [](auto v) { return weighted_sum(matmul(v[0], v[1])); }, inputs);
      expect_tensor_gradient<T>(
          [](auto v) { return sum(matmul(v[0], v[1])); }, inputs);
    }
  }
  // The same matrix on both sides, and a product of products.
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(matmul(v[0], v[0])); },
      {sample<T>({3, 3}, 0.5)});
  expect_tensor_gradient<T>(
      [](auto v) {
        return weighted_sum(matmul(matmul(v[0], v[1]), transpose(v[0])));
      },
      {sample<T>({2, 3}, 0.5), sample<T>({3, 3}, 0.1)});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(dot_gradients, T, TensorTypes) {
  expect_tensor_gradient<T>([](auto v) { return dot(v[0], v[1]); },
                            {sample<T>({4}, 0.3), sample<T>({4}, 2.3)});
  expect_tensor_gradient<T>([](auto v) { return dot(v[0], v[0]); },
                            {sample<T>({5}, 0.3)});
  expect_tensor_gradient<T>(
      [](auto v) { return square(dot(v[0], v[1] * 2.0)) + dot(v[1], v[0]); },
      {sample<T>({3}, 0.3), sample<T>({3}, 2.3)});
  expect_tensor_gradient<T>([](auto v) { return dot(v[0], v[1]); },
                            {Tensor<T>(Shape{0}, std::vector<T>{}),
                             Tensor<T>(Shape{0}, std::vector<T>{})});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(transpose_and_permute_gradients, T, TensorTypes) {
  const std::vector<Tensor<T>> matrix = {sample<T>({2, 3}, 0.2)};
  const std::vector<Tensor<T>> cube = {sample<T>({2, 3, 4}, 0.7)};
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(transpose(v[0])); }, matrix);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(transpose(v[0], 0, 1)); }, matrix);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(transpose(v[0])); }, cube);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(transpose(v[0], 0, 2)); }, cube);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(transpose(v[0], -1, 0)); }, cube);
  for (const std::vector<std::ptrdiff_t>& order :
       {std::vector<std::ptrdiff_t>{2, 0, 1}, {1, 2, 0}, {0, 1, 2},
        {-1, 0, 1}, {0, -1, -2}}) {
    BOOST_TEST_CONTEXT("order [" << fmt::format("{}", fmt::join(order, ", "))
                                 << "]") {
      expect_tensor_gradient<T>(
          [&order](auto v) { return weighted_sum(permute(v[0], order)); },
          cube);
      // The permuted tensor in arithmetic with a broadcast operand.
      expect_tensor_gradient<T>(
          [&order](auto v) {
            return weighted_sum(square(permute(v[0], order)) * v[1]);
          },
          {cube[0], sample<T>({1}, 0.4)});
    }
  }
}

// Layout

BOOST_AUTO_TEST_CASE_TEMPLATE(reshape_family_gradients, T, TensorTypes) {
  const std::vector<Tensor<T>> x = {sample<T>({2, 3}, 0.9)};
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(reshape(v[0], {3, 2})); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(reshape(v[0], {-1})); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(reshape(v[0], {2, -1, 1})); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(reshape(v[0], {-1, 2})); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(reshape(v[0], Shape{1, 6, 1})); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(flatten(v[0])); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return sum(exp(flatten(v[0]))); }, x);
  // A view of a view, used next to the original.
  expect_tensor_gradient<T>(
      [](auto v) {
        const auto r = reshape(v[0], {3, 2});
        return weighted_sum(reshape(r * 2.0, {6})) + weighted_sum(v[0] * v[0]);
      },
      x);
  const std::vector<Tensor<T>> column = {sample<T>({3, 1}, 0.9)};
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(squeeze(v[0], 1)); }, column);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(squeeze(v[0], -1)); }, column);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(squeeze(v[0], 0)); },
      {sample<T>({1}, 0.9)});
  for (const std::ptrdiff_t axis : {0, 1, 2, -1, -3}) {
    BOOST_TEST_CONTEXT("unsqueeze at " << axis) {
      expect_tensor_gradient<T>(
          [axis](auto v) { return weighted_sum(unsqueeze(v[0], axis)); }, x);
      // The new axis broadcasts against another operand.
      expect_tensor_gradient<T>(
          [axis](auto v) {
            return weighted_sum(unsqueeze(v[0], axis) * sum(v[0]));
          },
          x);
    }
  }
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(unsqueeze(v[0], 0)); },
      {sample<T>({}, 0.9)});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(slice_gradients, T, TensorTypes) {
  const std::vector<Tensor<T>> x = {sample<T>({4, 5}, 0.1)};
  struct Slice {
    std::ptrdiff_t axis, start, stop, step;
  };
  // Plain ranges, steps, negative bounds, bounds past the end (clamped),
  // an empty range and a negative axis.
  for (const Slice& s : {Slice{0, 1, 3, 1}, Slice{1, 0, 5, 2}, Slice{1, -3, -1, 1},
                         Slice{0, -10, 10, 3}, Slice{1, 4, 2, 1}, Slice{-1, 1, 5, 3},
                         Slice{-2, -1, 4, 1}, Slice{1, 3, 3, 1}}) {
    BOOST_TEST_CONTEXT("slice(axis " << s.axis << ", " << s.start << ", "
                                     << s.stop << ", step " << s.step << ")") {
      expect_tensor_gradient<T>(
          [s](auto v) {
            return weighted_sum(slice(v[0], s.axis, s.start, s.stop, s.step));
          },
          x);
    }
  }
  // Overlapping slices of one tensor add up.
  expect_tensor_gradient<T>(
      [](auto v) {
        return weighted_sum(slice(v[0], 0, 0, 3) * slice(v[0], 0, 1, 4));
      },
      x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(slice(v[0], 1, 1, 3)); },
      {sample<T>({2, 4, 3}, 0.6)});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(index_select_gradients, T, TensorTypes) {
  const std::vector<Tensor<T>> x = {sample<T>({4, 3}, 0.1)};
  // Repeated indices add their gradients; an index may be skipped.
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(index_select(v[0], 0, {2, 0, 2, 2})); },
      x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(index_select(v[0], 1, {1, 1})); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(index_select(v[0], -1, {2, 0, 1})); },
      x);
  expect_tensor_gradient<T>(
      [](auto v) { return sum(index_select(v[0], 0, {3, 3, 3})); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(index_select(v[0], 0, {})); }, x);
  const std::vector<std::size_t> indices = {1, 0, 1};
  expect_tensor_gradient<T>(
      [&indices](auto v) {
        return weighted_sum(index_select(v[0], 1, std::span(indices)));
      },
      {sample<T>({2, 2, 2}, 0.4)});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(concat_and_stack_gradients, T, TensorTypes) {
  const std::vector<Tensor<T>> parts = {
      sample<T>({2, 3}, 0.1), sample<T>({1, 3}, 0.5), sample<T>({2, 2}, 0.9),
      sample<T>({2, 3}, 1.3)};
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(concat(std::vector{v[0], v[1]}, 0)); }, parts);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(concat(std::vector{v[0], v[2], v[3]}, 1)); },
      parts);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(concat(std::vector{v[2], v[0]}, -1)); }, parts);
  // The same tensor twice, a constant part and an empty part.
  expect_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        const Tensor<S> constant = sample<S>({2, 3}, 4.0);
        const Tensor<S> empty(Shape{0, 3}, std::vector<S>{});
        return weighted_sum(concat(std::vector{v[0], constant, empty, v[0], v[1]}));
      },
      parts);
  for (const std::ptrdiff_t axis : {0, 1, 2, -1, -3}) {
    BOOST_TEST_CONTEXT("stack along " << axis) {
      expect_tensor_gradient<T>(
          [axis](auto v) { return weighted_sum(stack(std::vector{v[0], v[3], v[0]}, axis)); },
          parts);
    }
  }
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(stack(std::vector{v[0], v[1]})); },
      {sample<T>({}, 0.3), sample<T>({}, 0.8)});
}

// as_tensor and graphs of Var and Tensor nodes

BOOST_AUTO_TEST_CASE_TEMPLATE(as_tensor_gradients, T, TensorTypes) {
  // The Vars are parameters of the scalar checker.
  const auto f = [](auto v) {
    using S = ScalarOf<decltype(v[0])>;
    const Tensor<S> a = as_tensor(v[0]);
    const Tensor<S> c = sample<S>({2, 3}, 0.6);
    return weighted_sum(c * a) + sum(square(a)) +
           weighted_sum(stack(std::vector{a, as_tensor(v[1] * v[0]), a * 2.0}));
  };
  expect_gradient<T>(f, {T(0.7), T(-1.3)}, tensor_tolerance<T>);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(mixed_var_and_tensor_graphs, T, TensorTypes) {
  // Tensor -> Var -> Tensor -> Var, with Var arithmetic in between.
  expect_tensor_gradient<T>(
      [](auto v) {
        const auto s = mean(v[0]);
        const auto scale = exp(s) + s * s;
        const auto hidden = tanh(matmul(v[0], v[1]) * scale);
        const auto norm = sqrt(sum(square(hidden)) + 1.0);
        return logsumexp(flatten(hidden) / norm) * scale + max(hidden) * norm;
      },
      {sample<T>({2, 3}, 0.2), sample<T>({3, 2}, 1.2)});
  // The Vars are parameters of the scalar checker and the tensors
  // constants: a linear model's squared error, written with tensors.
  const auto model = [](auto p) {
    using S = ScalarOf<decltype(p[0])>;
    const Tensor<S> x = sample<S>({5}, 0.3, 2.0);
    const Tensor<S> z = sample<S>({5}, 1.1, 2.0);
    const Var<S> residual_norm = sum(square(z - (p[0] * x + p[1])));
    return residual_norm + p[0] * p[1] + dot(x, x * p[1]);
  };
  expect_gradient<T>(model, {T(0.5), T(-0.25)}, tensor_tolerance<T>);
}

// The tensor gradient checker itself

BOOST_AUTO_TEST_CASE(checker_reports_worst_element) {
  // An operator with a deliberately wrong derivative, 2 v + 1 instead of
  // 2 v for v^2, on the second input only. Its relative error 1 / (2 v) is
  // largest at the first element of that input, 5.
  const std::vector<Tensor<double>> inputs = {
      Tensor<double>{{1, 2}, {3, 4}}, Tensor<double>{5, 6}};
  const auto wrong_square = [](const auto& x) {
    using S = typename std::decay_t<decltype(x)>::value_type;
    return adjoint::map<S>(
        "wrong_square", x, [](const S& v) { return S(v * v); },
        [](const S& v, const S&) { return S(2 * v + 1); });
  };
  const auto result = adjoint::check_gradient<double>(
      [&](auto x) { return sum(x[0]) + sum(wrong_square(x[1])); }, inputs);
  BOOST_TEST(std::abs(result.max_relative_error - 0.1) < 1e-12);
  BOOST_TEST(result.worst_input == 1u);
  BOOST_TEST(result.worst_element == 0u);
  BOOST_TEST(result.reverse == 11.0);
  BOOST_TEST(std::abs(result.finite_difference - 10.0) < 1e-12);
  BOOST_TEST_REQUIRE(result.gradients.size() == 2u);
  BOOST_TEST(result.gradients[0] == std::vector<double>({1, 1, 1, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(result.gradients[1] == std::vector<double>({11, 13}),
             boost::test_tools::per_element());
  // The inputs keep their values and stay constants.
  BOOST_TEST(inputs[1].values()[0] == 5.0);
  BOOST_TEST(inputs[0].is_constant());

  // The example in autodiff/gradient_check.hpp.
  const auto example = adjoint::check_gradient<double>(
      [](auto x) { return sum(matmul(x[0], x[1])); }, inputs);
  BOOST_TEST(example.max_relative_error < 1e-15);
  BOOST_TEST(example.gradients[0] == std::vector<double>({5, 6, 5, 6}),
             boost::test_tools::per_element());
  BOOST_TEST(example.gradients[1] == std::vector<double>({4, 6}),
             boost::test_tools::per_element());

  // Inputs without elements are skipped, and a function that ignores its
  // inputs has zero gradients.
  const std::vector<Tensor<double>> empty = {
      Tensor<double>(Shape{0}, std::vector<double>{}), Tensor<double>{1.0}};
  const auto ignored = adjoint::check_gradient<double>(
      [](auto x) { return sum(x[0]) * 0.0 + 1.0; }, empty);
  BOOST_TEST(ignored.max_relative_error == 0.0);
  BOOST_TEST(ignored.worst_input == 1u);
  BOOST_TEST(ignored.gradients[1] == std::vector<double>({0.0}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
