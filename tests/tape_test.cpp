#define BOOST_TEST_MODULE tape
#include <boost/test/unit_test.hpp>

#include "autodiff/autodiff.hpp"

using adjoint::Var;

BOOST_AUTO_TEST_SUITE(tape)

BOOST_AUTO_TEST_CASE(product_gradient) {
  Var<double> x{3.0};
  Var<double> y{4.0};
  (x * y).backward();
  BOOST_TEST(x.grad() == 4.0);
  BOOST_TEST(y.grad() == 3.0);
}

BOOST_AUTO_TEST_SUITE_END()
