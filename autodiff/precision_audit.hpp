#pragma once

// The precision audit: evaluates a loss and its gradient in double and in
// cpp_bin_float_50, and reports how many digits the double results lost,
// for the loss, for the gradient of each input, and for each tensor
// operation along the way. The report shows whether a loss is numerically
// sound in double and, if not, which operation loses the digits.
//
//   const std::vector<adjoint::Tensor<double>> inputs = {x};
//   const adjoint::PrecisionAudit audit = adjoint::audit_precision(
//       [](auto v) { return sum(sqrt(v[0] * v[0] + 1.0) - v[0]); }, inputs);
//   fmt::print("{}", audit.report());
//
// `f` must be generic, as for check_gradient(): it is called with spans of
// Tensor<double> and of Tensor<Reference>.
//
// Digits lost: a result with relative error e (against the 50-digit
// result) has lost log10(e / u) of double's log10(1 / u) = 15.95 digits,
// where u = 2^-53 is the unit roundoff; an error of at most u loses none.
// An operation is charged with the digits its result lost beyond the worst
// of its inputs, so the report points at the operation where accuracy
// drops (a cancelling subtraction, say), not at every operation after it.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <ios>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/gradient_check.hpp"
#include "autodiff/tensor.hpp"

namespace adjoint {

/// The double gradient of one input against the 50-digit one.
struct InputPrecision {
  double digits_lost = 0;         // at the worst element
  std::size_t worst_element = 0;  // row-major
  double gradient = 0;            // double reverse mode, at that element
  Reference reference = 0;        // 50-digit reverse mode
};

/// One kind of tensor operation in the loss, over all its uses.
struct OperationPrecision {
  std::string operation;
  std::size_t uses = 0;
  double digits_lost = 0;     // the most digits one use lost beyond its inputs
  std::size_t worst_use = 0;  // position among all operations, from 0
};

/// Result of audit_precision().
struct PrecisionAudit {
  double loss = 0;               // in double
  Reference loss_reference = 0;  // in 50 digits
  double loss_digits_lost = 0;
  std::vector<InputPrecision> inputs;
  /// Every kind of operation used, most digits lost first.
  std::vector<OperationPrecision> operations;
  /// False when the two evaluations ran different operations or fed them
  /// different results (a branch on a value), in which case `operations`
  /// covers the common beginning.
  bool same_operations = true;

  /// Returns a table of the figures above, one line each.
  std::string report() const {
    const auto digits = [](const Reference& value) {
      return value.str(17, std::ios_base::fmtflags{});
    };
    std::string text =
        fmt::format("loss {} (50 digits: {}), {:.1f} digits lost\n", loss,
                    digits(loss_reference), loss_digits_lost);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const InputPrecision& input = inputs[i];
      text += fmt::format(
          "gradient of input {}: {:.1f} digits lost at element {} (double {}, "
          "50 digits {})\n",
          i, input.digits_lost, input.worst_element, input.gradient,
          digits(input.reference));
    }
    text += "tensor operations, most digits lost first:\n";
    for (const OperationPrecision& operation : operations) {
      text +=
          fmt::format("  {:<16} {:>5} use{} {:>5.1f} digits lost\n",
                      operation.operation, operation.uses,
                      operation.uses == 1 ? " " : "s", operation.digits_lost);
    }
    double worst = loss_digits_lost;
    for (const InputPrecision& input : inputs) {
      worst = std::max(worst, input.digits_lost);
    }
    double charged = 0;
    for (const OperationPrecision& operation : operations) {
      charged = std::max(charged, operation.digits_lost);
    }
    if (worst >= charged + 1) {
      text += fmt::format(
          "{:.1f} of the {:.1f} digits lost are not charged to a tensor "
          "operation: look at arithmetic between scalar Vars (such as "
          "mean(a) - mean(b)), which is not observed, and at the backward "
          "rules\n",
          worst - charged, worst);
    }
    if (!same_operations) {
      text +=
          "the double and 50-digit runs took different operations; the "
          "table covers their common beginning\n";
    }
    return text;
  }
};

namespace detail {

/// Digits of double lost by a relative error (see the top of this file).
inline double digits_lost(double relative_error) {
  constexpr double unit_roundoff = 0x1p-53;
  const double all = std::log10(1 / unit_roundoff);
  if (!(relative_error > unit_roundoff)) {
    return relative_error == relative_error ? 0 : all;  // NaN loses all
  }
  return std::min(all, std::log10(relative_error / unit_roundoff));
}

/// Records each tensor operation's name, result and the operations that
/// produced its inputs. It keeps every result alive, so that no buffer
/// address is reused while it identifies an operation's result.
template <class S>
class OperationLog final : public OperationObserver<S> {
 public:
  struct Entry {
    const char* operation;
    std::vector<S> values;
    std::vector<std::size_t> producers;  // entries that made the inputs
  };

  void tensor_operation(const char* operation,
                        std::span<const Tensor<S>* const> inputs,
                        const Tensor<S>& result) override {
    const std::span<const S> values = result.values();
    add(operation, inputs, std::vector<S>(values.begin(), values.end()));
    if (!values.empty()) {
      buffers_[values.data()] = {values.size(), entries.size() - 1};
    }
    results_.push_back(result);
  }

  void scalar_operation(const char* operation,
                        std::span<const Tensor<S>* const> inputs,
                        const S& result) override {
    add(operation, inputs, {result});
  }

  std::vector<Entry> entries;

 private:
  void add(const char* operation, std::span<const Tensor<S>* const> inputs,
           std::vector<S> values) {
    Entry entry{operation, std::move(values), {}};
    for (const Tensor<S>* input : inputs) {
      if (const auto producer = find(*input)) {
        entry.producers.push_back(*producer);
      }
    }
    entries.push_back(std::move(entry));
  }

  // Returns the entry whose result contains the values of `tensor` (itself
  // or a view of it), if any.
  std::optional<std::size_t> find(const Tensor<S>& tensor) const {
    if (tensor.numel() == 0) return std::nullopt;
    const S* data = tensor.values().data();
    auto after = buffers_.upper_bound(data);
    if (after == buffers_.begin()) return std::nullopt;
    const auto& [start, extent] = *std::prev(after);
    if (data >= start + extent.first) return std::nullopt;
    return extent.second;
  }

  std::map<const S*, std::pair<std::size_t, std::size_t>> buffers_;
  std::vector<Tensor<S>> results_;
};

// The worst relative error of double `values` against `reference`.
inline double worst_error(std::span<const double> values,
                          std::span<const Reference> reference,
                          std::size_t* worst = nullptr) {
  double largest = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double error = relative_error(values[i], reference[i]);
    if (i == 0 || !(error <= largest)) {
      largest = error;
      if (worst != nullptr) *worst = i;
    }
  }
  return largest;
}

}  // namespace detail

/// Evaluates `f` and its reverse-mode gradient at `inputs` in double and in
/// cpp_bin_float_50 and compares the two (see the top of this file).
///
/// NOTE: operations between scalar Vars (such as `sum(a) - sum(b)`) are not
/// observed, since checking for an observer there would slow every scalar
/// operation. Their loss shows in the loss and the gradients, and charges
/// the next tensor operation.
template <class F>
PrecisionAudit audit_precision(F&& f, std::span<const Tensor<double>> inputs) {
  PrecisionAudit audit;
  detail::OperationLog<double> log;
  std::vector<std::vector<double>> gradients;
  {
    ObserveOperations<double> observe(log);
    const EnableGradGuard recording;
    std::vector<Tensor<double>> parameters;
    for (const Tensor<double>& input : inputs) {
      parameters.push_back(parameter(input));
    }
    const Var<double> loss = f(std::span<const Tensor<double>>(parameters));
    if (loss.requires_grad()) loss.backward();
    audit.loss = loss.value();
    for (const Tensor<double>& p : parameters) {
      const std::span<const double> grad = p.grad_values();
      gradients.emplace_back(grad.begin(), grad.end());
    }
  }

  detail::OperationLog<Reference> reference_log;
  std::vector<std::vector<Reference>> reference_gradients;
  Reference reference_loss;
  {
    ObserveOperations<Reference> observe(reference_log);
    const EnableGradGuard recording;
    std::vector<Tensor<Reference>> parameters;
    for (const Tensor<double>& input : inputs) {
      const std::vector<Reference> values(input.values().begin(),
                                          input.values().end());
      parameters.push_back(parameter(Tensor<Reference>(input.shape(), values)));
    }
    const Var<Reference> loss =
        f(std::span<const Tensor<Reference>>(parameters));
    if (loss.requires_grad()) loss.backward();
    reference_loss = loss.value();
    for (const Tensor<Reference>& p : parameters) {
      const std::span<const Reference> grad = p.grad_values();
      reference_gradients.emplace_back(grad.begin(), grad.end());
    }
  }

  audit.loss_reference = reference_loss;
  audit.loss_digits_lost =
      detail::digits_lost(detail::relative_error(audit.loss, reference_loss));
  for (std::size_t i = 0; i < gradients.size(); ++i) {
    InputPrecision& input = audit.inputs.emplace_back();
    if (gradients[i].empty()) continue;
    const double error = detail::worst_error(
        gradients[i], reference_gradients[i], &input.worst_element);
    input.digits_lost = detail::digits_lost(error);
    input.gradient = gradients[i][input.worst_element];
    input.reference = reference_gradients[i][input.worst_element];
  }

  // Each operation's own loss: the digits its result lost beyond the worst
  // of the results it read.
  const std::size_t common =
      std::min(log.entries.size(), reference_log.entries.size());
  std::vector<double> result_digits;
  std::map<std::string, OperationPrecision> by_name;
  for (std::size_t k = 0; k < common; ++k) {
    const auto& entry = log.entries[k];
    const auto& reference = reference_log.entries[k];
    if (std::string(entry.operation) != reference.operation ||
        entry.values.size() != reference.values.size() ||
        entry.producers != reference.producers) {
      audit.same_operations = false;
      break;
    }
    result_digits.push_back(detail::digits_lost(
        detail::worst_error(entry.values, reference.values)));
    double inherited = 0;
    for (std::size_t producer : entry.producers) {
      inherited = std::max(inherited, result_digits[producer]);
    }
    const double own = std::max(0.0, result_digits[k] - inherited);
    OperationPrecision& kind = by_name[entry.operation];
    kind.operation = entry.operation;
    if (kind.uses == 0 || own > kind.digits_lost) {
      kind.digits_lost = own;
      kind.worst_use = k;
    }
    ++kind.uses;
  }
  if (log.entries.size() != reference_log.entries.size()) {
    audit.same_operations = false;
  }
  for (auto& [name, kind] : by_name) audit.operations.push_back(kind);
  std::stable_sort(
      audit.operations.begin(), audit.operations.end(),
      [](const OperationPrecision& a, const OperationPrecision& b) {
        return a.digits_lost > b.digits_lost;
      });
  return audit;
}

}  // namespace adjoint
