#define BOOST_TEST_MODULE tensor_deep_chain
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "tensor_support.hpp"

// Very long chains of tensor operations: the sweep, the release of the
// graph and the destruction of the handles must not recurse once per
// operation. The test that would end the program with a stack overflow
// comes last, so that a crash there leaves the others reported.

namespace {

using adjoint::parameter;
using adjoint::scalar_tensor;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::EmptyTapes;
using adjoint::testing::expect_close;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tensor_deep_chain, EmptyTapes)

BOOST_AUTO_TEST_CASE(deep_tensor_chain_graph) {
  {
    Tensor<double> x = parameter(scalar_tensor(0.5));
    Tensor<double> t = parameter(scalar_tensor(1.0));
    Tensor<double> s = x;
    for (int k = 2; k <= 200'000; ++k) s = s + x;
    Tensor<double> y = t;
    for (int k = 1; k <= 100'000; ++k) y = tanh(y);
    const Var<double> loss = sum(s + y);
    loss.backward();
    // mpmath at 40 digits: y_100000 = 0.0038729218269701339 and dy/dt =
    // prod 1 / cosh(y_k)^2 = 5.189230816762451e-08. dloss/dx = 200000 by
    // hand, exactly, since every partial is 1.
    expect_close(loss.value(), 100000.00387292182, 1e-12, 1e-12);
    BOOST_TEST(x.grad().item() == 200000.0);
    expect_close(t.grad().item(), 5.189230816762451e-08, 0, 1e-6);
    // The handles, the parameters and the released records are destroyed
    // at the end of the scope.
  }
  BOOST_TEST(adjoint::Tape<double>::active().size() == 0u);
  BOOST_TEST(adjoint::Tape<double>::active().tensor_records() == 0u);
}

BOOST_AUTO_TEST_CASE(deep_chain_with_views_and_reductions) {
  Tensor<double> x = parameter(Tensor<double>{1.0, 2.0});
  Var<double> total;
  Tensor<double> v = x;
  for (int k = 0; k < 20'000; ++k) {
    // A view, an element-wise operation and a reduction per step, with
    // the reduction fed back through a Var.
    v = reshape(v * 1.0, {2}) + total * 0.0;
    total = total + sum(v) * 1e-6;
  }
  total.backward();
  // Hand: v stays x, total = 20000 * 1e-6 * sum(x), and the gradient of
  // each element is 20000 * 1e-6 plus the paths through total * 0.0,
  // which contribute 0.
  expect_close(total.value(), 0.06, 1e-12, 1e-9);
  expect_close(x.grad().values()[0], 0.02, 1e-12, 1e-9);
  expect_close(x.grad().values()[1], 0.02, 1e-12, 1e-9);
}

BOOST_AUTO_TEST_CASE(long_chains_of_views_are_freed) {
  // Each view keeps the tensor it was made from alive. A chain of 200000
  // views of views must be freed without one nested destructor call per
  // link, for constants, for detach() and for recorded views.
  {
    Tensor<double> constant{1.0, 2.0};
    for (int k = 0; k < 200'000; ++k) constant = reshape(constant, {2});
    BOOST_TEST(constant.values()[1] == 2.0);
  }
  {
    Tensor<double> p = parameter(Tensor<double>{1.0, 2.0});
    Tensor<double> detached = p;
    for (int k = 0; k < 200'000; ++k) detached = detached.detach();
    BOOST_TEST(detached.values()[1] == 2.0);
  }
  {
    Tensor<double> p = parameter(Tensor<double>{1.0, 2.0});
    Tensor<double> viewed = p;
    for (int k = 0; k < 200'000; ++k) viewed = flatten(viewed);
    sum(viewed).backward();
    BOOST_TEST(p.grad().values()[0] == 1.0);
  }
  BOOST_TEST(adjoint::Tape<double>::active().tensor_records() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
