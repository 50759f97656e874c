#define BOOST_TEST_MODULE precision_audit
#include "autodiff/precision_audit.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "autodiff/autodiff.hpp"

using adjoint::Tensor;

namespace {

// sqrt(x^2 + 1) - x at x = 1e6 is about 5e-7, the difference of two numbers
// near 1e6: the subtraction cancels about 12 of double's 16 digits. The
// same function written as 1 / (sqrt(x^2 + 1) + x) loses none.
const std::vector<Tensor<double>> large_x = {Tensor<double>{1e6, 2e6}};

const adjoint::OperationPrecision& find(const adjoint::PrecisionAudit& audit,
                                        const std::string& operation) {
  for (const auto& entry : audit.operations) {
    if (entry.operation == operation) return entry;
  }
  BOOST_FAIL("no operation " << operation << " in\n" << audit.report());
  return audit.operations.front();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(precision_audit)

BOOST_AUTO_TEST_CASE(cancellation_is_charged_to_subtract) {
  const adjoint::PrecisionAudit audit = adjoint::audit_precision(
      [](auto x) { return sum(sqrt(x[0] * x[0] + 1.0) - x[0]); },
      std::span<const Tensor<double>>(large_x));
  BOOST_TEST_INFO(audit.report());
  BOOST_TEST(audit.same_operations);
  BOOST_TEST_REQUIRE(!audit.operations.empty());
  BOOST_TEST(audit.operations.front().operation == "subtract");
  BOOST_TEST(audit.operations.front().digits_lost > 8.0);
  BOOST_TEST(find(audit, "multiply").digits_lost < 1.0);
  BOOST_TEST(find(audit, "sqrt").digits_lost < 1.0);
  BOOST_TEST(audit.loss_digits_lost > 8.0);
  // d/dx = x / sqrt(x^2 + 1) - 1, about -5e-13: its double value cancels
  // too, in the backward sweep.
  BOOST_TEST_REQUIRE(audit.inputs.size() == 1u);
  BOOST_TEST(audit.inputs[0].digits_lost > 2.0);
}

BOOST_AUTO_TEST_CASE(stable_form_loses_nothing) {
  const adjoint::PrecisionAudit audit = adjoint::audit_precision(
      [](auto x) { return sum(1.0 / (sqrt(x[0] * x[0] + 1.0) + x[0])); },
      std::span<const Tensor<double>>(large_x));
  BOOST_TEST_INFO(audit.report());
  BOOST_TEST(audit.loss_digits_lost < 1.0);
  BOOST_TEST(audit.inputs.at(0).digits_lost < 1.0);
  for (const auto& operation : audit.operations) {
    BOOST_TEST_INFO(operation.operation);
    BOOST_TEST(operation.digits_lost < 1.0);
  }
  const double reference = static_cast<double>(audit.loss_reference);
  BOOST_TEST(std::abs(audit.loss - reference) <= 1e-15 * reference);
}

BOOST_AUTO_TEST_CASE(report_lists_every_figure) {
  const std::vector<Tensor<double>> inputs = {Tensor<double>{0.5, -1.0},
                                              Tensor<double>{2.0}};
  const adjoint::PrecisionAudit audit =
      adjoint::audit_precision([](auto x) { return logsumexp(x[0] * x[1]); },
                               std::span<const Tensor<double>>(inputs));
  BOOST_TEST_REQUIRE(audit.inputs.size() == 2u);
  const std::string report = audit.report();
  BOOST_TEST(report.find("gradient of input 0:") != std::string::npos, report);
  BOOST_TEST(report.find("gradient of input 1:") != std::string::npos, report);
  BOOST_TEST(report.find("logsumexp") != std::string::npos, report);
  BOOST_TEST(report.find("multiply") != std::string::npos, report);
  BOOST_TEST(find(audit, "multiply").uses == 1u);
}

BOOST_AUTO_TEST_CASE(overflow_loses_every_digit) {
  // exp(800) overflows double but not cpp_bin_float_50.
  const std::vector<Tensor<double>> inputs = {Tensor<double>{800.0}};
  const adjoint::PrecisionAudit audit =
      adjoint::audit_precision([](auto x) { return sum(exp(x[0])); },
                               std::span<const Tensor<double>>(inputs));
  BOOST_TEST(find(audit, "exp").digits_lost > 15.0);
  BOOST_TEST(audit.loss_digits_lost > 15.0);
}

BOOST_AUTO_TEST_CASE(scalar_var_cancellation_is_flagged) {
  // The variance as E[x^2] - E[x]^2 of values near 1e8 cancels every digit
  // in a subtraction of two Vars, which no tensor operation is charged
  // with, so the report points elsewhere.
  const std::vector<Tensor<double>> inputs = {
      Tensor<double>{1e8 + 1, 1e8 + 2, 1e8 + 4, 1e8 + 7}};
  const adjoint::PrecisionAudit audit = adjoint::audit_precision(
      [](auto x) {
        const auto m = mean(x[0]);
        return mean(x[0] * x[0]) - m * m;
      },
      std::span<const Tensor<double>>(inputs));
  const std::string report = audit.report();
  BOOST_TEST(audit.loss_digits_lost > 10.0, report);
  BOOST_TEST(
      report.find("not charged to a tensor operation") != std::string::npos,
      report);
}

BOOST_AUTO_TEST_CASE(branch_on_value_is_detected) {
  // Both runs multiply, but the branch picks different operands.
  const std::vector<Tensor<double>> inputs = {Tensor<double>{3.0},
                                              Tensor<double>{1.0 / 3}};
  const adjoint::PrecisionAudit audit = adjoint::audit_precision(
      [](auto x) {
        const auto a = exp(x[0]);
        const auto b = exp(x[1]);
        using S = typename std::decay_t<decltype(a)>::value_type;
        return std::is_same_v<S, double> ? sum(a * a) : sum(b * b);
      },
      std::span<const Tensor<double>>(inputs));
  BOOST_TEST(!audit.same_operations);
}

BOOST_AUTO_TEST_CASE(recording_on_inside_no_grad_guard) {
  const adjoint::NoGradGuard no_grad;
  const std::vector<Tensor<double>> inputs = {Tensor<double>{3.0}};
  const adjoint::PrecisionAudit audit =
      adjoint::audit_precision([](auto x) { return sum(x[0] * x[0]); },
                               std::span<const Tensor<double>>(inputs));
  BOOST_TEST(audit.inputs.at(0).gradient == 6.0);
  BOOST_TEST(!adjoint::is_grad_enabled());
}

BOOST_AUTO_TEST_CASE(observer_is_removed_afterwards) {
  const std::vector<Tensor<double>> inputs = {Tensor<double>{1.0}};
  (void)adjoint::audit_precision([](auto x) { return sum(x[0] * 2.0); },
                                 std::span<const Tensor<double>>(inputs));
  BOOST_TEST(adjoint::detail::operation_observer<double> == nullptr);
  BOOST_TEST(adjoint::detail::operation_observer<adjoint::Reference> ==
             nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
