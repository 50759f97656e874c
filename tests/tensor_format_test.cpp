#define BOOST_TEST_MODULE tensor_format
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "tensor_support.hpp"

// fmt formatting of tensors, NumPy-style abridging of large ones, and the
// creation functions: zeros, ones, full, arange, linspace, eye, and uniform
// and normal from a seeded Generator.

namespace {

using adjoint::Generator;
using adjoint::Reference;
using adjoint::Shape;
using adjoint::Tensor;
using adjoint::testing::EmptyTapes;
using adjoint::testing::expect_exact_values;
using adjoint::testing::message_contains;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tensor_format, EmptyTapes)

// Formatting

BOOST_AUTO_TEST_CASE(format_by_rank) {
  BOOST_TEST(fmt::format("{}", adjoint::scalar_tensor(2.5)) ==
             "tensor(2.5, shape=[])");
  BOOST_TEST(fmt::format("{}", Tensor<double>{1, 2.5, -3}) ==
             "tensor([1, 2.5, -3], shape=[3])");
  // Rows line up under the first, as NumPy prints them.
  BOOST_TEST(fmt::format("{}", Tensor<double>{{1, 2, 3}, {4, 5, 6}}) ==
             "tensor([[1, 2, 3],\n"
             "        [4, 5, 6]], shape=[2, 3])");
  // A blank line between the matrices of a 3-dimensional tensor.
  BOOST_TEST(
      fmt::format("{}", Tensor<double>{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}) ==
      "tensor([[[1, 2],\n"
      "         [3, 4]],\n"
      "\n"
      "        [[5, 6],\n"
      "         [7, 8]]], shape=[2, 2, 2])");
  BOOST_TEST(fmt::format("{}", Tensor<double>(Shape{0}, std::vector<double>{})) ==
             "tensor([], shape=[0])");
  BOOST_TEST(fmt::format("{}", Tensor<double>{std::numeric_limits<double>::infinity(),
                                              std::numeric_limits<double>::quiet_NaN()}) ==
             "tensor([inf, nan], shape=[2])");
  // An intermediate and a parameter print like a constant.
  const Tensor<double> p = adjoint::parameter(Tensor<double>{1, 2});
  BOOST_TEST(fmt::format("{}", p * 2.0) == "tensor([2, 4], shape=[2])");
  adjoint::Tape<double>::active().clear();
}

BOOST_AUTO_TEST_CASE(format_spec_applies_to_each_element) {
  BOOST_TEST(fmt::format("{:.2f}", Tensor<double>{{1, 2.345}, {-3.14159, 0}}) ==
             "tensor([[1.00, 2.35],\n"
             "        [-3.14, 0.00]], shape=[2, 2])");
  BOOST_TEST(fmt::format("{:e}", Tensor<double>{1e-300, 1e300}) ==
             "tensor([1.000000e-300, 1.000000e+300], shape=[2])");
  BOOST_TEST(fmt::format("{:.3f}", adjoint::scalar_tensor(-0.5)) ==
             "tensor(-0.500, shape=[])");
  // A type fmt cannot format is printed as long double.
  BOOST_TEST(fmt::format("{:.5f}", Tensor<Reference>{Reference(1) / 3, 2}) ==
             "tensor([0.33333, 2.00000], shape=[2])");
}

BOOST_AUTO_TEST_CASE(format_abridges_large_tensors) {
  // Up to 1000 elements everything is printed.
  const std::string thousand = fmt::format("{}", adjoint::arange<double>(1000));
  BOOST_TEST(thousand.find("...") == std::string::npos);
  BOOST_TEST(thousand.find("499, 500, 501") != std::string::npos);
  // Above, three items at each end of every dimension, as NumPy does
  // (numpy.arange(1001) prints [0, 1, 2, ..., 998, 999, 1000]).
  BOOST_TEST(fmt::format("{}", adjoint::arange<double>(1001)) ==
             "tensor([0, 1, 2, ..., 998, 999, 1000], shape=[1001])");
  BOOST_TEST(fmt::format("{}", reshape(adjoint::arange<double>(2000), {100, 20})) ==
             "tensor([[0, 1, 2, ..., 17, 18, 19],\n"
             "        [20, 21, 22, ..., 37, 38, 39],\n"
             "        [40, 41, 42, ..., 57, 58, 59],\n"
             "        ...,\n"
             "        [1940, 1941, 1942, ..., 1957, 1958, 1959],\n"
             "        [1960, 1961, 1962, ..., 1977, 1978, 1979],\n"
             "        [1980, 1981, 1982, ..., 1997, 1998, 1999]], "
             "shape=[100, 20])");
  // A dimension of at most six items is printed whole.
  BOOST_TEST(fmt::format("{}", reshape(adjoint::arange<double>(1002), {167, 6})) ==
             "tensor([[0, 1, 2, 3, 4, 5],\n"
             "        [6, 7, 8, 9, 10, 11],\n"
             "        [12, 13, 14, 15, 16, 17],\n"
             "        ...,\n"
             "        [984, 985, 986, 987, 988, 989],\n"
             "        [990, 991, 992, 993, 994, 995],\n"
             "        [996, 997, 998, 999, 1000, 1001]], shape=[167, 6])");
  // In three dimensions the skipped matrices get a line of their own, with
  // blank lines around it.
  const std::string cube =
      fmt::format("{}", reshape(adjoint::arange<double>(2000), {10, 10, 20}));
  BOOST_TEST(cube.starts_with("tensor([[[0, 1, 2, ..., 17, 18, 19],\n"
                              "         [20, 21, 22, ..., 37, 38, 39],\n"
                              "         [40, 41, 42, ..., 57, 58, 59],\n"
                              "         ...,\n"
                              "         [140, 141, 142, ..., 157, 158, 159],\n"));
  BOOST_TEST(cube.find("[580, 581, 582, ..., 597, 598, 599]],\n"
                       "\n"
                       "        ...,\n"
                       "\n"
                       "        [[1400, 1401, 1402, ..., 1417, 1418, 1419],\n") !=
             std::string::npos);
  BOOST_TEST(cube.ends_with("[1980, 1981, 1982, ..., 1997, 1998, 1999]]], "
                            "shape=[10, 10, 20])"));
}

// Creation

BOOST_AUTO_TEST_CASE(constant_fills) {
  const Tensor<double> z = adjoint::zeros<double>({2, 3});
  const Tensor<double> o = adjoint::ones<double>({4});
  const Tensor<double> f = adjoint::full<double>({2, 1, 2}, -1.5);
  BOOST_TEST((z.shape() == Shape{2, 3}));
  BOOST_TEST((o.shape() == Shape{4}));
  BOOST_TEST((f.shape() == Shape{2, 1, 2}));
  expect_exact_values<double>(z.values(), {0, 0, 0, 0, 0, 0});
  expect_exact_values<double>(o.values(), {1, 1, 1, 1});
  expect_exact_values<double>(f.values(), {-1.5, -1.5, -1.5, -1.5});
  BOOST_TEST(z.is_constant());
  BOOST_TEST(adjoint::zeros<double>({0, 3}).numel() == 0u);
  BOOST_TEST(adjoint::full<double>({}, 7.0).item() == 7.0);
  // The default tensor is a 0-dimensional constant 0.
  BOOST_TEST(Tensor<double>().item() == 0.0);
  BOOST_TEST(Tensor<double>().rank() == 0u);
  const Tensor<Reference> r = adjoint::full<Reference>({2}, Reference(1) / 3);
  BOOST_TEST(r.values()[1] == Reference(1) / 3);
}

BOOST_AUTO_TEST_CASE(arange_and_linspace) {
  // torch.arange(0, 1, 0.1), torch.arange(5, -1, -1.5),
  // torch.arange(0.5, 3) and numpy.arange(5).
  expect_exact_values<double>(adjoint::arange<double>(0.0, 1.0, 0.1).values(),
                              {0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5,
                               0.6000000000000001, 0.7000000000000001, 0.8, 0.9});
  expect_exact_values<double>(adjoint::arange<double>(5.0, -1.0, -1.5).values(),
                              {5.0, 3.5, 2.0, 0.5});
  expect_exact_values<double>(adjoint::arange<double>(0.5, 3.0).values(),
                              {0.5, 1.5, 2.5});
  expect_exact_values<double>(adjoint::arange<double>(5).values(), {0, 1, 2, 3, 4});
  // An empty range, and the error for a zero or non-finite step.
  BOOST_TEST(adjoint::arange<double>(3.0, 1.0).numel() == 0u);
  BOOST_TEST(adjoint::arange<double>(0).numel() == 0u);
  BOOST_CHECK_EXCEPTION(adjoint::arange<double>(0.0, 1.0, 0.0),
                        std::invalid_argument,
                        message_contains({"arange", "step nonzero"}));
  BOOST_CHECK_EXCEPTION(
      adjoint::arange<double>(0.0, std::numeric_limits<double>::infinity()),
      std::invalid_argument, message_contains({"arange", "finite"}));
  // numpy.linspace(0, 1, 7) and numpy.linspace(-1, 2.5, 11), which compute
  // start + i * step as the library does; the end points are exact.
  expect_exact_values<double>(
      adjoint::linspace<double>(0.0, 1.0, 7).values(),
      {0.0, 0.16666666666666666, 0.3333333333333333, 0.5, 0.6666666666666666,
       0.8333333333333333, 1.0});
  expect_exact_values<double>(
      adjoint::linspace<double>(-1.0, 2.5, 11).values(),
      {-1.0, -0.65, -0.30000000000000004, 0.04999999999999982,
       0.3999999999999999, 0.75, 1.0999999999999996, 1.4499999999999997,
       1.7999999999999998, 2.15, 2.5});
  expect_exact_values<double>(adjoint::linspace<double>(2.0, 3.0, 1).values(),
                              {2.0});
  BOOST_TEST(adjoint::linspace<double>(2.0, 3.0, 0).numel() == 0u);
}

BOOST_AUTO_TEST_CASE(eye_matrices) {
  expect_exact_values<double>(adjoint::eye<double>(3).values(),
                              {1, 0, 0, 0, 1, 0, 0, 0, 1});
  BOOST_TEST((adjoint::eye<double>(3).shape() == Shape{3, 3}));
  BOOST_TEST((adjoint::eye<double>(0).shape() == Shape{0, 0}));
  // eye is the identity of matmul.
  const Tensor<double> a{{1, 2, 3}, {4, 5, 6}};
  BOOST_TEST(adjoint::same_values(matmul(adjoint::eye<double>(2), a), a));
  BOOST_TEST(adjoint::same_values(matmul(a, adjoint::eye<double>(3)), a));
}

BOOST_AUTO_TEST_CASE(generator_is_reproducible) {
  // The engine is std::mt19937_64, whose output the C++ standard fixes,
  // and uniform() keeps its top 53 bits: the same seed gives the same
  // values on every platform.
  std::mt19937_64 engine(5489);
  const double first = static_cast<double>(engine() >> 11) * 0x1.0p-53;
  Generator generator(5489);
  BOOST_TEST(generator.uniform() == first);
  BOOST_TEST(first == 14514284786278117030ull / 2048 * 0x1.0p-53);

  Generator a(42);
  Generator b(42);
  Generator c(43);
  const Tensor<double> ua = adjoint::uniform<double>({3, 4}, a, -2.0, 5.0);
  const Tensor<double> na = adjoint::normal<double>({7}, a, 1.0, 0.5);
  const Tensor<double> ub = adjoint::uniform<double>({3, 4}, b, -2.0, 5.0);
  const Tensor<double> nb = adjoint::normal<double>({7}, b, 1.0, 0.5);
  const Tensor<double> uc = adjoint::uniform<double>({3, 4}, c, -2.0, 5.0);
  BOOST_TEST(adjoint::same_values(ua, ub));
  BOOST_TEST(adjoint::same_values(na, nb));
  BOOST_TEST(!adjoint::same_values(ua, uc));
  BOOST_TEST(ua.is_constant());
  // Tensors of other scalar types draw the same numbers: on [0, 1) they
  // are the same doubles.
  Generator d(42);
  Generator e(42);
  const Tensor<Reference> ud = adjoint::uniform<Reference>({3, 4}, d);
  const Tensor<double> ue = adjoint::uniform<double>({3, 4}, e);
  for (std::size_t i = 0; i < ue.numel(); ++i) {
    BOOST_TEST(ud.values()[i] == Reference(ue.values()[i]));
  }
}

BOOST_AUTO_TEST_CASE(uniform_and_normal_statistics) {
  Generator generator(7);
  const std::size_t n = 100000;
  const Tensor<double> u = adjoint::uniform<double>({n}, generator, -1.0, 3.0);
  const Tensor<double> z = adjoint::normal<double>({n}, generator, 2.0, 0.5);
  double low = u.values()[0];
  double high = u.values()[0];
  for (const double v : u.values()) {
    low = std::min(low, v);
    high = std::max(high, v);
  }
  BOOST_TEST(low >= -1.0);
  BOOST_TEST(high < 3.0);
  // Uniform on [-1, 3): mean 1 and variance 16 / 12. With 1e5 samples the
  // standard errors are 0.004 for the mean and 0.003 for the variance;
  // the bounds are ten of them.
  const double u_mean = mean(u).value();
  const double u_variance = mean(square(u - u_mean)).value();
  BOOST_TEST(std::abs(u_mean - 1.0) < 0.04);
  BOOST_TEST(std::abs(u_variance - 16.0 / 12.0) < 0.03);
  // Normal with mean 2 and standard deviation 0.5: standard errors 0.0016
  // for the mean and 0.0008 for the variance. About 95.4% of the samples
  // lie within two standard deviations.
  const double z_mean = mean(z).value();
  const double z_variance = mean(square(z - z_mean)).value();
  BOOST_TEST(std::abs(z_mean - 2.0) < 0.016);
  BOOST_TEST(std::abs(z_variance - 0.25) < 0.008);
  const double inside = mean(less(abs(z - 2.0), adjoint::scalar_tensor(1.0))).value();
  BOOST_TEST(std::abs(inside - 0.9545) < 0.01);
}

BOOST_AUTO_TEST_SUITE_END()
