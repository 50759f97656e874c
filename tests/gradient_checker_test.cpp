#define BOOST_TEST_MODULE gradient_checker
#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "autodiff/testing.hpp"

// The public gradient checker and its Boost.Test macro, on operators
// defined here as a user would: one with a correct rule and one whose rule
// is off by a factor of two.

namespace {

using adjoint::Tensor;
using adjoint::Var;

// softplus(x) = log(1 + exp(x)), with derivative sigmoid(x).
template <adjoint::AnyVar V>
Var<adjoint::ScalarOf<V>> softplus(V&& x) {
  using std::exp;
  using std::log1p;
  using T = adjoint::ScalarOf<V>;
  const T v = x.value();
  return adjoint::make_node<T>("softplus", T(log1p(exp(v))),
                               {std::forward<V>(x), T(1 / (1 + exp(-v)))});
}

template <class T>
Tensor<T> softplus(const Tensor<T>& x) {
  return adjoint::map<T>(
      "softplus", x,
      [](const T& v) {
        using std::exp;
        using std::log1p;
        return T(log1p(exp(v)));
      },
      [](const T& v, const T&) {
        using std::exp;
        return T(1 / (1 + exp(-v)));
      });
}

// A wrong rule: the derivative of x^2 given as x instead of 2x.
template <class T>
Tensor<T> half_wrong_square(const Tensor<T>& x) {
  return adjoint::map<T>(
      "half_wrong_square", x, [](const T& v) { return T(v * v); },
      [](const T& v, const T&) { return v; });
}

// lerp(a, b, t) = a + t (b - a), a user operator of three inputs with
// broadcasting.
template <class T>
Tensor<T> lerp(const Tensor<T>& a, const Tensor<T>& b, const Tensor<T>& t) {
  return adjoint::elementwise<T, 3>(
      "lerp", {a, b, t},
      [](const std::array<T, 3>& x) { return T(x[0] + x[2] * (x[1] - x[0])); },
      [](const std::array<T, 3>& x, const T&, std::size_t k) {
        if (k == 0) return T(1 - x[2]);
        if (k == 1) return x[2];
        return T(x[1] - x[0]);
      });
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gradient_checker)

BOOST_AUTO_TEST_CASE(correct_rule_passes) {
  const std::vector<Tensor<double>> inputs = {Tensor<double>{-2.0, 0.5, 3.0},
                                              Tensor<double>{{1.0, 2.0}}};
  const auto check = adjoint::check_gradient<double>(
      [](auto x) { return sum(softplus(x[0])) * sum(x[1]); },
      std::span<const Tensor<double>>(inputs));
  BOOST_TEST(check.passed());
  BOOST_TEST_REQUIRE(check.inputs.size() == 2u);
  BOOST_TEST(check.inputs[0].max_relative_error <= 1e-14);
  BOOST_TEST(check.inputs[1].max_relative_error <= 1e-14);
  const std::string verdict = check.verdict();
  BOOST_TEST(verdict.starts_with("gradient check passed: worst relative "
                                 "error"),
             verdict);
  BOOST_TEST(contains(verdict, "<= tolerance 1e-10"), verdict);
}

BOOST_AUTO_TEST_CASE(wrong_rule_is_found) {
  // d/dx sum(x^2) = 2x; the wrong rule gives x, a relative error of 0.5 at
  // every element. The first element with the largest error is reported.
  const std::vector<Tensor<double>> inputs = {Tensor<double>{1.0},
                                              Tensor<double>{3.0, -2.0}};
  const auto check = adjoint::check_gradient<double>(
      [](auto x) { return sum(x[0]) + sum(half_wrong_square(x[1])); },
      std::span<const Tensor<double>>(inputs));
  BOOST_TEST(!check.passed());
  BOOST_TEST(check.inputs[0].max_relative_error <= 1e-15);
  BOOST_TEST(std::abs(check.inputs[1].max_relative_error - 0.5) <= 1e-12);
  BOOST_TEST(check.worst_input == 1u);
  BOOST_TEST(check.inputs[1].reverse == 3.0);
  BOOST_TEST(std::abs(check.inputs[1].finite_difference - 6.0) <= 1e-12);
  const std::string verdict = check.verdict();
  BOOST_TEST(verdict.starts_with("gradient check FAILED: worst relative "
                                 "error 0.5 > tolerance 1e-10 at input 1, "
                                 "element "),
             verdict);
  BOOST_TEST(contains(verdict, "reverse mode "), verdict);
  BOOST_TEST(contains(verdict, "finite difference "), verdict);
}

BOOST_AUTO_TEST_CASE(scalar_inputs_report) {
  const auto check = adjoint::check_gradient<double>(
      [](auto x) { return softplus(x[0]) * x[1]; }, {0.25, -3.0});
  BOOST_TEST(check.passed());
  BOOST_TEST_REQUIRE(check.inputs.size() == 2u);
  BOOST_TEST(check.inputs[1].reverse == std::log1p(std::exp(0.25)));
  BOOST_TEST(contains(check.verdict(), "at input "), check.verdict());
  BOOST_TEST(!contains(check.verdict(), "element"), check.verdict());
  BOOST_TEST(check.passed(check.max_relative_error));
}

BOOST_AUTO_TEST_CASE(macro_forms) {
  const std::vector<Tensor<double>> tensors = {Tensor<double>{-1.0, 2.0}};
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(softplus(x[0])); }, tensors);
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); },
                         std::vector<double>{0.75});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0] * x[1]); },
                         {0.5, -1.5});
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(softplus(x[0])); }, tensors,
                         1e-14);
  const std::vector<Tensor<float>> floats = {Tensor<float>{-1.0f, 2.0f}};
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(softplus(x[0])); }, floats);
}

BOOST_AUTO_TEST_CASE(three_input_operator_broadcasts) {
  // Shapes [2, 1], [3] and [] broadcast to [2, 3].
  const std::vector<Tensor<double>> inputs = {
      adjoint::Tensor<double>({2, 1}, std::vector<double>{0.5, -1.5}),
      Tensor<double>{2.0, -0.25, 4.0},
      Tensor<double>(adjoint::Shape{}, std::vector<double>{0.3})};
  ADJOINT_CHECK_GRADIENT(
      [](auto x) { return sum(square(lerp(x[0], x[1], x[2]))); }, inputs);
  const Tensor<double> y = lerp(inputs[0], inputs[1], inputs[2]);
  const Tensor<double> expected =
      inputs[0] + inputs[2] * (inputs[1] - inputs[0]);
  BOOST_TEST(y.shape() == expected.shape());
  for (std::size_t i = 0; i < expected.numel(); ++i) {
    BOOST_TEST(y.values()[i] == expected.values()[i]);
  }
  BOOST_CHECK_EXCEPTION(
      lerp(Tensor<double>{1.0, 2.0}, Tensor<double>{1.0, 2.0, 3.0},
           Tensor<double>(adjoint::Shape{}, std::vector<double>{0.5})),
      std::invalid_argument, [](const std::invalid_argument& error) {
        return contains(error.what(),
                        "lerp: input shapes [2], [3], [] do not broadcast");
      });
}

BOOST_AUTO_TEST_CASE(wrong_sized_gradient_raises) {
  // A backward rule that gives one value too few for its input.
  Tensor<double> x = adjoint::parameter(Tensor<double>{1.0, 2.0, 3.0});
  adjoint::TensorOutput<double> output(x.shape());
  std::copy(x.values().begin(), x.values().end(), output.data);
  const Tensor<double> y = adjoint::make_tensor_node<double>(
      "short_rule", std::move(output), {x},
      [x = Tensor<double>(x)](adjoint::TensorGrad<double>& grad,
                              adjoint::Backward<double>& backward) {
        backward.add(x, adjoint::detail::Buffer<double>(grad.size() - 1));
      });
  BOOST_CHECK_EXCEPTION(
      sum(y).backward(), std::invalid_argument,
      [](const std::invalid_argument& error) {
        return contains(error.what(),
                        "Backward::add: a gradient of 2 values for an input "
                        "of shape [3]");
      });
  adjoint::Tape<double>::active().clear();
}

BOOST_AUTO_TEST_CASE(check_records_inside_no_grad_guard) {
  const adjoint::NoGradGuard no_grad;
  const auto check = adjoint::check_gradient<double>(
      [](auto x) { return x[0] * x[0]; }, {3.0});
  BOOST_TEST(check.passed(), check.verdict());
  BOOST_TEST(check.inputs.at(0).reverse == 6.0);
  BOOST_TEST(!adjoint::is_grad_enabled());
}

BOOST_AUTO_TEST_CASE(verdict_prints_reference_beyond_range) {
  // d/dx exp(x) at 1000 is about 1.97e434: inf in double, finite in 50
  // digits. The verdict prints the finite value, not inf.
  const auto check = adjoint::check_gradient<double>(
      [](auto x) { return exp(x[0]); }, {1000.0});
  BOOST_TEST(!check.passed());
  BOOST_TEST(contains(check.verdict(), "finite difference 1.97"),
             check.verdict());
}

BOOST_AUTO_TEST_CASE(verdict_without_elements) {
  const std::vector<Tensor<double>> inputs = {
      adjoint::zeros<double>(adjoint::Shape{0})};
  const auto check =
      adjoint::check_gradient<double>([](auto x) { return sum(x[0]); },
                                      std::span<const Tensor<double>>(inputs));
  BOOST_TEST(check.passed());
  BOOST_TEST(contains(check.verdict(), "nothing was compared"),
             check.verdict());
}

// The macro reports a wrong rule as one failed assertion; the decorator
// turns that expected failure into a pass.
BOOST_AUTO_TEST_CASE(macro_reports_wrong_rule,
                     *boost::unit_test::expected_failures(1)) {
  const std::vector<Tensor<double>> inputs = {Tensor<double>{3.0}};
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(half_wrong_square(x[0])); },
                         inputs);
}

BOOST_AUTO_TEST_SUITE_END()
