// Hostile input to tensors: extents whose product overflows, huge steps,
// moved-from handles, numbers passed where an axis belongs, a Var read by a
// tensor record and then consumed, and a loss that depends on no parameter.
#define BOOST_TEST_MODULE tensor_robustness
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "optim/optim.hpp"
#include "tensor_support.hpp"

using adjoint::Shape;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::message_contains;

namespace {

// Numbers and bools convert to an axis silently; the reductions reject them
// at compile time, so max(x, 0.0) cannot reduce along axis 0 by accident.
template <class X, class A>
concept ReducesWith = requires(X x, A a) { max(x, a); };
template <class X, class A>
concept SumsWith = requires(X x, A a) { sum(x, a); };
template <class X, class A>
concept SoftmaxWith = requires(X x, A a) { softmax(x, a); };

static_assert(ReducesWith<Tensor<double>, int>);
static_assert(!ReducesWith<Tensor<double>, double>);
static_assert(!SumsWith<Tensor<double>, bool>);
static_assert(!SumsWith<Tensor<double>, float>);
static_assert(!SoftmaxWith<Tensor<double>, double>);

constexpr std::size_t huge = std::size_t{1} << 32;

}  // namespace

BOOST_AUTO_TEST_CASE(overflowing_extents_are_rejected) {
  BOOST_CHECK_EXCEPTION(adjoint::zeros<double>(Shape{huge, huge}),
                        std::invalid_argument,
                        message_contains({"[4294967296, 4294967296]"}));
  // Read at run time, so that the compiler does not unroll eye()'s loop over
  // a constant it can see is out of range.
  volatile std::size_t side = huge * 2;
  BOOST_CHECK_EXCEPTION(adjoint::eye<double>(side), std::invalid_argument,
                        message_contains({"more elements"}));
  const std::size_t wraps = (std::size_t{1} << 63) + 3;
  BOOST_CHECK_EXCEPTION(
      Tensor<double>(Shape{wraps, std::size_t{2}},
                     std::vector<double>(6, 1.0)),
      std::invalid_argument, message_contains({"Tensor:"}));
  const Tensor<double> six = adjoint::arange<double>(6);
  BOOST_CHECK_EXCEPTION(reshape(six, Shape{wraps, std::size_t{2}}),
                        std::invalid_argument, message_contains({"Tensor:"}));
}

BOOST_AUTO_TEST_CASE(arange_with_too_many_elements) {
  BOOST_CHECK_EXCEPTION(adjoint::arange<double>(0, 1e20, 1),
                        std::invalid_argument,
                        message_contains({"arange:", "larger step"}));
  BOOST_CHECK_EXCEPTION(adjoint::arange<double>(0, 1, 1e-300),
                        std::invalid_argument, message_contains({"arange:"}));
}

BOOST_AUTO_TEST_CASE(slice_with_a_huge_step) {
  const Tensor<double> x = adjoint::arange<double>(10);
  const Tensor<double> s =
      slice(x, 0, 1, 10, std::numeric_limits<std::ptrdiff_t>::max());
  BOOST_TEST(s.numel() == 1u);
  BOOST_TEST(s(0) == 1.0);
  const Tensor<double> t = slice(x, 0, 2, 9, 3);
  BOOST_TEST(t.numel() == 3u);
  BOOST_TEST(t(2) == 8.0);
}

BOOST_AUTO_TEST_CASE(moved_from_tensor_raises) {
  Tensor<double> w = adjoint::parameter(Tensor<double>{1.0, 2.0});
  adjoint::optim::GradientDescent<double> optimizer({std::move(w)}, 0.1);
  BOOST_CHECK_EXCEPTION((void)w.shape(), adjoint::graph_error,
                        message_contains({"moved from"}));
  BOOST_CHECK_EXCEPTION((void)(w + 1.0), adjoint::graph_error,
                        message_contains({"moved from"}));
  w = Tensor<double>{3.0};
  BOOST_TEST(w(0) == 3.0);
}

BOOST_AUTO_TEST_CASE(negative_index_is_named) {
  const Tensor<double> x{{1, 2}, {3, 4}};
  BOOST_CHECK_EXCEPTION((void)x(-1, 0), std::invalid_argument,
                        message_contains({"negative index", "(-1, 0)"}));
}

BOOST_AUTO_TEST_CASE(var_read_by_a_tensor_then_consumed) {
  // The tensor record reads the adjoint of a's node, so a *= 3 must record a
  // new node instead of folding into it.
  Var<double> w{1.0};
  Var<double> a = w * 2.0;
  const Tensor<double> t = a * Tensor<double>{1.0, 1.0};
  a *= 3.0;
  Var<double> loss = sum(t) + a;
  loss.backward();
  BOOST_TEST(w.grad() == 10.0);

  Var<double> v{1.0};
  Var<double> b = v * 2.0;
  const Tensor<double> u = b * Tensor<double>{1.0, 1.0};
  Var<double> other = sum(u) + std::move(b) * 5.0;
  other.backward();
  BOOST_TEST(v.grad() == 14.0);
}

BOOST_AUTO_TEST_CASE(minimize_rejects_a_constant_loss) {
  Var<double> w{1.0};
  adjoint::optim::GradientDescent<double> optimizer({w}, 0.1);
  adjoint::optim::StopCriteria criteria;
  criteria.gradient_tolerance = 1e-6;
  BOOST_CHECK_EXCEPTION(
      adjoint::optim::minimize(optimizer,
                               [&] {
                                 adjoint::NoGradGuard no_grad;
                                 return square(w - 8.0);
                               },
                               criteria),
      std::invalid_argument, message_contains({"minimize:", "no parameter"}));
}
