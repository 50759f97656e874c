#define BOOST_TEST_MODULE custom_operator_example
#include <boost/test/unit_test.hpp>

// The operators that examples/custom_operator defines outside the library,
// softplus and huber: their gradients, their values against PyTorch, and a
// run of the built program.

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "autodiff/testing.hpp"
#include "example_runner.hpp"
#include "examples/custom_operator/operators.hpp"

namespace {

using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::check_error_line;
using adjoint::testing::lines_of;
using adjoint::testing::Run;
using custom_operator::huber;
using custom_operator::softplus;
namespace tt = boost::test_tools;

const adjoint::testing::ExampleProgram program{ADJOINT_CUSTOM_OPERATOR_EXE,
                                               "custom_operator_example_test"};

const std::string hubble_data =
    std::string(ADJOINT_EXAMPLES_DATA_DIR) + "/hubble1929.csv";

constexpr int exit_success = 0;
constexpr int exit_invalid_input = 1;

struct ScratchDirectory {
  ScratchDirectory() { program.create_scratch(); }
  ~ScratchDirectory() { program.remove_scratch(); }
};

/// Returns the values of a tensor.
template <class T>
std::vector<T> values_of(const Tensor<T>& tensor) {
  return {tensor.values().begin(), tensor.values().end()};
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(ScratchDirectory);

// Gradients against 50-digit central differences

BOOST_AUTO_TEST_CASE(softplus_var_gradient) {
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {0.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {0.5});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {-1.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {20.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {-50.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {50.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {-1000.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {1000.0});
  // A temporary operand, which make_node() fuses into its record.
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0] * x[1]); },
                         {1.5, -2.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {-50.0f});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {0.25f});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {50.0f});
  ADJOINT_CHECK_GRADIENT([](auto x) { return softplus(x[0]); }, {-3.0L});
}

BOOST_AUTO_TEST_CASE(softplus_tensor_gradient) {
  const std::vector<Tensor<double>> edges = {
      Tensor<double>{-1000.0, -50.0, -3.0, 0.0, 2.0, 50.0, 1000.0}};
  const std::vector<Tensor<double>> matrix = {
      Tensor<double>{{-3.0, -0.5}, {0.0, 2.0}}};
  const std::vector<Tensor<double>> broadcast = {
      Tensor<double>{{-3.0, -0.5, 0.0}, {0.25, 1.0, 4.0}},
      Tensor<double>{0.5, -0.5, 1.5}};
  const std::vector<Tensor<float>> floats = {
      Tensor<float>{-50.0f, -3.0f, 0.0f, 2.0f, 50.0f}};
  // sum() hands the rule a uniform output gradient, square() a dense one.
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(softplus(x[0])); }, edges);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(square(softplus(x[0]))); },
                         matrix);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(softplus(x[0] + x[1])); },
                         broadcast);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(softplus(x[0]) * x[1]); },
                         broadcast);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(softplus(x[0])); }, floats);
}

BOOST_AUTO_TEST_CASE(huber_var_gradient) {
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1.0); },
                         {0.0, 0.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1.0); },
                         {0.3, -0.2});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1.0); },
                         {2.5, -1.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1.0); },
                         {-2.5, 1.0});
  // At r = +-delta the derivative is continuous, and the central difference
  // is off only by about the step / 4.
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1.0); },
                         {1.0, 0.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1.0); },
                         {0.0, 1.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 2.5); },
                         {60.0, -40.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 2.5); },
                         {-1e6, 3e5});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1e3); },
                         {60.0, -40.0});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[0], 1.0); }, {0.7});
  // Temporary operands on both sides, which make_node() may fuse.
  ADJOINT_CHECK_GRADIENT(
      [](auto x) { return huber(x[0] * x[1], x[2] + x[0], 1.0); },
      {1.5, -2.0, 0.5});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1.0f); },
                         {0.3f, -0.2f});
  ADJOINT_CHECK_GRADIENT([](auto x) { return huber(x[0], x[1], 1.0f); },
                         {50.0f, -50.0f});
}

BOOST_AUTO_TEST_CASE(huber_tensor_gradient) {
  const Tensor<double> prediction{{-3.0, -0.5, 0.0}, {0.25, 1.0, 4.0}};
  const std::vector<Tensor<double>> same_shape = {
      prediction, Tensor<double>{{0.5, -0.5, 1.5}, {-1.0, 0.0, 0.0}}};
  // No input element has a gradient of exactly 0 from terms that cancel
  // (residuals of -1.5 and 2.5, say). Rounding can leave the central
  // difference slightly off there, an infinite error relative to 0.
  const std::vector<Tensor<double>> row_target = {
      prediction, Tensor<double>{0.5, -0.5, 0.5}};
  const std::vector<Tensor<double>> column_target = {
      prediction, Tensor<double>({2, 1}, std::vector<double>{0.5, -2.0})};
  const std::vector<Tensor<double>> scalar_target = {
      prediction, Tensor<double>({1}, std::vector<double>{0.75})};
  const std::vector<Tensor<double>> both_broadcast = {
      Tensor<double>({2, 1}, std::vector<double>{-1.5, 0.4}),
      Tensor<double>{{0.5, -0.25, 1.25}}};
  const std::vector<Tensor<double>> large = {
      Tensor<double>{-1e6, 0.0, 3e5, 1e9}, Tensor<double>{2e6, 1.0, -3e5, 0}};
  const std::vector<Tensor<float>> floats = {
      Tensor<float>{{-3.0f, -0.5f, 0.0f}, {0.25f, 1.0f, 40.0f}},
      Tensor<float>{0.5f, -0.5f, 0.5f}};
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(huber(x[0], x[1], 1.0)); },
                         same_shape);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(huber(x[0], x[1], 1.0)); },
                         row_target);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(huber(x[0], x[1], 1.0)); },
                         column_target);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(huber(x[0], x[1], 1.0)); },
                         scalar_target);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(huber(x[0], x[1], 1.0)); },
                         both_broadcast);
  ADJOINT_CHECK_GRADIENT(
      [](auto x) { return sum(square(huber(x[0], x[1], 1.0))); }, row_target);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(huber(x[0], x[1], 2.5)); },
                         large);
  ADJOINT_CHECK_GRADIENT([](auto x) { return sum(huber(x[0], x[1], 1.0)); },
                         floats);
}

// Derivatives where the central difference cannot decide, and the
// zero-adjoint convention

BOOST_AUTO_TEST_CASE(huber_derivative_at_boundaries) {
  // At |r| == delta both branches give the derivative +-delta, exactly.
  const Var<double> above{2.5};
  const Var<double> below{-2.5};
  const Var<double> zero{0.0};
  const Var<double> target = adjoint::constant(0.0);
  (huber(above, target, 2.5) + huber(below, target, 2.5) +
   huber(zero, target, 2.5))
      .backward();
  BOOST_TEST(above.grad() == 2.5);
  BOOST_TEST(below.grad() == -2.5);
  BOOST_TEST(zero.grad() == 0.0);
}

BOOST_AUTO_TEST_CASE(nan_input_gives_nan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Var<double> x{nan};
  const Var<double> p{nan};
  const Var<double> t{0.0};
  (softplus(x) + huber(p, t, 1.0)).backward();
  BOOST_TEST(std::isnan(x.grad()));
  BOOST_TEST(std::isnan(p.grad()));
  BOOST_TEST(std::isnan(t.grad()));
}

BOOST_AUTO_TEST_CASE(zero_output_gradient_skips_nan) {
  // The output gradient of the NaN element is exactly 0, so it contributes
  // 0 instead of 0 * NaN.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor<double> x = adjoint::parameter(Tensor<double>{nan, 1.0});
  sum(softplus(x) * Tensor<double>{0.0, 1.0}).backward();
  BOOST_TEST(x.grad_values()[0] == 0.0);
  BOOST_TEST(x.grad_values()[1] == 0.7310585786300049, tt::tolerance(1e-15));
}

// Values against PyTorch 1.13: torch.nn.functional.softplus(x) and
// torch.nn.functional.huber_loss(p, t, reduction='none', delta=delta), in
// float64 except where marked float32.

BOOST_AUTO_TEST_CASE(softplus_values_match_pytorch) {
  const Tensor<double> x{-50.0, -20.0, -1.0, 0.0, 0.5, 1.0, 20.0, 50.0};
  const std::vector<double> expected = {
      1.9287498479639178e-22, 2.061153620314381e-09,
      0.31326168751822286,    0.6931471805599453,
      0.9740769841801067,     1.3132616875182228,
      20.000000002061153,     50.0};
  const std::vector<double> actual = values_of(softplus(x));
  BOOST_TEST_REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(actual[i] == expected[i], tt::tolerance(1e-15));
    BOOST_TEST(softplus(adjoint::constant(x(i))).value() == expected[i],
               tt::tolerance(1e-15));
  }
  // float32: torch returns x itself above its threshold 20, which is also
  // the nearest float to softplus(20).
  const Tensor<float> xf{-50.0f, -20.0f, -1.0f, 0.0f, 0.5f, 1.0f, 20.0f, 50.0f};
  const std::vector<float> expected_float = {1.9287498933537385e-22f,
                                             2.06115369216775e-09f,
                                             0.3132616877555847f,
                                             0.6931471824645996f,
                                             0.9740769863128662f,
                                             1.31326162815094f,
                                             20.0f,
                                             50.0f};
  const std::vector<float> actual_float = values_of(softplus(xf));
  for (std::size_t i = 0; i < expected_float.size(); ++i) {
    BOOST_TEST(actual_float[i] == expected_float[i], tt::tolerance(1e-6f));
  }
}

BOOST_AUTO_TEST_CASE(softplus_gradient_near_zero) {
  // The central difference cancels to 0 here, so the gradient is checked
  // against sigmoid(1e-300) = 0.5 directly.
  const Var<double> x{1e-300};
  softplus(x).backward();
  BOOST_TEST(x.grad() == 0.5);
}

BOOST_AUTO_TEST_CASE(softplus_saturates_without_overflow) {
  BOOST_TEST(softplus(adjoint::constant(1000.0)).value() == 1000.0);
  BOOST_TEST(softplus(adjoint::constant(-1000.0)).value() == 0.0);
  BOOST_TEST(softplus(adjoint::constant(100.0f)).value() == 100.0f);
}

BOOST_AUTO_TEST_CASE(huber_values_match_pytorch) {
  const Tensor<double> prediction{{-3.0, -0.5, 0.0}, {0.25, 1.0, 4.0}};
  const std::vector<double> row_expected = {3.0, 0.0, 1.0, 0.03125, 1.0, 2.0};
  BOOST_TEST(values_of(huber(prediction, Tensor<double>{0.5, -0.5, 1.5},
                             1.0)) == row_expected,
             tt::per_element());
  const Tensor<double> column_target({2, 1}, std::vector<double>{0.5, -2.0});
  const std::vector<double> column_expected = {3.0, 0.5, 0.125, 1.75, 2.5, 5.5};
  BOOST_TEST(
      values_of(huber(prediction, column_target, 1.0)) == column_expected,
      tt::per_element());
  const std::vector<double> large_expected = {246.875, 0.125, 2499996.875};
  BOOST_TEST(
      values_of(huber(Tensor<double>{60.0, -0.3, 1e6},
                      Tensor<double>{-40.0, 0.2, 0.0}, 2.5)) == large_expected,
      tt::per_element());
  BOOST_TEST(
      huber(adjoint::constant(60.0), adjoint::constant(-40.0), 2.5).value() ==
      246.875);
}

BOOST_AUTO_TEST_CASE(huber_rejects_bad_arguments) {
  const Tensor<double> prediction{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  BOOST_CHECK_THROW(huber(prediction, prediction, 0.0), std::invalid_argument);
  BOOST_CHECK_THROW(huber(prediction, prediction, -1.0), std::invalid_argument);
  BOOST_CHECK_THROW(
      huber(prediction, prediction, std::numeric_limits<double>::infinity()),
      std::invalid_argument);
  BOOST_CHECK_THROW(huber(Var<double>{1.0}, Var<double>{2.0}, 0.0),
                    std::invalid_argument);
  try {
    huber(prediction, Tensor<double>{1.0, 2.0}, 1.0);
    BOOST_ERROR("shapes [2, 3] and [2] broadcast");
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    BOOST_TEST(message.starts_with("huber: shapes [2, 3] and [2]"), message);
  }
}

// The program

BOOST_AUTO_TEST_CASE(program_checks_and_fits) {
  const Run run = program.run({"--data", hubble_data});
  BOOST_TEST(run.exit_code == exit_success, run.out << run.err);
  BOOST_TEST(run.err == "");
  std::size_t verdicts = 0;
  double huber_w = 0;
  double huber_b = 0;
  double squares_w = 0;
  double squares_b = 0;
  bool huber_found = false;
  bool squares_found = false;
  for (const std::string& line : lines_of(run.out)) {
    if (line.find("gradient check") != std::string::npos) {
      ++verdicts;
      BOOST_TEST(line.find("gradient check passed") != std::string::npos, line);
    }
    std::istringstream fields(line);
    std::string word;
    if (line.starts_with("  least squares ")) {
      fields >> word >> word >> squares_w >> squares_b;
      squares_found = !fields.fail();
    } else if (line.starts_with("  Huber, delta 300 ")) {
      fields >> word >> word >> word >> huber_w >> huber_b;
      huber_found = !fields.fail();
    }
  }
  BOOST_TEST(verdicts == 14u);
  BOOST_TEST(run.out.find("FAILED") == std::string::npos);
  BOOST_TEST_REQUIRE(squares_found, run.out);
  BOOST_TEST_REQUIRE(huber_found, run.out);
  // numpy.linalg.lstsq: w = 454.15844092, b = -40.7836491. torch.optim.LBFGS
  // on torch.nn.functional.huber_loss(w * x + b, z, delta=300) (PyTorch
  // 1.13): w = 462.92104199, b = -51.46702855. The program prints 6 digits.
  BOOST_TEST(squares_w == 454.158, tt::tolerance(2e-6));
  BOOST_TEST(squares_b == -40.7836, tt::tolerance(2e-6));
  BOOST_TEST(huber_w == 462.921, tt::tolerance(2e-6));
  BOOST_TEST(huber_b == -51.467, tt::tolerance(2e-6));
  BOOST_TEST(run.out.find("4 of 24 points lie more than delta = 300") !=
                 std::string::npos,
             run.out);
}

BOOST_AUTO_TEST_CASE(program_rejects_bad_delta) {
  const Run run = program.run({"--data", hubble_data, "--delta", "0"});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  check_error_line(run, "custom_operator",
                   "invalid --delta 0: it must be a finite number > 0");
}

BOOST_AUTO_TEST_CASE(program_rejects_unknown_option) {
  const Run run =
      program.run({"--data", hubble_data, "--learning-rate", "0.1"});
  BOOST_TEST(run.exit_code == exit_invalid_input);
  check_error_line(run, "custom_operator", "run custom_operator --help");
}
