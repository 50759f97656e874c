#define BOOST_TEST_MODULE tensor_forward
// GCC 12 reports a false -Wrestrict in the std::string::assign that
// Boost.Multiprecision's format_float_string inlines, when to_text() prints
// a cpp_bin_float_50. The state at the warning's location decides, so the
// pragma must come before the first standard header.
#pragma GCC diagnostic ignored "-Wrestrict"
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "tensor_support.hpp"

// Forward values of the tensor operators against PyTorch, and the
// gradients at kinks, ties and singular points, which a central difference
// cannot decide, compared exactly with the documented conventions.
//
// Every expected value comes from PyTorch 1.13 (Debian 12's python3-torch)
// in float64, through the expression quoted next to it; "hand" marks values
// derived by hand. Values are compared to 1e-15 relative, since sums and
// products may round in another order than PyTorch's; gradients at kinks
// are compared exactly.

namespace {

using adjoint::arange;
using adjoint::Reference;
using adjoint::scalar_tensor;
using adjoint::Shape;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::zeros;
using adjoint::testing::EmptyTapes;
using adjoint::testing::expect_exact_tensor_gradient;
using adjoint::testing::expect_exact_values;
using adjoint::testing::expect_tensor;
using adjoint::testing::make;
using adjoint::testing::TensorTypes;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double quiet_nan = std::numeric_limits<double>::quiet_NaN();

// torch.tensor([[-1.5, -0.25, 0.0], [0.5, 1.25, 3.0]])
template <class T>
Tensor<T> signed_input() {
  return make<T>({2, 3}, {-1.5, -0.25, 0.0, 0.5, 1.25, 3.0});
}

// torch.tensor([[0.5, 2.0, 4.0], [0.125, 1.0, 7.5]])
template <class T>
Tensor<T> positive_input() {
  return make<T>({2, 3}, {0.5, 2.0, 4.0, 0.125, 1.0, 7.5});
}

// y = torch.tensor([[[0.5, -1.0, 2.0, 0.25], [3.0, 1.5, -2.5, 0.0],
//                    [1.0, -0.5, 0.75, 2.25]],
//                   [[-1.25, 0.5, 1.75, -3.0], [2.0, 2.5, -0.75, 1.0],
//                    [0.125, -2.0, 3.5, -1.5]]])
template <class T>
Tensor<T> cube_input() {
  return make<T>({2, 3, 4}, {0.5,   -1.0, 2.0,  0.25, 3.0,  1.5,  -2.5, 0.0,
                             1.0,   -0.5, 0.75, 2.25, -1.25, 0.5, 1.75, -3.0,
                             2.0,   2.5,  -0.75, 1.0, 0.125, -2.0, 3.5, -1.5});
}

// A = torch.tensor([[1.0, 2.0, -1.0], [0.5, -3.0, 2.0]])
template <class T>
Tensor<T> matrix_a() {
  return make<T>({2, 3}, {1.0, 2.0, -1.0, 0.5, -3.0, 2.0});
}

// B = torch.tensor([[2.0, 0.0, 1.0, -1.0], [1.0, 3.0, -2.0, 0.5],
//                   [0.0, -1.0, 4.0, 2.0]])
template <class T>
Tensor<T> matrix_b() {
  return make<T>({3, 4},
                 {2.0, 0.0, 1.0, -1.0, 1.0, 3.0, -2.0, 0.5, 0.0, -1.0, 4.0, 2.0});
}

// L = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.0, 4.0]])
template <class T>
Tensor<T> logits_input() {
  return make<T>({2, 3}, {1.0, 2.0, 3.0, -1.0, 0.0, 4.0});
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tensor_forward, EmptyTapes)

// Forward values

BOOST_AUTO_TEST_CASE_TEMPLATE(unary_function_values, T, TensorTypes) {
  const Tensor<T> x = signed_input<T>();
  const Tensor<T> p = positive_input<T>();
  // torch.exp(x), torch.sin(x), ... on the tensors above.
  expect_tensor(exp(x), {2, 3},
                {0.22313016014842982, 0.7788007830714049, 1.0,
                 1.6487212707001282, 3.4903429574618414, 20.085536923187668});
  expect_tensor(sin(x), {2, 3},
                {-0.9974949866040544, -0.24740395925452294, 0.0,
                 0.479425538604203, 0.9489846193555862, 0.1411200080598672});
  expect_tensor(cos(x), {2, 3},
                {0.0707372016677029, 0.9689124217106447, 1.0,
                 0.8775825618903728, 0.3153223623952687, -0.9899924966004454});
  expect_tensor(tan(x), {2, 3},
                {-14.101419947171719, -0.25534192122103627, 0.0,
                 0.5463024898437905, 3.0095696738628313, -0.1425465430742778});
  expect_tensor(tanh(x), {2, 3},
                {-0.9051482536448664, -0.24491866240370913, 0.0,
                 0.46211715726000974, 0.8482836399575129, 0.9950547536867305});
  expect_tensor(sigmoid(x), {2, 3},
                {0.18242552380635635, 0.43782349911420193, 0.5,
                 0.6224593312018546, 0.7772998611746911, 0.9525741268224334});
  expect_tensor(relu(x), {2, 3}, {0.0, 0.0, 0.0, 0.5, 1.25, 3.0});
  expect_tensor(abs(x), {2, 3}, {1.5, 0.25, 0.0, 0.5, 1.25, 3.0});
  expect_tensor(square(x), {2, 3}, {2.25, 0.0625, 0.0, 0.25, 1.5625, 9.0});
  expect_tensor(-x, {2, 3}, {1.5, 0.25, -0.0, -0.5, -1.25, -3.0});
  // torch.clamp(x, -0.5, 1.25)
  expect_tensor(clamp(x, -0.5, 1.25), {2, 3},
                {-0.5, -0.25, 0.0, 0.5, 1.25, 1.25});
  expect_tensor(log(p), {2, 3},
                {-0.6931471805599453, 0.6931471805599453, 1.3862943611198906,
                 -2.0794415416798357, 0.0, 2.0149030205422647});
  expect_tensor(sqrt(p), {2, 3},
                {0.7071067811865476, 1.4142135623730951, 2.0,
                 0.3535533905932738, 1.0, 2.7386127875258306});
  // p ** 1.5, x ** 3, 2.5 ** x, p ** x
  expect_tensor(pow(p, 1.5), {2, 3},
                {0.3535533905932738, 2.8284271247461903, 8.0,
                 0.04419417382415922, 1.0, 20.53959590644373});
  expect_tensor(pow(x, 3.0), {2, 3},
                {-3.375, -0.015625, 0.0, 0.125, 1.953125, 27.0});
  expect_tensor(pow(2.5, x), {2, 3},
                {0.25298221281347033, 0.7952707287670506, 1.0,
                 1.5811388300841898, 3.1435835742073386, 15.625});
  expect_tensor(pow(p, x), {2, 3},
                {2.8284271247461903, 0.8408964152537145, 1.0,
                 0.3535533905932738, 1.0, 421.875});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(broadcast_arithmetic_values, T, TensorTypes) {
  // a = torch.tensor([[1.0], [2.0], [-3.0]]);
  // b = torch.tensor([[0.5, -1.0, 2.0, 4.0]])
  const Tensor<T> a = make<T>({3, 1}, {1.0, 2.0, -3.0});
  const Tensor<T> b = make<T>({1, 4}, {0.5, -1.0, 2.0, 4.0});
  // a + b, a - b, a * b, a / b, torch.maximum(a, b), torch.minimum(a, b)
  expect_tensor(a + b, {3, 4},
                {1.5, 0.0, 3.0, 5.0, 2.5, 1.0, 4.0, 6.0, -2.5, -4.0, -1.0, 1.0});
  expect_tensor(a - b, {3, 4},
                {0.5, 2.0, -1.0, -3.0, 1.5, 3.0, 0.0, -2.0, -3.5, -2.0, -5.0,
                 -7.0});
  expect_tensor(a * b, {3, 4},
                {0.5, -1.0, 2.0, 4.0, 1.0, -2.0, 4.0, 8.0, -1.5, 3.0, -6.0,
                 -12.0});
  expect_tensor(a / b, {3, 4},
                {2.0, -1.0, 0.5, 0.25, 4.0, -2.0, 1.0, 0.5, -6.0, 3.0, -1.5,
                 -0.75});
  expect_tensor(maximum(a, b), {3, 4},
                {1.0, 1.0, 2.0, 4.0, 2.0, 2.0, 2.0, 4.0, 0.5, -1.0, 2.0, 4.0});
  expect_tensor(minimum(a, b), {3, 4},
                {0.5, -1.0, 1.0, 1.0, 0.5, -1.0, 2.0, 2.0, -3.0, -3.0, -3.0,
                 -3.0});
  // Hand: the same with the operands as [3] and [] and as [2, 3] and [3].
  expect_tensor(squeeze(a, 1) * scalar_tensor(T(2)), {3}, {2.0, 4.0, -6.0});
  expect_tensor(scalar_tensor(T(2)) - squeeze(a, 1), {3}, {1.0, 0.0, 5.0});
  // 2.5 / x with x = signed_input(), which divides by 0.
  expect_tensor(2.5 / signed_input<T>(), {2, 3},
                {-1.6666666666666667, -10.0, inf, 5.0, 2.0,
                 0.8333333333333334});
  // torch.where(m != 0, x, p) with m = [[1, 0, 1], [0, 0, 1]]
  expect_tensor(where(make<T>({2, 3}, {1, 0, 1, 0, 0, 1}), signed_input<T>(),
                      positive_input<T>()),
                {2, 3}, {-1.5, 2.0, 0.0, 0.125, 1.0, 3.0});
  // A Var and a plain number on either side; hand.
  const Var<T> w = adjoint::constant(T(-2));
  expect_tensor(a * w + 1.0, {3, 1}, {-1.0, -3.0, 7.0});
  expect_tensor(w / b - 0.5, {1, 4}, {-4.5, 1.5, -1.5, -1.0});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reduction_values, T, TensorTypes) {
  const Tensor<T> y = cube_input<T>();
  // y.sum(), y.mean(), y.amax(), y.amin(), torch.logsumexp(y.flatten(), 0)
  expect_tensor(scalar_tensor(sum(y).value()), {}, {10.125});
  expect_tensor(scalar_tensor(mean(y).value()), {}, {0.421875});
  expect_tensor(scalar_tensor(max(y).value()), {}, {3.5});
  expect_tensor(scalar_tensor(min(y).value()), {}, {-3.0});
  expect_tensor(scalar_tensor(logsumexp(y).value()), {}, {4.756838544563922});
  // y.sum(1), y.sum((0, 2), keepdim=True), y.mean(-1), y.amax(0),
  // y.amin((1, 2))
  expect_tensor(sum(y, 1), {2, 4}, {4.5, 0.0, 0.25, 2.5, 0.875, 1.0, 4.5, -3.5});
  expect_tensor(sum(y, {0, 2}, true), {1, 3, 1}, {-0.25, 6.75, 3.625});
  expect_tensor(mean(y, -1), {2, 3}, {0.4375, 0.5, 0.875, -0.5, 1.1875, 0.03125});
  expect_tensor(max(y, 0), {3, 4},
                {0.5, 0.5, 2.0, 0.25, 3.0, 2.5, -0.75, 1.0, 1.0, -0.5, 3.5, 2.25});
  expect_tensor(min(y, {1, 2}), {2}, {-2.5, -3.0});
  // torch.logsumexp(y, 1, keepdim=True), torch.logsumexp(y, -1)
  expect_tensor(logsumexp(y, 1, true), {2, 1, 4},
                {3.196734096919617, 1.6967340969196172, 2.2605270342534887,
                 2.465703549248667, 2.1757409307890927, 2.6366652218511923,
                 3.6723033562485567, 1.0956743294143823});
  expect_tensor(logsumexp(y, -1), {2, 3},
                {2.3692789984482534, 3.244516709351493, 2.703342359328125,
                 2.046352049668649, 3.1251011968971807, 3.5440578766811335});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(linear_algebra_values, T, TensorTypes) {
  const Tensor<T> a = matrix_a<T>();
  const Tensor<T> b = matrix_b<T>();
  // v3 = torch.tensor([1.5, -2.0, 0.25]); v2 = torch.tensor([-1.0, 2.0])
  const Tensor<T> v3 = make<T>({3}, {1.5, -2.0, 0.25});
  const Tensor<T> v2 = make<T>({2}, {-1.0, 2.0});
  // A @ B, A @ v3, v2 @ A, v3 @ v3
  expect_tensor(matmul(a, b), {2, 4}, {4.0, 7.0, -7.0, -2.0, -2.0, -11.0, 14.5, 2.0});
  expect_tensor(matmul(a, v3), {2}, {-2.75, 7.25});
  expect_tensor(matmul(v2, a), {3}, {0.0, -8.0, 5.0});
  expect_tensor(matmul(v3, v3), {}, {6.3125});
  // C = torch.arange(12.0).reshape(2, 2, 3) * 0.5 - 2;
  // D = torch.arange(24.0).reshape(2, 3, 4) * 0.25 - 1; C @ D and C @ B
  const Tensor<T> c = reshape(arange<T>(12), {2, 2, 3}) * 0.5 - 2.0;
  const Tensor<T> d = reshape(arange<T>(24), {2, 3, 4}) * 0.25 - 1.0;
  expect_tensor(matmul(c, d), {2, 2, 4},
                {1.0, -0.125, -1.25, -2.375, 1.0, 1.0, 1.0, 1.0, 14.5, 15.625,
                 16.75, 17.875, 28.0, 30.25, 32.5, 34.75});
  expect_tensor(matmul(c, b), {2, 2, 4},
                {-5.5, -3.5, -3.0, -0.75, -1.0, -0.5, 1.5, 1.5, 3.5, 2.5, 6.0,
                 3.75, 8.0, 5.5, 10.5, 6.0});
  // torch.dot(v3, torch.tensor([2.0, 0.5, -4.0]))
  BOOST_TEST(dot(v3, make<T>({3}, {2.0, 0.5, -4.0})).value() == T(1.0));
  // y.permute(2, 0, 1), A.T
  expect_tensor(permute(cube_input<T>(), {2, 0, 1}), {4, 2, 3},
                {0.5, 3.0, 1.0, -1.25, 2.0, 0.125, -1.0, 1.5, -0.5, 0.5, 2.5,
                 -2.0, 2.0, -2.5, 0.75, 1.75, -0.75, 3.5, 0.25, 0.0, 2.25, -3.0,
                 1.0, -1.5});
  expect_tensor(transpose(a), {3, 2}, {1.0, 0.5, 2.0, -3.0, -1.0, 2.0});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(layout_values, T, TensorTypes) {
  const Tensor<T> a = matrix_a<T>();
  const Tensor<T> v3 = make<T>({3}, {1.5, -2.0, 0.25});
  // y[:, :, 1:4:2], A[:, -2:]
  expect_tensor(slice(cube_input<T>(), 2, 1, 4, 2), {2, 3, 2},
                {-1.0, 0.25, 1.5, 0.0, -0.5, 2.25, 0.5, -3.0, 2.5, 1.0, -2.0,
                 -1.5});
  expect_tensor(slice(a, 1, -2, 3), {2, 2}, {2.0, -1.0, -3.0, 2.0});
  // torch.index_select(A, 1, torch.tensor([2, 0, 2]))
  expect_tensor(index_select(a, 1, {2, 0, 2}), {2, 3},
                {-1.0, 1.0, -1.0, 2.0, 0.5, 2.0});
  // torch.cat([A, A * 2], 0), torch.stack([v3, v3 * -1], 1)
  expect_tensor(concat(std::vector{a, a * 2.0}, 0), {4, 3},
                {1.0, 2.0, -1.0, 0.5, -3.0, 2.0, 2.0, 4.0, -2.0, 1.0, -6.0, 4.0});
  expect_tensor(stack(std::vector{v3, v3 * -1.0}, 1), {3, 2},
                {1.5, -1.5, -2.0, 2.0, 0.25, -0.25});
  // Hand: reshape, flatten, squeeze and unsqueeze keep the row-major
  // order and change only the shape.
  expect_tensor(reshape(a, {3, -1}), {3, 2}, {1.0, 2.0, -1.0, 0.5, -3.0, 2.0});
  expect_tensor(flatten(a), {6}, {1.0, 2.0, -1.0, 0.5, -3.0, 2.0});
  expect_tensor(unsqueeze(v3, -1), {3, 1}, {1.5, -2.0, 0.25});
  expect_tensor(squeeze(unsqueeze(v3, 0), 0), {3}, {1.5, -2.0, 0.25});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(softmax_values, T, TensorTypes) {
  const Tensor<T> l = logits_input<T>();
  // torch.softmax(L, -1), torch.softmax(L, 0)
  expect_tensor(softmax(l), {2, 3},
                {0.09003057317038045, 0.2447284710547976, 0.6652409557748218,
                 0.006573263185309083, 0.0178679818703045, 0.9755587549443865});
  expect_tensor(softmax(l, 0), {2, 3},
                {0.8807970779778823, 0.8807970779778823, 0.2689414213699951,
                 0.11920292202211755, 0.11920292202211755, 0.7310585786300049});
  // torch.log_softmax(L, -1), torch.log_softmax(L, 0). The last element
  // of the first is -log(1 + e^-4 + e^-5), where PyTorch's own value is good
  // to about 5e-15 relative and the library's to 1.2e-14 (see
  // log_softmax_keeps_precision below).
  expect_tensor(log_softmax(l), {2, 3},
                {-2.4076059644443806, -1.4076059644443804, -0.4076059644443804,
                 -5.024744890138822, -4.024744890138822, -0.02474489013882259},
                2e-14);
  expect_tensor(log_softmax(l, 0), {2, 3},
                {-0.1269280110429726, -0.1269280110429726, -1.3132616875182228,
                 -2.1269280110429727, -2.1269280110429727, -0.31326168751822286});
  // F.cross_entropy(L, torch.tensor([2, 0])) and, for one row,
  // F.cross_entropy(torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([1]))
  expect_tensor(scalar_tensor(cross_entropy(l, {2, 0}).value()), {},
                {2.7161754272916014});
  expect_tensor(
      scalar_tensor(cross_entropy(make<T>({3}, {0.5, -1.0, 2.0}), {1}).value()),
      {}, {3.241311296657157});
  // big = torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]]):
  // torch.softmax(big, -1), torch.log_softmax(big, -1),
  // torch.logsumexp(big, 1), F.cross_entropy(big, torch.tensor([1, 2]))
  // exp(-1000) underflows to 0 in double but not in cpp_bin_float_50,
  // hence the absolute tolerance.
  const Tensor<T> big =
      make<T>({2, 3}, {1000.0, 0.0, -1000.0, 1000.0, 1000.0, 999.0});
  expect_tensor(softmax(big), {2, 3},
                {1.0, 0.0, 0.0, 0.4223187982515182, 0.4223187982515182,
                 0.15536240349696362},
                1e-15, 1e-300);
  expect_tensor(logsumexp(big, 1), {2}, {1000.0, 1000.8619948040582});
  expect_tensor(scalar_tensor(cross_entropy(big, {1, 2}).value()), {},
                {500.9309974020291});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(log_softmax_keeps_precision, T, TensorTypes) {
  // log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m)) is accurate to a
  // few units in the last place; x_i - (m + log(sum)) is not, because m +
  // log(sum) rounds to the precision of m. With logits near 1000 that
  // costs three digits, and with logits near 1e8 eight. The same holds for
  // cross_entropy, which subtracts the target logit from m + log(sum).
  // torch.log_softmax(big, -1) with big as in softmax_values:
  expect_tensor(
      log_softmax(make<T>({2, 3}, {1000.0, 0.0, -1000.0, 1000.0, 1000.0, 999.0})),
      {2, 3},
      {0.0, -1000.0, -2000.0, -0.8619948040582511, -0.8619948040582511,
       -1.8619948040582512});
  // torch.log_softmax(torch.tensor([1e8, 1e8]), 0): -log(2) twice.
  expect_tensor(log_softmax(make<T>({2}, {1e8, 1e8})), {2},
                {-0.6931471805599453, -0.6931471805599453});
  // F.cross_entropy(torch.tensor([[1e8, 1e8]]), torch.tensor([0])): log(2).
  expect_tensor(scalar_tensor(cross_entropy(make<T>({1, 2}, {1e8, 1e8}), {0}).value()),
                {}, {0.6931471805599453});
}

// Gradients at kinks, ties and singular points, compared exactly

BOOST_AUTO_TEST_CASE_TEMPLATE(relu_and_abs_at_kink, T, TensorTypes) {
  // torch.relu(x).sum() and torch.abs(x).sum() with
  // x = [-0.0, 0.0, 1e-300, -1e-300, 2.0, -3.0]: relu'(0) = 0, abs'(0) = 0.
  const Tensor<T> x = make<T>({6}, {-0.0, 0.0, 1e-300, -1e-300, 2.0, -3.0});
  expect_exact_tensor_gradient<T>([](auto v) { return sum(relu(v[0])); }, {x},
                                  {{0, 0, 1, 0, 1, 0}});
  expect_exact_tensor_gradient<T>([](auto v) { return sum(abs(v[0])); }, {x},
                                  {{0, 0, 1, -1, 1, -1}});
  // torch.relu(torch.tensor([nan, 1.0])).sum(): NaN passes with gradient 1.
  expect_exact_tensor_gradient<T>([](auto v) { return sum(relu(v[0])); },
                                  {make<T>({2}, {quiet_nan, 1.0})}, {{1, 1}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(maximum_and_minimum_at_ties, T, TensorTypes) {
  // (torch.maximum(a, b) * w).sum() with a = [1, 2, -1], b = [1, 0.5, -1],
  // w = [1, 2, 3]: a tie gives 1/2 of the gradient to each operand.
  const auto weighted_maximum = [](auto v) {
    using S = typename std::decay_t<decltype(v[0])>::value_type;
    return sum(maximum(v[0], v[1]) * make<S>({3}, {1, 2, 3}));
  };
  const auto weighted_minimum = [](auto v) {
    using S = typename std::decay_t<decltype(v[0])>::value_type;
    return sum(minimum(v[0], v[1]) * make<S>({3}, {1, 2, 3}));
  };
  const std::vector<Tensor<T>> ab = {make<T>({3}, {1, 2, -1}),
                                     make<T>({3}, {1, 0.5, -1})};
  expect_exact_tensor_gradient<T>(weighted_maximum, ab,
                                  {{0.5, 2.0, 1.5}, {0.5, 0.0, 1.5}});
  expect_exact_tensor_gradient<T>(weighted_minimum, ab,
                                  {{0.5, 0.0, 1.5}, {0.5, 2.0, 1.5}});
  // torch.maximum(a, a).sum(): 1/2 + 1/2.
  expect_exact_tensor_gradient<T>(
      [](auto v) { return sum(maximum(v[0], v[0])); },
      {make<T>({2}, {1, -2})}, {{1, 1}});
  // torch.maximum(x, torch.zeros(3)).sum() with x = [-1, 0, 2]: maximum
  // with 0 is not relu, and gives 1/2 at 0.
  expect_exact_tensor_gradient<T>(
      [](auto v) { return sum(maximum(v[0], 0.0)); },
      {make<T>({3}, {-1, 0, 2})}, {{0, 0.5, 1}});
  // torch.maximum(a, b).sum() with a = [nan, 1], b = [1, nan]: both
  // operands of a NaN get 1.
  expect_exact_tensor_gradient<T>(
      [](auto v) { return sum(maximum(v[0], v[1])); },
      {make<T>({2}, {quiet_nan, 1}), make<T>({2}, {1, quiet_nan})}, {{1, 1}, {1, 1}});
  // Hand: a broadcast tie. maximum([[1], [2]], [1, 2]) ties at (0, 0) and
  // (1, 1), and the halves add up on the broadcast operands.
  expect_exact_tensor_gradient<T>(
      [](auto v) { return sum(maximum(v[0], v[1])); },
      {make<T>({2, 1}, {1, 2}), make<T>({2}, {1, 2})}, {{0.5, 1.5}, {0.5, 1.5}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(max_and_min_reductions_share_ties, T,
                              TensorTypes) {
  // x.amax() with x = [[1, 3, 3], [2, 3, 0]]: three ties share 1 evenly.
  const T third = T(1) / 3;
  expect_exact_tensor_gradient<T>([](auto v) { return max(v[0]); },
                                  {make<T>({2, 3}, {1, 3, 3, 2, 3, 0})},
                                  {{0, third, third, 0, third, 0}});
  // x.amin() with x = [[1, 3, 0], [0, 0, 5]].
  expect_exact_tensor_gradient<T>([](auto v) { return min(v[0]); },
                                  {make<T>({2, 3}, {1, 3, 0, 0, 0, 5})},
                                  {{0, 0, third, third, third, 0}});
  // (x.amax(1) * torch.tensor([1.0, 2.0])).sum() with
  // x = [[1, 3, 3], [2, 2, 2]].
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(max(v[0], 1) * make<S>({2}, {1, 2}));
      },
      {make<T>({2, 3}, {1, 3, 3, 2, 2, 2})},
      {{0, 0.5, 0.5, 2 * third, 2 * third, 2 * third}});
  // (x.amin(0) * torch.tensor([1.0, 2.0, 4.0])).sum() with
  // x = [[1, 3, 3], [1, 2, 3]].
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(min(v[0], 0) * make<S>({3}, {1, 2, 4}));
      },
      {make<T>({2, 3}, {1, 3, 3, 1, 2, 3})}, {{0.5, 0, 2, 0.5, 2, 2}});
  // A NaN maximum sends the gradient to the NaN element, as reduction.hpp
  // documents. PyTorch 1.13 differs here: x.amax() with x = [1, nan, 3]
  // gives the gradient [nan, nan, nan].
  expect_exact_tensor_gradient<T>([](auto v) { return max(v[0]); },
                                  {make<T>({3}, {1, quiet_nan, 3})}, {{0, 1, 0}});
  expect_exact_tensor_gradient<T>([](auto v) { return sum(max(v[0], 0)); },
                                  {make<T>({3, 1}, {1, quiet_nan, 3})}, {{0, 1, 0}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(clamp_and_where_gradients, T, TensorTypes) {
  // (torch.clamp(x, -0.5, 1.25) * w).sum() with x = [-0.5, 1.25, -0.6, 1.3,
  // 0] and w = [1, 2, 3, 4, 5]: gradient 1 at the bounds, 0 outside.
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(clamp(v[0], -0.5, 1.25) * make<S>({5}, {1, 2, 3, 4, 5}));
      },
      {make<T>({5}, {-0.5, 1.25, -0.6, 1.3, 0.0})}, {{1, 2, 0, 0, 5}});
  // (torch.where(torch.tensor([True, False, True]), a, b) * w).sum() with
  // w = [1, 2, 3].
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(where(make<S>({3}, {1, 0, 1}), v[0], v[1]) *
                   make<S>({3}, {1, 2, 3}));
      },
      {make<T>({3}, {1, 2, 3}), make<T>({3}, {4, 5, 6})}, {{1, 0, 3}, {0, 2, 0}});
  // Hand: a NaN in the mask is nonzero and selects a.
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(where(make<S>({2}, {quiet_nan, 0}), v[0], v[1]));
      },
      {make<T>({2}, {1, 2}), make<T>({2}, {3, 4})}, {{1, 0}, {0, 1}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pow_at_zero_base, T, TensorTypes) {
  // (x ** p).sum() with x = 0 and p = [3, 2, 1, 0, 0.5], both requiring
  // gradients: d/dx = 0, 0, 1, 0, inf, and d/dp = 0 rather than 0 * log(0).
  const std::vector<Tensor<T>> xp = {make<T>({5}, {0, 0, 0, 0, 0}),
                                     make<T>({5}, {3, 2, 1, 0, 0.5})};
  expect_exact_tensor_gradient<T>([](auto v) { return sum(pow(v[0], v[1])); },
                                  xp, {{0, 0, 1, 0, inf}, {0, 0, 0, 0, 0}});
  // The same exponents as plain numbers, one at a time:
  // (torch.tensor([0.0, -0.0]) ** p).sum().
  const std::vector<double> exponents = {3, 2, 1, 0};
  const std::vector<double> slopes = {0, 0, 1, 0};
  for (std::size_t i = 0; i < exponents.size(); ++i) {
    const double p = exponents[i];
    BOOST_TEST_CONTEXT("exponent " << p) {
      expect_exact_tensor_gradient<T>(
          [p](auto v) { return sum(pow(v[0], p)); }, {make<T>({2}, {0, -0.0})},
          {{slopes[i], slopes[i]}});
    }
  }
  // (torch.tensor([0.0]) ** 0.5).sum(). At -0.0 PyTorch 1.13 gives -inf
  // (it computes x ** -0.5 as rsqrt), the library p x^(p-1) = +inf.
  expect_exact_tensor_gradient<T>([](auto v) { return sum(pow(v[0], 0.5)); },
                                  {make<T>({1}, {0})}, {{inf}});
  // torch.pow(0.0, b).sum() with b = [1, 0].
  expect_exact_tensor_gradient<T>(
      [](auto v) { return sum(pow(0.0, v[0])); }, {make<T>({2}, {1, 0})},
      {{0, 0}});
  // (torch.tensor([0.0, 2.0]) ** b).sum() with b = [1, 1]: d/db is 0 at
  // the zero base and 2 log(2) at the other.
  using std::log;
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(pow(make<S>({2}, {0, 2}), v[0]));
      },
      {make<T>({2}, {1, 1})}, {{0, T(2 * log(T(2)))}});
  // (x ** p).sum() with x = [0, 0] and p = [-1, -2]: 0^p = inf,
  // d/dx = -inf and d/dp = inf * log(0) = -inf.
  expect_exact_tensor_gradient<T>([](auto v) { return sum(pow(v[0], v[1])); },
                                  {make<T>({2}, {0, 0}), make<T>({2}, {-1, -2})},
                                  {{-inf, -inf}, {-inf, -inf}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(singular_points, T, TensorTypes) {
  // torch.sqrt(x).sum() with x = [0.0, -0.0]: +inf and -inf.
  expect_exact_tensor_gradient<T>([](auto v) { return sum(sqrt(v[0])); },
                                  {make<T>({2}, {0.0, -0.0})}, {{inf, -inf}});
  // torch.log(torch.tensor([0.0])).sum(): -inf with gradient +inf.
  expect_exact_tensor_gradient<T>([](auto v) { return sum(log(v[0])); },
                                  {make<T>({1}, {0.0})}, {{inf}});
  BOOST_TEST(log(make<T>({1}, {0.0})).values()[0] == T(-inf));
  // (a / b).sum() with a = [1, 0], b = [0, 0]: [inf, inf] and [-inf, nan].
  expect_exact_tensor_gradient<T>([](auto v) { return sum(v[0] / v[1]); },
                                  {make<T>({2}, {1, 0}), make<T>({2}, {0, 0})},
                                  {{inf, inf}, {-inf, quiet_nan}});
  // torch.logsumexp(x, 0) with x = [inf, 1] and with x = [-inf, -inf].
  expect_exact_tensor_gradient<T>([](auto v) { return logsumexp(v[0]); },
                                  {make<T>({2}, {inf, 1})}, {{quiet_nan, 0}});
  expect_exact_tensor_gradient<T>([](auto v) { return logsumexp(v[0]); },
                                  {make<T>({2}, {-inf, -inf})}, {{quiet_nan, quiet_nan}});
  BOOST_TEST(logsumexp(make<T>({2}, {-inf, -inf})).value() == T(-inf));
  // torch.softmax(x, 0) and torch.log_softmax(x, 0) with x = [-inf, -inf]:
  // NaN values, and NaN gradients for (softmax(x) * [1, 2]).sum().
  const Tensor<T> minus_infinity = make<T>({2}, {-inf, -inf});
  expect_exact_values<T>(softmax(minus_infinity).values(),
                         {quiet_nan, quiet_nan});
  expect_exact_values<T>(log_softmax(minus_infinity).values(),
                         {quiet_nan, quiet_nan});
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(softmax(v[0]) * make<S>({2}, {1, 2}));
      },
      {minus_infinity}, {{quiet_nan, quiet_nan}});
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(log_softmax(v[0]) * make<S>({2}, {1, 2}));
      },
      {minus_infinity}, {{quiet_nan, quiet_nan}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(zero_adjoint_rule, T, TensorTypes) {
  // The library's documented rule (docs/design.md): an output gradient of
  // exactly 0 contributes 0 even through an infinite local derivative. So
  // these give 0 where PyTorch 1.13, which multiplies every edge, gives
  // NaN:
  //   (torch.sqrt(x) * 0.0).sum() with x = [0, 4]: grad [nan, 0]
  //   torch.where(x > 0, torch.sqrt(x), 0).sum(): grad [nan, 0.25]
  //   torch.relu(torch.log(x)).sum() with x = [0, 4]: grad [nan, 0.25]
  const std::vector<Tensor<T>> x = {make<T>({2}, {0, 4})};
  expect_exact_tensor_gradient<T>(
      [](auto v) { return sum(sqrt(v[0]) * 0.0); }, x, {{0, 0}});
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(where(make<S>({2}, {0, 1}), sqrt(v[0]), zeros<S>({2})));
      },
      x, {{0, 0.25}});
  expect_exact_tensor_gradient<T>(
      [](auto v) { return sum(relu(log(v[0]))); }, x, {{0, 0.25}});
  // The same through a weighted sum, whose gradient is dense, and through
  // a matrix product with a zero weight, where PyTorch 1.13 gives
  // [nan, 0.25] for (torch.log(x).unsqueeze(0) @ [[0.0], [1.0]]).sum().
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(sqrt(v[0]) * make<S>({2}, {0, 1}));
      },
      x, {{0, 0.25}});
  expect_exact_tensor_gradient<T>(
      [](auto v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return sum(matmul(unsqueeze(log(v[0]), 0), make<S>({2, 1}, {0, 1})));
      },
      x, {{0, 0.25}});
}

BOOST_AUTO_TEST_SUITE_END()
