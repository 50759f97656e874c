#define BOOST_TEST_MODULE tensor_elementwise
// GCC 12 reports a false -Wrestrict in the std::string::assign that
// Boost.Multiprecision's format_float_string inlines, when to_text() prints
// a cpp_bin_float_50. The state at the warning's location decides, so the
// pragma must come before the first standard header.
#pragma GCC diagnostic ignored "-Wrestrict"
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "tensor_support.hpp"

// Gradients of the element-wise tensor operators against the 50-digit
// central difference of check_gradient(), for double and cpp_bin_float_50.
// The operators are arithmetic between tensors (with broadcasting), Vars
// and plain numbers, the unary functions, pow, and the piecewise operators
// off their kinks. The points are ordinary ones, 0, points near kinks,
// large and tiny magnitudes and empty tensors. The exact conventions at
// kinks are in tensor_forward_test.cpp.
//
// The tables of operators below reduce each result twice: with sum(), whose
// gradient reaches the operator as one uniform value, and with
// weighted_sum(), which sends a different value to every element.

namespace {

using adjoint::Reference;
using adjoint::ScalarOf;
using adjoint::Shape;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::check_tensor_function;
using adjoint::testing::EmptyTapes;
using adjoint::testing::expect_gradient;
using adjoint::testing::expect_tensor_gradient;
using adjoint::testing::make;
using adjoint::testing::positive_sample;
using adjoint::testing::sample;
using adjoint::testing::tensor_tolerance;
using adjoint::testing::TensorFunction;
using adjoint::testing::TensorTypes;
using adjoint::testing::to_text;
using adjoint::testing::weighted_sum;

/// Shape pairs that broadcast, each in both orders: a column against a
/// row, a 0-dimensional tensor against a matrix, a matrix against a vector,
/// and a row repeated over rows.
const std::vector<std::pair<Shape, Shape>>& broadcast_pairs() {
  static const std::vector<std::pair<Shape, Shape>> pairs = {
      {Shape{3, 1}, Shape{1, 4}}, {Shape{1, 4}, Shape{3, 1}},
      {Shape{}, Shape{2, 3}},     {Shape{2, 3}, Shape{}},
      {Shape{2, 3}, Shape{3}},    {Shape{3}, Shape{2, 3}},
      {Shape{1, 2}, Shape{3, 2}}, {Shape{3, 2}, Shape{1, 2}},
  };
  return pairs;
}

/// A named function of two tensors, reduced once with sum() and once with
/// weighted_sum().
template <class T>
struct BinaryCase {
  std::string name;
  TensorFunction<T> uniform;
  TensorFunction<T> dense;
};

template <class T, class F>
BinaryCase<T> binary_case(std::string name, const F& f) {
  return {std::move(name),
          TensorFunction<T>([f](auto x) { return sum(f(x[0], x[1])); }),
          TensorFunction<T>([f](auto x) { return weighted_sum(f(x[0], x[1])); })};
}

/// The binary operators other than pow, whose inputs may take any sign
/// (the callers keep b away from 0 for division).
template <class T>
std::vector<BinaryCase<T>> arithmetic_operators() {
  return {
      binary_case<T>("add", [](const auto& a, const auto& b) { return a + b; }),
      binary_case<T>("subtract",
                     [](const auto& a, const auto& b) { return a - b; }),
      binary_case<T>("multiply",
                     [](const auto& a, const auto& b) { return a * b; }),
      binary_case<T>("divide", [](const auto& a, const auto& b) { return a / b; }),
      binary_case<T>("maximum",
                     [](const auto& a, const auto& b) { return maximum(a, b); }),
      binary_case<T>("minimum",
                     [](const auto& a, const auto& b) { return minimum(a, b); }),
  };
}

/// The arithmetic operators and pow, with the base made positive.
template <class T>
std::vector<BinaryCase<T>> binary_operators() {
  std::vector<BinaryCase<T>> cases = arithmetic_operators<T>();
  cases.push_back(binary_case<T>("pow", [](const auto& a, const auto& b) {
    return pow(abs(a) + 0.5, b);
  }));
  return cases;
}

template <class T>
void check_binary(const std::vector<BinaryCase<T>>& cases,
                  const Tensor<T>& a, const Tensor<T>& b) {
  for (const BinaryCase<T>& c : cases) {
    BOOST_TEST_CONTEXT(c.name << " of shapes " << fmt::format("{}", a.shape())
                              << " and " << fmt::format("{}", b.shape())) {
      check_tensor_function<T>(c.uniform, {a, b}, tensor_tolerance<T>,
                               std::source_location::current());
      check_tensor_function<T>(c.dense, {a, b}, tensor_tolerance<T>,
                               std::source_location::current());
    }
  }
}

/// A named function of one tensor.
template <class T>
struct UnaryCase {
  std::string name;
  TensorFunction<T> uniform;
  TensorFunction<T> dense;
};

template <class T, class F>
UnaryCase<T> unary_case(std::string name, const F& f) {
  return {std::move(name), TensorFunction<T>([f](auto x) { return sum(f(x[0])); }),
          TensorFunction<T>([f](auto x) { return weighted_sum(f(x[0])); })};
}

template <class T>
void check_unary(const std::vector<UnaryCase<T>>& cases, const Tensor<T>& x) {
  for (const UnaryCase<T>& c : cases) {
    BOOST_TEST_CONTEXT(c.name << " at " << fmt::format("{}", x)) {
      check_tensor_function<T>(c.uniform, {x}, tensor_tolerance<T>,
                               std::source_location::current());
      check_tensor_function<T>(c.dense, {x}, tensor_tolerance<T>,
                               std::source_location::current());
    }
  }
}

/// Unary functions defined for every real input.
template <class T>
std::vector<UnaryCase<T>> unary_functions_on_reals() {
  return {
      unary_case<T>("negate", [](const auto& x) { return -x; }),
      unary_case<T>("unary plus", [](const auto& x) { return +x; }),
      unary_case<T>("exp", [](const auto& x) { return exp(x); }),
      unary_case<T>("square", [](const auto& x) { return square(x); }),
      unary_case<T>("abs", [](const auto& x) { return abs(x); }),
      unary_case<T>("sin", [](const auto& x) { return sin(x); }),
      unary_case<T>("cos", [](const auto& x) { return cos(x); }),
      unary_case<T>("tan", [](const auto& x) { return tan(x); }),
      unary_case<T>("tanh", [](const auto& x) { return tanh(x); }),
      unary_case<T>("sigmoid", [](const auto& x) { return sigmoid(x); }),
      unary_case<T>("relu", [](const auto& x) { return relu(x); }),
      unary_case<T>("clamp", [](const auto& x) { return clamp(x, -0.5, 0.5); }),
      unary_case<T>("pow 3", [](const auto& x) { return pow(x, 3.0); }),
      unary_case<T>("pow -2", [](const auto& x) { return pow(x, -2.0); }),
      unary_case<T>("pow base 2.5", [](const auto& x) { return pow(2.5, x); }),
      unary_case<T>("pow base 0.25", [](const auto& x) { return pow(0.25, x); }),
  };
}

/// Unary functions defined for positive inputs.
template <class T>
std::vector<UnaryCase<T>> unary_functions_on_positives() {
  return {
      unary_case<T>("log", [](const auto& x) { return log(x); }),
      unary_case<T>("sqrt", [](const auto& x) { return sqrt(x); }),
      unary_case<T>("pow 0.5", [](const auto& x) { return pow(x, 0.5); }),
      unary_case<T>("pow -1.25", [](const auto& x) { return pow(x, -1.25); }),
      unary_case<T>("pow 2.5", [](const auto& x) { return pow(x, 2.5); }),
      unary_case<T>("pow 0", [](const auto& x) { return pow(x, 0.0); }),
      unary_case<T>("pow 1", [](const auto& x) { return pow(x, 1.0); }),
  };
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tensor_elementwise, EmptyTapes)

// Arithmetic between tensors

BOOST_AUTO_TEST_CASE_TEMPLATE(binary_operators_same_shape, T, TensorTypes) {
  const std::vector<BinaryCase<T>> cases = binary_operators<T>();
  check_binary<T>(cases, sample<T>({2, 3}, 0.0), sample<T>({2, 3}, 1.0, 1.0, 2.5));
  check_binary<T>(cases, sample<T>({4}, 2.0), sample<T>({4}, 3.0, 1.0, -2.5));
  check_binary<T>(cases, sample<T>({}, 0.5), sample<T>({}, 1.5, 1.0, 2.5));
  check_binary<T>(cases, sample<T>({2, 1, 3}, 0.7),
                  sample<T>({2, 1, 3}, 0.2, 1.0, 2.5));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(binary_operators_broadcast, T, TensorTypes) {
  const std::vector<BinaryCase<T>> cases = binary_operators<T>();
  for (const auto& [shape_a, shape_b] : broadcast_pairs()) {
    // b in [1.5, 3.5], so that division is smooth.
    check_binary<T>(cases, sample<T>(shape_a, 0.3),
                    sample<T>(shape_b, 1.1, 1.0, 2.5));
  }
  // Three dimensions, with a broadcast dimension in the middle and a
  // missing leading one.
  check_binary<T>(cases, sample<T>({2, 1, 3}, 0.4),
                  sample<T>({4, 1}, 1.7, 1.0, 2.5));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(same_tensor_on_both_sides, T, TensorTypes) {
  const std::vector<Tensor<T>> x = {sample<T>({2, 3}, 0.9, 1.0, 2.0)};
  expect_tensor_gradient<T>([](auto v) { return weighted_sum(v[0] * v[0]); }, x);
  expect_tensor_gradient<T>([](auto v) { return weighted_sum(v[0] / v[0]); }, x);
  expect_tensor_gradient<T>([](auto v) { return weighted_sum(v[0] - v[0]); }, x);
  expect_tensor_gradient<T>([](auto v) { return weighted_sum(v[0] + v[0]); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(pow(v[0], v[0])); }, x);
  expect_tensor_gradient<T>(
      [](auto v) { return weighted_sum(maximum(v[0], v[0] * 0.5)); }, x);
  // A broadcast operand used against itself in another shape.
  expect_tensor_gradient<T>(
      [](auto v) {
        return weighted_sum(reshape(v[0], {2, 3, 1}) * flatten(v[0]));
      },
      x);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(compound_assignment, T, TensorTypes) {
  const std::vector<Tensor<T>> x = {sample<T>({2, 3}, 0.1),
                                    sample<T>({3}, 0.8, 1.0, 2.5)};
  expect_tensor_gradient<T>(
      [](auto v) {
        auto y = v[0];
        y += v[1];
        y *= v[0];
        y -= v[1];
        y /= v[1];
        y += 2.5;
        y *= -1.5;
        y -= 0.25;
        y /= 0.75;
        y += sum(v[1]);
        y *= sum(v[0]);
        return weighted_sum(y);
      },
      x);
}

// Arithmetic with Vars and plain numbers

BOOST_AUTO_TEST_CASE_TEMPLATE(tensor_and_var_parameter, T, TensorTypes) {
  // The Var is a parameter of the scalar checker; each operator turns it
  // into a 0-dimensional tensor whose gradient flows back into it.
  const auto f = [](auto v) {
    using S = ScalarOf<decltype(v[0])>;
    const Tensor<S> c = sample<S>({2, 3}, 0.6, 1.0, 2.5);
    return weighted_sum(c + v[0]) + weighted_sum(v[0] + c) +
           weighted_sum(c - v[0]) + weighted_sum(v[0] - c) +
           weighted_sum(c * v[0]) + weighted_sum(v[0] * c) +
           weighted_sum(c / v[1]) + weighted_sum(v[1] / c);
  };
  for (const auto& [a, b] : {std::pair<T, T>(0.7, -1.3), std::pair<T, T>(-2.5, 0.4)}) {
    expect_gradient<T>(f, {a, b}, tensor_tolerance<T>);
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(tensor_and_intermediate_var, T, TensorTypes) {
  // The Var is a scalar node computed from a tensor, so the gradient goes
  // tensor -> scalar node -> tensor.
  const std::vector<Tensor<T>> x = {sample<T>({2, 3}, 0.2),
                                    sample<T>({3}, 1.4, 0.5, 1.5)};
  expect_tensor_gradient<T>(
      [](auto v) {
        const auto s = sum(v[1]);
        const auto m = sum(v[1] * v[1]);
        return weighted_sum(v[0] + s) + weighted_sum(s - v[0]) +
               weighted_sum(v[0] * m) + weighted_sum(s / (v[0] + 3.0)) +
               weighted_sum((v[0] + 3.0) / m) + s * m;
      },
      x);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(tensor_and_number, T, TensorTypes) {
  const std::vector<UnaryCase<T>> cases = {
      unary_case<T>("x + 2.5", [](const auto& x) { return x + 2.5; }),
      unary_case<T>("2.5 + x", [](const auto& x) { return 2.5 + x; }),
      unary_case<T>("x - 2.5", [](const auto& x) { return x - 2.5; }),
      unary_case<T>("2.5 - x", [](const auto& x) { return 2.5 - x; }),
      unary_case<T>("x * -1.5", [](const auto& x) { return x * -1.5; }),
      unary_case<T>("-1.5 * x", [](const auto& x) { return -1.5 * x; }),
      unary_case<T>("x / 0.75", [](const auto& x) { return x / 0.75; }),
      unary_case<T>("0.75 / x", [](const auto& x) { return 0.75 / x; }),
      unary_case<T>("maximum(x, 0.25)",
                    [](const auto& x) { return maximum(x, 0.25); }),
      unary_case<T>("minimum(x, 0.25)",
                    [](const auto& x) { return minimum(x, 0.25); }),
  };
  check_unary<T>(cases, sample<T>({2, 3}, 0.3));
  check_unary<T>(cases, sample<T>({}, 0.3));
  check_unary<T>(cases, sample<T>({5}, 2.3, 4.0));
}

// Unary functions

BOOST_AUTO_TEST_CASE_TEMPLATE(unary_functions_ordinary_points, T, TensorTypes) {
  // Values in [-1, 1], away from every kink and from the poles of tan.
  check_unary<T>(unary_functions_on_reals<T>(), sample<T>({2, 3}, 0.0));
  check_unary<T>(unary_functions_on_reals<T>(), sample<T>({4}, 1.0, 1.2));
  check_unary<T>(unary_functions_on_positives<T>(), positive_sample<T>({2, 3}));
  check_unary<T>(unary_functions_on_positives<T>(),
                 positive_sample<T>({5}, 0.7, 1e-3, 50.0));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pow_of_negative_base, T, TensorTypes) {
  // An integer exponent makes a negative base real and differentiable.
  const Tensor<T> x = sample<T>({2, 3}, 0.5, 1.0, -2.5);
  for (const double p : {2.0, 3.0, -1.0, -2.0, 5.0}) {
    BOOST_TEST_CONTEXT("exponent " << p) {
      expect_tensor_gradient<T>(
          [p](auto v) { return weighted_sum(pow(v[0], p)); }, {x});
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pow_between_tensors, T, TensorTypes) {
  const auto power = [](auto v) { return weighted_sum(pow(v[0], v[1])); };
  expect_tensor_gradient<T>(power, {positive_sample<T>({2, 3}, 0.1),
                                    sample<T>({2, 3}, 0.9, 2.0)});
  // Base broadcast over the exponent and the other way round.
  expect_tensor_gradient<T>(power, {positive_sample<T>({3}, 0.1),
                                    sample<T>({2, 3}, 0.9, 2.0)});
  expect_tensor_gradient<T>(power, {positive_sample<T>({2, 3}, 0.1),
                                    sample<T>({}, 0.9, 2.0)});
  expect_tensor_gradient<T>(power, {positive_sample<T>({3, 1}, 0.1),
                                    sample<T>({1, 4}, 0.9, 2.0)});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(where_routes_gradients, T, TensorTypes) {
  // The mask is data: nonzero (including negative) selects a. It is a
  // full mask, a row or a column.
  const std::vector<std::pair<Shape, std::vector<double>>> masks = {
      {Shape{2, 3}, {1, 0, -2, 0, 0.5, 1}},
      {Shape{3}, {0, 1, 1}},
      {Shape{2, 1}, {1, 0}},
  };
  for (const auto& [shape, values] : masks) {
    BOOST_TEST_CONTEXT("mask of shape " << fmt::format("{}", shape)) {
      expect_tensor_gradient<T>(
          [&](auto v) {
            using S = typename std::decay_t<decltype(v[0])>::value_type;
            return weighted_sum(where(make<S>(shape, values), v[0], v[1]));
          },
          {sample<T>({2, 3}, 0.1), sample<T>({2, 3}, 0.6)});
      // Broadcast operands: a 0-dimensional a and a row b.
      expect_tensor_gradient<T>(
          [&](auto v) {
            using S = typename std::decay_t<decltype(v[0])>::value_type;
            return weighted_sum(
                where(make<S>(shape, values), v[0] * v[1], v[1]));
          },
          {sample<T>({}, 0.1), sample<T>({3}, 0.6)});
    }
  }
}

// Edges

BOOST_AUTO_TEST_CASE_TEMPLATE(smooth_functions_at_zero, T, TensorTypes) {
  // 0 is an ordinary point of these functions; the other elements are
  // ordinary too, so the tensor mixes 0 with nonzero values.
  const Tensor<T> x = make<T>({4}, {0.0, 0.25, -0.5, 1e-8});
  const std::vector<UnaryCase<T>> cases = {
      unary_case<T>("exp", [](const auto& v) { return exp(v); }),
      unary_case<T>("sin", [](const auto& v) { return sin(v); }),
      unary_case<T>("cos", [](const auto& v) { return cos(v); }),
      unary_case<T>("tan", [](const auto& v) { return tan(v); }),
      unary_case<T>("tanh", [](const auto& v) { return tanh(v); }),
      unary_case<T>("sigmoid", [](const auto& v) { return sigmoid(v); }),
      unary_case<T>("square", [](const auto& v) { return square(v); }),
      // Not pow(x, 3): its central difference at 0 is h^2, not 0.
      unary_case<T>("pow 2", [](const auto& v) { return pow(v, 2.0); }),
      unary_case<T>("pow base 2.5", [](const auto& v) { return pow(2.5, v); }),
      unary_case<T>("x * 3 - 1", [](const auto& v) { return v * 3.0 - 1.0; }),
  };
  check_unary<T>(cases, x);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(piecewise_functions_near_kinks, T, TensorTypes) {
  // Every element is within 1e-30 of the kink at 0, so that the whole sum
  // scales with the elements and the 50-digit difference keeps its digits.
  // The step of 1e-12 |x| never crosses the kink.
  const Tensor<T> x = make<T>({4}, {1e-30, -1e-30, 3e-31, -2e-30});
  const std::vector<UnaryCase<T>> cases = {
      unary_case<T>("abs", [](const auto& v) { return abs(v); }),
      unary_case<T>("relu", [](const auto& v) { return relu(v); }),
      unary_case<T>("maximum with 0",
                    [](const auto& v) { return maximum(v, 0.0); }),
      unary_case<T>("minimum with 0",
                    [](const auto& v) { return minimum(v, 0.0); }),
      unary_case<T>("clamp to [0, 1]",
                    [](const auto& v) { return clamp(v, 0.0, 1.0); }),
  };
  check_unary<T>(cases, x);
  // Next to the bounds of clamp and to a tie of maximum, 1e-9 away.
  const Tensor<T> near_bounds =
      make<T>({4}, {0.5 + 1e-9, 0.5 - 1e-9, -0.5 + 1e-9, -0.5 - 1e-9});
  check_unary<T>({unary_case<T>("clamp to [-0.5, 0.5]", [](const auto& v) {
                   return clamp(v, -0.5, 0.5);
                 })},
                 near_bounds);
  const auto tie = [](auto v) {
    return weighted_sum(maximum(v[0], v[1])) + weighted_sum(minimum(v[0], v[1]));
  };
  expect_tensor_gradient<T>(tie, {make<T>({2}, {1.0 + 1e-9, 2.0 - 1e-9}),
                                  make<T>({2}, {1.0, 2.0})});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(large_magnitudes, T, TensorTypes) {
  // 1e150: squares and products stay finite in double.
  const Tensor<T> big = make<T>({2, 2}, {1e150, -2e150, 3e149, -7e149});
  const Tensor<T> other = make<T>({2, 2}, {-4e149, 5e150, 2e150, 1e150});
  check_binary<T>(arithmetic_operators<T>(), big, other);
  check_unary<T>(
      {
          unary_case<T>("square", [](const auto& v) { return square(v); }),
          unary_case<T>("abs", [](const auto& v) { return abs(v); }),
          unary_case<T>("relu", [](const auto& v) { return relu(v); }),
          unary_case<T>("negate", [](const auto& v) { return -v; }),
          unary_case<T>("x / 3", [](const auto& v) { return v / 3.0; }),
          unary_case<T>("pow 2", [](const auto& v) { return pow(v, 2.0); }),
      },
      big);
  check_unary<T>(
      {
          unary_case<T>("log", [](const auto& v) { return log(v); }),
          unary_case<T>("sqrt", [](const auto& v) { return sqrt(v); }),
          unary_case<T>("pow 0.5", [](const auto& v) { return pow(v, 0.5); }),
      },
      abs(big));
  // Saturating functions far out, where the gradients are small but
  // normal. Further out, tanh(x) rounds to 1 even in 50 digits and the
  // central difference cancels to 0.
  check_unary<T>(
      {
          unary_case<T>("tanh", [](const auto& v) { return tanh(v); }),
          unary_case<T>("sigmoid", [](const auto& v) { return sigmoid(v); }),
      },
      make<T>({4}, {-12.0, 12.0, -20.0, 20.0}));
  check_unary<T>(
      {unary_case<T>("exp", [](const auto& v) { return exp(v); })},
      make<T>({2}, {250.0, 300.0}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(tiny_magnitudes, T, TensorTypes) {
  const Tensor<T> small = make<T>({3}, {1e-150, -3e-150, 2e-151});
  const Tensor<T> other = make<T>({3}, {4e-150, 2e-150, -1e-150});
  check_binary<T>(arithmetic_operators<T>(), small, other);
  check_unary<T>(
      {
          unary_case<T>("square", [](const auto& v) { return square(v); }),
          unary_case<T>("abs", [](const auto& v) { return abs(v); }),
          unary_case<T>("sin", [](const auto& v) { return sin(v); }),
          unary_case<T>("tanh", [](const auto& v) { return tanh(v); }),
      },
      small);
  check_unary<T>(
      {
          unary_case<T>("log", [](const auto& v) { return log(v); }),
          unary_case<T>("sqrt", [](const auto& v) { return sqrt(v); }),
      },
      abs(small));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(empty_tensors, T, TensorTypes) {
  // Nothing to check element by element, but every operator must run
  // forward and backward on no elements, and the gradient of a broadcast
  // operand of extent 1 against an empty axis is 0.
  const std::vector<BinaryCase<T>> binary = binary_operators<T>();
  check_binary<T>(binary, Tensor<T>(Shape{4, 0}, std::vector<T>{}),
                  Tensor<T>(Shape{4, 0}, std::vector<T>{}));
  check_binary<T>(binary, Tensor<T>(Shape{4, 0}, std::vector<T>{}),
                  sample<T>({4, 1}, 0.0, 1.0, 2.5));
  check_binary<T>(binary, Tensor<T>(Shape{0}, std::vector<T>{}),
                  sample<T>({}, 0.0, 1.0, 2.5));
  check_binary<T>(binary, sample<T>({}, 0.0, 1.0, 2.5),
                  Tensor<T>(Shape{0}, std::vector<T>{}));
  check_unary<T>(unary_functions_on_reals<T>(),
                 Tensor<T>(Shape{4, 0}, std::vector<T>{}));
  check_unary<T>(unary_functions_on_positives<T>(),
                 Tensor<T>(Shape{0}, std::vector<T>{}));
}

BOOST_AUTO_TEST_SUITE_END()
