#pragma once

// Random expression graphs for gradient tests. A Program is a list of
// steps over tensor or Var inputs. Generate() builds one from a seed, with
// broadcast-compatible shapes and with values kept away from kinks and
// singular points. Evaluate() runs the same program for double and for
// cpp_bin_float_50. Print() writes it as the body of a generic lambda, so
// that a failing program can be pasted into a regression test.
//
// How values stay where the central difference is valid:
// - Inputs have magnitudes in [0.5, 2] with random signs, and constants
//   are multiples of 1/8 with magnitudes in [0.25, 2].
// - Every value carries an upper bound on its magnitude and a lower bound
//   on its value. An operand whose bound is too large for an operation
//   (64 in general, 3 for exp, 1.2 for tan) is first multiplied by a power
//   of 2, which is exact.
// - log, sqrt, pow and the divisor of / take operands whose lower bound is
//   at least 1/16. Other operands first pass through a guard: square(x) +
//   c, exp(x), sigmoid(x) + 0.25, abs(x) + 0.5 or softmax(x) + 0.25.
// - abs, relu, clamp, maximum, minimum, max and min see continuous
//   functions of random inputs. So a kink or a tie within the difference
//   step (1e-12 relative) is unlikely, by estimate about 1e-11 per element.
//   Ties that hold by construction, as max(x, x), have equal slopes on both
//   sides and pass. where() compares with random constants instead (see
//   where_step()).

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tensor_support.hpp"

namespace adjoint::testing::random_graph {

enum class Op {
  input,
  // One operand, tensor or Var.
  negate,
  exp,
  log,
  sqrt,
  square,
  abs,
  sin,
  cos,
  tan,
  tanh,
  sigmoid,
  relu,
  add_constant,       // x + c
  subtract_constant,  // x - c
  constant_subtract,  // c - x
  multiply_constant,  // x * c
  constant_multiply,  // c * x
  divide_constant,    // x / c
  constant_divide,    // c / x
  pow_constant,       // pow(x, c)
  constant_pow,       // pow(c, x)
  maximum_constant,   // maximum(x, c) for a tensor, max(x, c) for a Var
  minimum_constant,
  // One tensor operand.
  clamp,
  // Two operands, tensor or Var, broadcast together. A Var next to a
  // tensor is a 0-dimensional tensor.
  add,
  subtract,
  multiply,
  divide,
  add_assign,  // auto y = a; y += b;
  subtract_assign,
  multiply_assign,
  divide_assign,
  maximum,  // max(a, b) for two Vars
  minimum,
  pow,
  // where(greater(p, t), a, b) and where(less(p, t), a, b), with t a
  // constant tensor of random thresholds.
  where_greater,
  where_less,
  // Reductions to a Var.
  sum_all,
  mean_all,
  max_all,
  min_all,
  logsumexp_all,
  weighted_sum,  // weighted_sum() of tensor_support.hpp
  dot,
  cross_entropy,
  // Reductions over axes.
  sum_axes,
  mean_axes,
  max_axes,
  min_axes,
  logsumexp_axes,
  softmax,
  log_softmax,
  // Linear algebra and layout.
  matmul,
  transpose,       // transpose(x), the last two dimensions
  transpose_axes,  // transpose(x, d0, d1)
  permute,
  reshape,
  flatten,
  squeeze,
  unsqueeze,
  slice,
  index_select,
  concat,
  stack,
};

/// One operation of a Program: its result is the next value.
struct Step {
  Op op = Op::input;
  std::vector<std::size_t> operands;
  // Per operand, whether a Var operand is passed as an rvalue (its last
  // use), which lets the tape fuse the operation into the operand's record.
  std::vector<bool> moved;
  double constant = 0;   // c, or the low bound of clamp
  double constant2 = 0;  // the high bound of clamp
  // Axes of a reduction or of transpose_axes, the order of permute, the
  // extents of reshape.
  std::vector<std::ptrdiff_t> axes;
  // Indices of index_select, targets of cross_entropy.
  std::vector<std::size_t> indices;
  // The thresholds of where_greater and where_less.
  Shape threshold_shape;
  std::vector<double> thresholds;
  std::ptrdiff_t axis = 0;  // softmax, squeeze, unsqueeze, slice, concat...
  std::ptrdiff_t start = 0, stop = 0, stride = 1;  // slice
  bool keepdim = false;
  bool single_axis = false;  // reduce with the overload taking one axis
};

/// The shape and value bounds of a value, as the generator tracks them.
struct Meta {
  bool is_var = false;
  Shape shape;
  double bound = 0;  // upper bound on |value|
  double low = 0;    // lower bound on the value
};

/// A random expression graph. The first values are the inputs; each step
/// adds one value, and the last value is the result, a Var.
struct Program {
  std::uint64_t seed = 0;
  bool scalar = false;  // inputs are Vars rather than tensors
  std::vector<Shape> input_shapes;
  std::vector<std::vector<double>> input_values;
  std::vector<Step> steps;  // the first input_shapes.size() are Op::input
  std::vector<Meta> meta;   // one per value
};

inline bool is_tensor_only(Op op) {
  return op == Op::clamp || op == Op::where_greater || op == Op::where_less ||
         op >= Op::sum_all;
}

/// Returns the shape of matmul(a, b) with numpy.matmul's rules, or nothing
/// if the shapes do not fit.
inline std::optional<Shape> matmul_shape(const Shape& a, const Shape& b) {
  if (a.rank() == 0 || b.rank() == 0) return std::nullopt;
  const std::size_t k = a[a.rank() - 1];
  const std::size_t kb = b.rank() == 1 ? b[0] : b[b.rank() - 2];
  if (k != kb) return std::nullopt;
  Shape batch_a, batch_b;
  for (std::size_t d = 0; d + 2 < a.rank(); ++d) batch_a.push_back(a[d]);
  for (std::size_t d = 0; d + 2 < b.rank(); ++d) batch_b.push_back(b[d]);
  Shape result;
  try {
    result = broadcast_shapes(batch_a, batch_b, "matmul");
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  if (a.rank() > 1) result.push_back(a[a.rank() - 2]);
  if (b.rank() > 1) result.push_back(b[b.rank() - 1]);
  return result;
}

inline std::optional<Shape> broadcast(const Shape& a, const Shape& b) {
  try {
    return broadcast_shapes(a, b, "broadcast");
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

/// Builds random programs; one generator makes one program.
class ProgramGenerator {
 public:
  explicit ProgramGenerator(std::uint64_t seed) : random_(seed) {
    program_.seed = seed;
  }

  /// Generates a program over 1 to 3 tensors of rank 0 to 3 whose shapes broadcast
  /// together.
  Program tensor_program() {
    Shape full;
    const std::size_t rank = below(4);
    for (std::size_t d = 0; d < rank; ++d) full.push_back(1 + below(4));
    const std::size_t inputs = 1 + below(3);
    for (std::size_t i = 0; i < inputs; ++i) {
      Shape shape;
      const std::size_t skip = chance(0.3) ? below(rank + 1) : 0;
      for (std::size_t d = skip; d < rank; ++d) {
        shape.push_back(chance(0.25) ? 1 : full[d]);
      }
      add_input(shape);
    }
    const std::size_t steps = 3 + below(8);
    while (program_.steps.size() < inputs + steps) tensor_step();
    finish();
    return std::move(program_);
  }

  /// Generates a program over 1 to 4 Vars that uses the Var overloads only.
  Program scalar_program() {
    program_.scalar = true;
    const std::size_t inputs = 1 + below(4);
    for (std::size_t i = 0; i < inputs; ++i) add_input(Shape{});
    const std::size_t steps = 3 + below(10);
    while (program_.steps.size() < inputs + steps) scalar_step();
    finish();
    return std::move(program_);
  }

 private:
  // Integers and choices from adjoint::Generator, whose output does not
  // depend on the standard library, unlike std::uniform_int_distribution.
  std::size_t below(std::size_t n) {
    return std::min(n - 1, static_cast<std::size_t>(random_.uniform() *
                                                     static_cast<double>(n)));
  }
  bool chance(double p) { return random_.uniform() < p; }

  /// Returns a multiple of 1/8 with magnitude in [0.25, 2] and a random sign.
  double constant() {
    const double magnitude = 0.25 + 0.125 * static_cast<double>(below(15));
    return chance(0.5) ? -magnitude : magnitude;
  }

  void add_input(const Shape& shape) {
    std::vector<double> values;
    for (std::size_t k = 0; k < shape.numel(); ++k) {
      const double magnitude = 0.5 + 1.5 * random_.uniform();
      values.push_back(chance(0.5) ? -magnitude : magnitude);
    }
    program_.input_shapes.push_back(shape);
    program_.input_values.push_back(std::move(values));
    program_.steps.push_back(Step{});
    program_.meta.push_back(Meta{program_.scalar, shape, 2.0, -2.0});
  }

  const Meta& meta(std::size_t v) const { return program_.meta[v]; }
  std::size_t count() const { return program_.meta.size(); }

  /// Picks a recent value more often than an old one.
  std::size_t pick() {
    const std::size_t n = count();
    return chance(0.6) ? n - 1 - below(std::min<std::size_t>(n, 3)) : below(n);
  }

  std::size_t pick_where(const auto& accept) {
    std::vector<std::size_t> candidates;
    for (std::size_t v = 0; v < count(); ++v) {
      if (accept(v)) candidates.push_back(v);
    }
    if (candidates.empty()) return count();
    // Prefer the most recent candidates, as pick() does.
    if (chance(0.5)) return candidates.back();
    return candidates[below(candidates.size())];
  }

  std::size_t push(Step step) {
    program_.meta.push_back(infer(step));
    program_.steps.push_back(std::move(step));
    return count() - 1;
  }

  std::size_t unary(Op op, std::size_t x, double c = 0) {
    Step step;
    step.op = op;
    step.operands = {x};
    step.constant = c;
    return push(std::move(step));
  }

  std::size_t binary(Op op, std::size_t a, std::size_t b) {
    Step step;
    step.op = op;
    step.operands = {a, b};
    return push(std::move(step));
  }

  /// x, or x times a power of 2 that brings its bound to at most `limit`.
  std::size_t tame(std::size_t x, double limit) {
    if (meta(x).bound <= limit) return x;
    const double scale =
        std::exp2(-std::ceil(std::log2(meta(x).bound / limit)));
    return unary(Op::multiply_constant, x, scale);
  }

  /// x, or a positive function of x with a lower bound of at least 1/16.
  std::size_t positive(std::size_t x) {
    if (meta(x).low >= 0.0625) return x;
    const std::size_t choice = below(meta(x).is_var || meta(x).shape.rank() == 0 ? 4 : 5);
    switch (choice) {
      case 0:
        return unary(Op::add_constant, unary(Op::square, tame(x, 8)),
                     chance(0.5) ? 0.5 : 1.0);
      case 1:
        return unary(Op::exp, tame(x, 3));
      case 2:
        return unary(Op::add_constant, unary(Op::sigmoid, tame(x, 64)), 0.25);
      case 3:
        return unary(Op::add_constant, unary(Op::abs, tame(x, 64)), 0.5);
      default: {
        Step step;
        step.op = Op::softmax;
        step.operands = {tame(x, 64)};
        step.axis = random_axis(meta(x).shape.rank());
        return unary(Op::add_constant, push(std::move(step)), 0.25);
      }
    }
  }

  /// Returns an axis in [-rank, rank), negative about half of the time.
  std::ptrdiff_t random_axis(std::size_t rank) {
    const auto a = static_cast<std::ptrdiff_t>(below(rank));
    return chance(0.5) ? a - static_cast<std::ptrdiff_t>(rank) : a;
  }

  static bool broadcasts(const Meta& a, const Meta& b) {
    return broadcast(a.shape, b.shape).has_value();
  }

  /// Adds a unary operation of x, with guards where needed.
  void unary_step(std::size_t x) {
    static constexpr Op ops[] = {
        Op::negate,           Op::exp,
        Op::log,              Op::sqrt,
        Op::square,           Op::abs,
        Op::sin,              Op::cos,
        Op::tan,              Op::tanh,
        Op::sigmoid,          Op::relu,
        Op::add_constant,     Op::subtract_constant,
        Op::constant_subtract, Op::multiply_constant,
        Op::constant_multiply, Op::divide_constant,
        Op::constant_divide,  Op::pow_constant,
        Op::constant_pow,     Op::maximum_constant,
        Op::minimum_constant, Op::clamp};
    const std::size_t n = std::size(ops) - (meta(x).is_var ? 1 : 0);
    const Op op = ops[below(n)];
    x = tame(x, 64);
    switch (op) {
      case Op::exp:
        unary(op, tame(x, 3));
        return;
      case Op::tan:
        unary(op, tame(x, 1.2));
        return;
      case Op::log:
      case Op::sqrt:
      case Op::constant_divide:
        unary(op, tame(positive(x), 64), constant());
        return;
      case Op::pow_constant:
        unary(op, tame(positive(x), 16), constant());
        return;
      case Op::constant_pow:
        unary(op, tame(x, 4), std::abs(constant()));
        return;
      case Op::clamp: {
        double low = constant();
        double high = constant();
        if (low > high) std::swap(low, high);
        if (low == high) high += 0.5;
        Step step;
        step.op = op;
        step.operands = {x};
        step.constant = low;
        step.constant2 = high;
        push(std::move(step));
        return;
      }
      default:
        unary(op, x, constant());
    }
  }

  /// Adds an element-wise operation of a and a value that broadcasts with it.
  void binary_step(std::size_t a) {
    static constexpr Op ops[] = {
        Op::add,          Op::subtract,        Op::multiply,
        Op::divide,       Op::add_assign,      Op::subtract_assign,
        Op::multiply_assign, Op::divide_assign, Op::maximum,
        Op::minimum,      Op::pow};
    const Op op = ops[below(std::size(ops))];
    std::size_t b = pick_where([&](std::size_t v) {
      return v != a && broadcasts(meta(a), meta(v));
    });
    if (b == count() || chance(0.1)) b = a;
    a = tame(a, 64);
    b = tame(b, 64);
    if (op == Op::divide || op == Op::divide_assign) {
      b = tame(positive(b), 64);
    } else if (op == Op::pow) {
      a = tame(positive(a), 4);
      b = tame(b, 2);
    }
    binary(op, a, b);
  }

  void scalar_step() {
    const std::size_t x = pick();
    if (count() >= 2 && chance(0.45)) {
      binary_step(x);
    } else {
      unary_step(x);
    }
  }

  void tensor_step() {
    const std::size_t x = pick();
    const Meta m = meta(x);
    const std::size_t kind = below(100);
    if (kind < 25) {
      unary_step(x);
    } else if (kind < 50) {
      binary_step(x);
    } else if (kind < 55) {
      where_step(x);
    } else if (m.is_var) {
      unary_step(x);
    } else if (kind < 70) {
      reduction_step(x);
    } else if (kind < 80) {
      matmul_step(x);
    } else {
      layout_step(x);
    }
  }

  /// where() with a mask from comparing p with random thresholds. The
  /// thresholds are constants with 53 random bits, because comparing two
  /// values of the graph can put the mask on its discontinuity: log(exp(x))
  /// and x are equal up to rounding.
  void where_step(std::size_t p) {
    const Shape& sp = meta(p).shape;
    Step step;
    step.op = chance(0.5) ? Op::where_greater : Op::where_less;
    const std::size_t skip = below(sp.rank() + 1);
    for (std::size_t d = skip; d < sp.rank(); ++d) {
      step.threshold_shape.push_back(chance(0.3) ? 1 : sp[d]);
    }
    for (std::size_t k = 0; k < step.threshold_shape.numel(); ++k) {
      step.thresholds.push_back(3 * random_.uniform() - 1.5);
    }
    const auto compatible = [&](const Shape& shape) {
      return [&, shape](std::size_t v) {
        return broadcast(shape, meta(v).shape).has_value();
      };
    };
    const Shape mask = *broadcast(sp, step.threshold_shape);
    const std::size_t a = pick_where(compatible(mask));
    const Shape ma = *broadcast(mask, meta(a).shape);
    const std::size_t b = pick_where(compatible(ma));
    step.operands = {p, tame(a, 64), tame(b, 64)};
    push(std::move(step));
  }

  void reduction_step(std::size_t x) {
    x = tame(x, 64);
    const Shape shape = meta(x).shape;
    const std::size_t rank = shape.rank();
    const std::size_t kind = below(rank == 0 ? 1 : 4);
    Step step;
    step.operands = {x};
    if (kind == 0) {
      static constexpr Op ops[] = {Op::sum_all, Op::mean_all, Op::max_all,
                                   Op::min_all, Op::logsumexp_all,
                                   Op::weighted_sum, Op::dot,
                                   Op::cross_entropy};
      step.op = ops[below(std::size(ops))];
      if (step.op == Op::dot) {
        std::size_t a = x;
        if (rank != 1) a = unary(Op::flatten, x);
        const std::size_t n = meta(a).shape.numel();
        std::size_t b = pick_where([&](std::size_t v) {
          return !meta(v).is_var && meta(v).shape.rank() == 1 &&
                 meta(v).shape[0] == n;
        });
        step.operands = {a, tame(b, 64)};
      } else if (step.op == Op::cross_entropy) {
        std::size_t a = x;
        if (rank != 1 && rank != 2) a = unary(Op::flatten, x);
        const Shape& s = meta(a).shape;
        const std::size_t rows = s.rank() == 2 ? s[0] : 1;
        for (std::size_t r = 0; r < rows; ++r) {
          step.indices.push_back(below(s[s.rank() - 1]));
        }
        step.operands = {a};
      }
      push(std::move(step));
      return;
    }
    if (kind == 3) {
      step.op = chance(0.5) ? Op::softmax : Op::log_softmax;
      step.axis = random_axis(rank);
      push(std::move(step));
      return;
    }
    static constexpr Op ops[] = {Op::sum_axes, Op::mean_axes, Op::max_axes,
                                 Op::min_axes, Op::logsumexp_axes};
    step.op = ops[below(std::size(ops))];
    std::vector<std::ptrdiff_t> order(rank);
    for (std::size_t d = 0; d < rank; ++d) {
      order[d] = static_cast<std::ptrdiff_t>(d);
    }
    for (std::size_t d = rank; d > 1; --d) std::swap(order[d - 1], order[below(d)]);
    const std::size_t reduced = 1 + below(rank);
    for (std::size_t i = 0; i < reduced; ++i) {
      const std::ptrdiff_t a = order[i];
      step.axes.push_back(chance(0.5) ? a - static_cast<std::ptrdiff_t>(rank)
                                      : a);
    }
    step.keepdim = chance(0.5);
    step.single_axis = reduced == 1 && chance(0.5);
    push(std::move(step));
  }

  void matmul_step(std::size_t a) {
    if (meta(a).shape.rank() == 0) {
      a = unary(Op::unsqueeze, a);
    }
    a = tame(a, 64);
    const Shape sa = meta(a).shape;
    std::size_t b = pick_where([&](std::size_t v) {
      return !meta(v).is_var && matmul_shape(sa, meta(v).shape).has_value();
    });
    if (b == count() || chance(0.2)) {
      // a @ a^T, a^T @ a, or a vector times itself.
      if (sa.rank() == 1) {
        b = a;
      } else {
        Step step;
        step.op = Op::transpose;
        step.operands = {a};
        b = push(std::move(step));
        if (chance(0.5)) std::swap(a, b);
      }
    }
    binary(Op::matmul, a, tame(b, 64));
  }

  void layout_step(std::size_t x) {
    const Shape shape = meta(x).shape;
    const std::size_t rank = shape.rank();
    Step step;
    step.operands = {x};
    switch (below(10)) {
      case 0:
        if (rank < 2) break;
        step.op = chance(0.5) ? Op::transpose : Op::transpose_axes;
        step.axes = {random_axis(rank), random_axis(rank)};
        push(std::move(step));
        return;
      case 1: {
        if (rank < 2) break;
        step.op = Op::permute;
        std::vector<std::ptrdiff_t> order(rank);
        for (std::size_t d = 0; d < rank; ++d) {
          order[d] = static_cast<std::ptrdiff_t>(d);
        }
        for (std::size_t d = rank; d > 1; --d) {
          std::swap(order[d - 1], order[below(d)]);
        }
        for (std::ptrdiff_t& d : order) {
          if (chance(0.3)) d -= static_cast<std::ptrdiff_t>(rank);
        }
        step.axes = order;
        push(std::move(step));
        return;
      }
      case 2: {
        // A random factorization of numel into 0 to 3 extents.
        step.op = Op::reshape;
        std::size_t left = shape.numel();
        const std::size_t target = below(4);
        for (std::size_t d = 0; d + 1 < target; ++d) {
          std::vector<std::size_t> divisors;
          for (std::size_t k = 1; k <= left; ++k) {
            if (left % k == 0) divisors.push_back(k);
          }
          const std::size_t e = divisors[below(divisors.size())];
          step.axes.push_back(static_cast<std::ptrdiff_t>(e));
          left /= e;
        }
        if (target > 0 || left != 1) {
          step.axes.push_back(static_cast<std::ptrdiff_t>(left));
        }
        push(std::move(step));
        return;
      }
      case 3:
        step.op = Op::flatten;
        push(std::move(step));
        return;
      case 4: {
        std::vector<std::ptrdiff_t> ones;
        for (std::size_t d = 0; d < rank; ++d) {
          if (shape[d] == 1) ones.push_back(static_cast<std::ptrdiff_t>(d));
        }
        if (ones.empty()) break;
        step.op = Op::squeeze;
        step.axis = ones[below(ones.size())];
        if (chance(0.5)) step.axis -= static_cast<std::ptrdiff_t>(rank);
        push(std::move(step));
        return;
      }
      case 5:
        if (rank >= 3) break;
        step.op = Op::unsqueeze;
        step.axis = static_cast<std::ptrdiff_t>(below(2 * rank + 2)) -
                    static_cast<std::ptrdiff_t>(rank) - 1;
        push(std::move(step));
        return;
      case 6: {
        if (rank == 0) break;
        step.op = Op::slice;
        step.axis = random_axis(rank);
        const auto extent = static_cast<std::ptrdiff_t>(
            shape[static_cast<std::size_t>(step.axis < 0 ? step.axis + static_cast<std::ptrdiff_t>(rank) : step.axis)]);
        const auto first = static_cast<std::ptrdiff_t>(below(static_cast<std::size_t>(extent)));
        const auto last = first + 1 + static_cast<std::ptrdiff_t>(below(static_cast<std::size_t>(extent - first)));
        step.start = chance(0.3) ? first - extent : first;
        step.stop = chance(0.3) ? last + static_cast<std::ptrdiff_t>(below(3)) : last;
        step.stride = 1 + static_cast<std::ptrdiff_t>(below(2));
        push(std::move(step));
        return;
      }
      case 7: {
        if (rank == 0) break;
        step.op = Op::index_select;
        step.axis = random_axis(rank);
        const std::size_t a = static_cast<std::size_t>(
            step.axis < 0 ? step.axis + static_cast<std::ptrdiff_t>(rank) : step.axis);
        const std::size_t n = 1 + below(4);
        for (std::size_t i = 0; i < n; ++i) step.indices.push_back(below(shape[a]));
        push(std::move(step));
        return;
      }
      case 8: {
        if (rank == 0) break;
        step.op = Op::concat;
        step.axis = random_axis(rank);
        const std::size_t a = static_cast<std::size_t>(
            step.axis < 0 ? step.axis + static_cast<std::ptrdiff_t>(rank) : step.axis);
        const std::size_t parts = 1 + below(3);
        for (std::size_t i = 0; i < parts; ++i) {
          const std::size_t other = pick_where([&](std::size_t v) {
            const Shape& s = meta(v).shape;
            if (meta(v).is_var || s.rank() != rank) return false;
            for (std::size_t d = 0; d < rank; ++d) {
              if (d != a && s[d] != shape[d]) return false;
            }
            return true;
          });
          step.operands.push_back(other);
        }
        push(std::move(step));
        return;
      }
      case 9: {
        if (rank >= 3) break;
        step.op = Op::stack;
        step.axis = static_cast<std::ptrdiff_t>(below(2 * rank + 2)) -
                    static_cast<std::ptrdiff_t>(rank) - 1;
        const std::size_t parts = below(3);
        for (std::size_t i = 0; i < parts; ++i) {
          step.operands.push_back(pick_where([&](std::size_t v) {
            return !meta(v).is_var && meta(v).shape == shape;
          }));
        }
        push(std::move(step));
        return;
      }
      default:
        break;
    }
    unary_step(x);
  }

  /// Reduces every value that no step reads to a Var and adds them up, so
  /// that every input reaches the result. Then marks the last use of each
  /// Var as moved.
  void finish() {
    std::vector<bool> used(count(), false);
    for (const Step& step : program_.steps) {
      for (const std::size_t v : step.operands) used[v] = true;
    }
    std::vector<std::size_t> sinks;
    for (std::size_t v = 0; v < used.size(); ++v) {
      if (!used[v]) sinks.push_back(v);
    }
    std::optional<std::size_t> total;
    for (std::size_t v : sinks) {
      if (!meta(v).is_var) {
        static constexpr Op ops[] = {Op::sum_all, Op::mean_all,
                                     Op::logsumexp_all, Op::weighted_sum};
        v = unary(ops[below(std::size(ops))], tame(v, 64));
      }
      total = total ? binary(Op::add, *total, v) : v;
    }
    mark_moves();
  }

  /// Marks a Var operand that a Var operation reads for the last time as
  /// moved (70% of the time), unless the step reads it twice.
  void mark_moves() {
    std::vector<std::size_t> last_use(count(), 0);
    for (std::size_t s = 0; s < program_.steps.size(); ++s) {
      for (const std::size_t v : program_.steps[s].operands) last_use[v] = s;
    }
    for (std::size_t s = 0; s < program_.steps.size(); ++s) {
      Step& step = program_.steps[s];
      step.moved.assign(step.operands.size(), false);
      bool all_vars = !is_tensor_only(step.op);
      for (const std::size_t v : step.operands) all_vars = all_vars && meta(v).is_var;
      if (!all_vars) continue;
      for (std::size_t i = 0; i < step.operands.size(); ++i) {
        const std::size_t v = step.operands[i];
        const bool twice =
            std::count(step.operands.begin(), step.operands.end(), v) > 1;
        step.moved[i] = last_use[v] == s && !twice && chance(0.7);
      }
    }
  }

  /// Returns the shape and bounds of a step's result.
  Meta infer(const Step& step) const {
    const Meta& x = meta(step.operands.at(0));
    const Meta* y = step.operands.size() > 1 ? &meta(step.operands[1]) : nullptr;
    const double c = step.constant;
    Meta r{x.is_var, x.shape, x.bound, -x.bound};
    const auto lowest = [](const Meta& m) { return std::max(m.low, -m.bound); };
    switch (step.op) {
      case Op::input:
        break;
      case Op::negate:
        r.low = -x.bound;
        break;
      case Op::exp:
        r.bound = std::exp(x.bound);
        r.low = std::exp(-x.bound);
        break;
      case Op::log:
        r.bound = std::max(std::abs(std::log(x.low)), std::abs(std::log(x.bound)));
        break;
      case Op::sqrt:
        r.bound = std::sqrt(x.bound);
        r.low = std::sqrt(x.low);
        break;
      case Op::square:
        r.bound = x.bound * x.bound;
        r.low = 0;
        break;
      case Op::abs:
      case Op::relu:
        r.low = 0;
        break;
      case Op::sin:
      case Op::cos:
      case Op::tanh:
        r.bound = 1;
        r.low = -1;
        break;
      case Op::tan:
        r.bound = std::tan(x.bound);
        break;
      case Op::sigmoid:
        r.bound = 1;
        r.low = 1 / (1 + std::exp(x.bound));
        break;
      case Op::add_constant:
        r.bound = x.bound + std::abs(c);
        r.low = lowest(x) + c;
        break;
      case Op::subtract_constant:
        r.bound = x.bound + std::abs(c);
        r.low = lowest(x) - c;
        break;
      case Op::constant_subtract:
        r.bound = x.bound + std::abs(c);
        break;
      case Op::multiply_constant:
      case Op::constant_multiply:
        r.bound = x.bound * std::abs(c);
        if (c > 0 && x.low > 0) r.low = x.low * c;
        break;
      case Op::divide_constant:
        r.bound = x.bound / std::abs(c);
        if (c > 0 && x.low > 0) r.low = x.low / c;
        break;
      case Op::constant_divide:
        r.bound = std::abs(c) / x.low;
        if (c > 0) r.low = c / x.bound;
        break;
      case Op::pow_constant:
        r.bound = std::max(std::pow(x.bound, c), std::pow(x.low, c));
        r.low = std::min(std::pow(x.bound, c), std::pow(x.low, c));
        break;
      case Op::constant_pow:
        r.bound = std::max(std::pow(c, x.bound), std::pow(c, -x.bound));
        r.low = std::min(std::pow(c, x.bound), std::pow(c, -x.bound));
        break;
      case Op::maximum_constant:
        r.bound = std::max(x.bound, std::abs(c));
        r.low = std::max(lowest(x), c);
        break;
      case Op::minimum_constant:
        r.bound = std::max(x.bound, std::abs(c));
        r.low = std::min(lowest(x), c);
        break;
      case Op::clamp:
        r.bound = std::max(std::abs(step.constant), std::abs(step.constant2));
        r.low = step.constant;
        break;
      case Op::add:
      case Op::add_assign:
      case Op::subtract:
      case Op::subtract_assign:
      case Op::multiply:
      case Op::multiply_assign:
      case Op::divide:
      case Op::divide_assign:
      case Op::maximum:
      case Op::minimum:
      case Op::pow: {
        r.is_var = x.is_var && y->is_var;
        r.shape = *broadcast(x.shape, y->shape);
        const bool add = step.op == Op::add || step.op == Op::add_assign;
        const bool subtract =
            step.op == Op::subtract || step.op == Op::subtract_assign;
        const bool multiply =
            step.op == Op::multiply || step.op == Op::multiply_assign;
        const bool divide = step.op == Op::divide || step.op == Op::divide_assign;
        if (add || subtract) {
          r.bound = x.bound + y->bound;
          r.low = add ? lowest(x) + lowest(*y) : -r.bound;
        } else if (multiply) {
          r.bound = x.bound * y->bound;
          if (x.low > 0 && y->low > 0) r.low = x.low * y->low;
        } else if (divide) {
          r.bound = x.bound / y->low;
          if (x.low > 0) r.low = x.low / y->bound;
        } else if (step.op == Op::pow) {
          const double logs = std::max(std::abs(std::log(x.low)),
                                       std::abs(std::log(x.bound)));
          r.bound = std::exp(y->bound * logs);
          r.low = std::exp(-y->bound * logs);
        } else {
          r.bound = std::max(x.bound, y->bound);
          r.low = step.op == Op::maximum ? std::max(lowest(x), lowest(*y))
                                         : std::min(lowest(x), lowest(*y));
        }
        break;
      }
      case Op::where_greater:
      case Op::where_less: {
        const Meta& a = meta(step.operands[1]);
        const Meta& b = meta(step.operands[2]);
        r.is_var = false;
        r.shape = *broadcast(*broadcast(x.shape, step.threshold_shape),
                             *broadcast(a.shape, b.shape));
        r.bound = std::max(a.bound, b.bound);
        r.low = std::min(lowest(a), lowest(b));
        break;
      }
      case Op::sum_all:
      case Op::mean_all:
      case Op::max_all:
      case Op::min_all:
      case Op::logsumexp_all:
      case Op::weighted_sum:
      case Op::dot:
      case Op::cross_entropy: {
        const auto n = static_cast<double>(x.shape.numel());
        r.is_var = true;
        r.shape = Shape{};
        if (step.op == Op::sum_all) {
          r.bound = x.bound * n;
          r.low = lowest(x) * n;
        } else if (step.op == Op::weighted_sum) {
          r.bound = x.bound * n * 0.75;
        } else if (step.op == Op::dot) {
          r.bound = x.bound * y->bound * n;
        } else if (step.op == Op::cross_entropy) {
          r.bound = 2 * x.bound + std::log(n);
          r.low = 0;
        } else {
          r.bound = x.bound + std::log(n);
          r.low = lowest(x);
        }
        break;
      }
      case Op::sum_axes:
      case Op::mean_axes:
      case Op::max_axes:
      case Op::min_axes:
      case Op::logsumexp_axes: {
        std::vector<bool> reduced(x.shape.rank(), false);
        std::size_t n = 1;
        for (const std::ptrdiff_t a : step.axes) {
          const auto d = static_cast<std::size_t>(
              a < 0 ? a + static_cast<std::ptrdiff_t>(x.shape.rank()) : a);
          reduced[d] = true;
          n *= x.shape[d];
        }
        r.shape = Shape{};
        for (std::size_t d = 0; d < x.shape.rank(); ++d) {
          if (!reduced[d]) {
            r.shape.push_back(x.shape[d]);
          } else if (step.keepdim) {
            r.shape.push_back(1);
          }
        }
        r.low = lowest(x);
        if (step.op == Op::sum_axes) {
          r.bound = x.bound * static_cast<double>(n);
          r.low = lowest(x) * static_cast<double>(n);
        } else if (step.op == Op::logsumexp_axes) {
          r.bound = x.bound + std::log(static_cast<double>(n));
        }
        break;
      }
      case Op::softmax:
        r.bound = 1;
        r.low = 0;
        break;
      case Op::log_softmax:
        r.bound = 2 * x.bound +
                  std::log(static_cast<double>(x.shape.numel()));
        break;
      case Op::matmul: {
        r.shape = *matmul_shape(x.shape, y->shape);
        r.bound = x.bound * y->bound *
                  static_cast<double>(x.shape[x.shape.rank() - 1]);
        break;
      }
      case Op::transpose:
        std::swap(r.shape[r.shape.rank() - 2], r.shape[r.shape.rank() - 1]);
        r.low = lowest(x);
        break;
      case Op::transpose_axes:
      case Op::permute: {
        const auto rank = static_cast<std::ptrdiff_t>(x.shape.rank());
        const auto axis = [rank](std::ptrdiff_t a) {
          return static_cast<std::size_t>(a < 0 ? a + rank : a);
        };
        if (step.op == Op::transpose_axes) {
          std::swap(r.shape[axis(step.axes[0])], r.shape[axis(step.axes[1])]);
        } else {
          for (std::size_t d = 0; d < step.axes.size(); ++d) {
            r.shape[d] = x.shape[axis(step.axes[d])];
          }
        }
        r.low = lowest(x);
        break;
      }
      case Op::reshape:
        r.shape = Shape(std::span<const std::ptrdiff_t>(step.axes));
        r.low = lowest(x);
        break;
      case Op::flatten:
        r.shape = Shape{x.shape.numel()};
        r.low = lowest(x);
        break;
      case Op::squeeze:
      case Op::unsqueeze: {
        const auto rank = static_cast<std::ptrdiff_t>(x.shape.rank());
        const bool squeeze = step.op == Op::squeeze;
        // unsqueeze counts a negative axis from the end of the result,
        // which has one more dimension.
        std::ptrdiff_t axis = step.axis;
        if (axis < 0) axis += squeeze ? rank : rank + 1;
        const auto a = static_cast<std::size_t>(axis);
        r.shape = Shape{};
        for (std::size_t d = 0; d <= x.shape.rank(); ++d) {
          if (!squeeze && d == a) r.shape.push_back(1);
          if (d < x.shape.rank() && !(squeeze && d == a)) {
            r.shape.push_back(x.shape[d]);
          }
        }
        r.low = lowest(x);
        break;
      }
      case Op::slice:
      case Op::index_select:
      case Op::concat:
      case Op::stack: {
        const auto rank = static_cast<std::ptrdiff_t>(x.shape.rank());
        r.low = lowest(x);
        if (step.op == Op::stack) {
          const auto a = static_cast<std::size_t>(
              step.axis < 0 ? step.axis + rank + 1 : step.axis);
          r.shape = Shape{};
          for (std::size_t d = 0; d <= x.shape.rank(); ++d) {
            if (d == a) r.shape.push_back(step.operands.size());
            if (d < x.shape.rank()) r.shape.push_back(x.shape[d]);
          }
          for (const std::size_t v : step.operands) {
            r.bound = std::max(r.bound, meta(v).bound);
            r.low = std::min(r.low, lowest(meta(v)));
          }
          break;
        }
        const auto a =
            static_cast<std::size_t>(step.axis < 0 ? step.axis + rank : step.axis);
        if (step.op == Op::slice) {
          const auto extent = static_cast<std::ptrdiff_t>(x.shape[a]);
          const auto clamp_index = [extent](std::ptrdiff_t i) {
            return std::clamp<std::ptrdiff_t>(i < 0 ? i + extent : i, 0, extent);
          };
          const std::ptrdiff_t first = clamp_index(step.start);
          const std::ptrdiff_t last = clamp_index(step.stop);
          r.shape[a] = first < last ? static_cast<std::size_t>(
                                          (last - first - 1) / step.stride + 1)
                                    : 0;
        } else if (step.op == Op::index_select) {
          r.shape[a] = step.indices.size();
        } else {
          r.shape[a] = 0;
          for (const std::size_t v : step.operands) {
            r.shape[a] += meta(v).shape[a];
            r.bound = std::max(r.bound, meta(v).bound);
            r.low = std::min(r.low, lowest(meta(v)));
          }
        }
        break;
      }
    }
    r.low = std::max(r.low, -r.bound);
    return r;
  }

  adjoint::Generator random_;
  Program program_;
};

inline Program tensor_program(std::uint64_t seed) {
  return ProgramGenerator(seed).tensor_program();
}

inline Program scalar_program(std::uint64_t seed) {
  return ProgramGenerator(seed).scalar_program();
}

/// Runs a Program for the scalar type S.
template <class S>
class Evaluator {
 public:
  using Value = std::variant<Tensor<S>, Var<S>>;

  explicit Evaluator(const Program& program) : program_(program) {}

  Var<S> operator()(std::span<const Tensor<S>> inputs) {
    values_.assign(inputs.begin(), inputs.end());
    return run();
  }

  Var<S> operator()(std::span<const Var<S>> inputs) {
    values_.assign(inputs.begin(), inputs.end());
    return run();
  }

 private:
  Var<S> run() {
    for (std::size_t s = values_.size(); s < program_.steps.size(); ++s) {
      values_.push_back(step(program_.steps[s]));
    }
    return std::get<Var<S>>(values_.back());
  }

  bool is_var(std::size_t v) const {
    return std::holds_alternative<Var<S>>(values_[v]);
  }

  /// Returns the value as a tensor. A Var becomes a 0-dimensional tensor.
  Tensor<S> tensor(std::size_t v) const {
    if (is_var(v)) return as_tensor(std::get<Var<S>>(values_[v]));
    return std::get<Tensor<S>>(values_[v]);
  }

  /// Calls f with the Var, as an rvalue when the step moves it.
  template <class F>
  Value with_var(const Step& step, std::size_t i, F&& f) {
    Var<S>& x = std::get<Var<S>>(values_[step.operands[i]]);
    if (step.moved[i]) return f(std::move(x));
    return f(x);
  }

  template <class X>
  static Value unary(const Step& step, X&& x) {
    constexpr bool on_tensor = std::is_same_v<std::remove_cvref_t<X>, Tensor<S>>;
    const S c(step.constant);
    switch (step.op) {
      case Op::negate:
        return -std::forward<X>(x);
      case Op::exp:
        return exp(std::forward<X>(x));
      case Op::log:
        return log(std::forward<X>(x));
      case Op::sqrt:
        return sqrt(std::forward<X>(x));
      case Op::square:
        return square(std::forward<X>(x));
      case Op::abs:
        return abs(std::forward<X>(x));
      case Op::sin:
        return sin(std::forward<X>(x));
      case Op::cos:
        return cos(std::forward<X>(x));
      case Op::tan:
        return tan(std::forward<X>(x));
      case Op::tanh:
        return tanh(std::forward<X>(x));
      case Op::sigmoid:
        return sigmoid(std::forward<X>(x));
      case Op::relu:
        return relu(std::forward<X>(x));
      case Op::add_constant:
        return std::forward<X>(x) + c;
      case Op::subtract_constant:
        return std::forward<X>(x) - c;
      case Op::constant_subtract:
        return c - std::forward<X>(x);
      case Op::multiply_constant:
        return std::forward<X>(x) * c;
      case Op::constant_multiply:
        return c * std::forward<X>(x);
      case Op::divide_constant:
        return std::forward<X>(x) / c;
      case Op::constant_divide:
        return c / std::forward<X>(x);
      case Op::pow_constant:
        return pow(std::forward<X>(x), c);
      case Op::constant_pow:
        return pow(c, std::forward<X>(x));
      case Op::maximum_constant:
        if constexpr (on_tensor) {
          return maximum(x, c);
        } else {
          return max(std::forward<X>(x), c);
        }
      case Op::minimum_constant:
        if constexpr (on_tensor) {
          return minimum(x, c);
        } else {
          return min(std::forward<X>(x), c);
        }
      case Op::clamp:
        if constexpr (on_tensor) {
          return clamp(x, c, S(step.constant2));
        }
        break;
      default:
        break;
    }
    throw std::logic_error("random_graph: not a unary operation");
  }

  template <class A, class B>
  static Value binary(Op op, A&& a, B&& b) {
    constexpr bool var_a = std::is_same_v<std::remove_cvref_t<A>, Var<S>>;
    constexpr bool var_b = std::is_same_v<std::remove_cvref_t<B>, Var<S>>;
    constexpr bool on_vars = var_a && var_b;
    // Compound assignment needs a left operand of the result's type, and
    // maximum, minimum and pow take two Vars or two tensors.
    constexpr bool assigns = on_vars || !var_a;
    constexpr bool same_kind = var_a == var_b;
    switch (op) {
      case Op::add:
        return std::forward<A>(a) + std::forward<B>(b);
      case Op::subtract:
        return std::forward<A>(a) - std::forward<B>(b);
      case Op::multiply:
        return std::forward<A>(a) * std::forward<B>(b);
      case Op::divide:
        return std::forward<A>(a) / std::forward<B>(b);
      case Op::add_assign:
        if constexpr (assigns) {
          auto y = std::forward<A>(a);
          y += std::forward<B>(b);
          return y;
        }
        break;
      case Op::subtract_assign:
        if constexpr (assigns) {
          auto y = std::forward<A>(a);
          y -= std::forward<B>(b);
          return y;
        }
        break;
      case Op::multiply_assign:
        if constexpr (assigns) {
          auto y = std::forward<A>(a);
          y *= std::forward<B>(b);
          return y;
        }
        break;
      case Op::divide_assign:
        if constexpr (assigns) {
          auto y = std::forward<A>(a);
          y /= std::forward<B>(b);
          return y;
        }
        break;
      case Op::maximum:
        if constexpr (on_vars) {
          return max(std::forward<A>(a), std::forward<B>(b));
        } else if constexpr (same_kind) {
          return maximum(a, b);
        }
        break;
      case Op::minimum:
        if constexpr (on_vars) {
          return min(std::forward<A>(a), std::forward<B>(b));
        } else if constexpr (same_kind) {
          return minimum(a, b);
        }
        break;
      case Op::pow:
        if constexpr (same_kind) {
          return pow(std::forward<A>(a), std::forward<B>(b));
        }
        break;
      default:
        break;
    }
    throw std::logic_error("random_graph: not a binary operation");
  }

  Value step(const Step& step) {
    const std::vector<std::size_t>& in = step.operands;
    const Op op = step.op;
    if (op >= Op::add && op <= Op::pow) {
      if (is_var(in[0]) && is_var(in[1])) {
        return with_var(step, 0, [&](auto&& a) {
          return with_var(step, 1, [&](auto&& b) {
            return binary(op, std::forward<decltype(a)>(a),
                          std::forward<decltype(b)>(b));
          });
        });
      }
      // A Var next to a tensor: +, -, * and / take the Var itself, and so
      // does the right operand of +=, -=, *= and /=. Elsewhere the Var
      // becomes a 0-dimensional tensor.
      if (is_var(in[0]) && op <= Op::divide) {
        return binary(op, std::get<Var<S>>(values_[in[0]]), tensor(in[1]));
      }
      if (is_var(in[1]) && op <= Op::divide_assign) {
        return binary(op, tensor(in[0]), std::get<Var<S>>(values_[in[1]]));
      }
      return binary(op, tensor(in[0]), tensor(in[1]));
    }
    if (!is_tensor_only(op)) {
      if (is_var(in[0])) {
        return with_var(step, 0, [&](auto&& x) {
          return unary(step, std::forward<decltype(x)>(x));
        });
      }
      return unary(step, tensor(in[0]));
    }
    const Tensor<S> x = tensor(in[0]);
    switch (op) {
      case Op::clamp:
        return unary(step, x);
      case Op::where_greater:
      case Op::where_less: {
        std::vector<S> values(step.thresholds.begin(), step.thresholds.end());
        const Tensor<S> thresholds(step.threshold_shape, values);
        const Tensor<S> mask = op == Op::where_greater
                                   ? greater(x, thresholds)
                                   : less(x, thresholds);
        return where(mask, tensor(in[1]), tensor(in[2]));
      }
      case Op::sum_all:
        return sum(x);
      case Op::mean_all:
        return mean(x);
      case Op::max_all:
        return max(x);
      case Op::min_all:
        return min(x);
      case Op::logsumexp_all:
        return logsumexp(x);
      case Op::weighted_sum:
        return weighted_sum(x);
      case Op::dot:
        return dot(x, tensor(in[1]));
      case Op::cross_entropy:
        return cross_entropy(x, std::span<const std::size_t>(step.indices));
      case Op::sum_axes:
        if (step.single_axis) return sum(x, step.axes[0], step.keepdim);
        return sum(x, step.axes, step.keepdim);
      case Op::mean_axes:
        if (step.single_axis) return mean(x, step.axes[0], step.keepdim);
        return mean(x, step.axes, step.keepdim);
      case Op::max_axes:
        if (step.single_axis) return max(x, step.axes[0], step.keepdim);
        return max(x, step.axes, step.keepdim);
      case Op::min_axes:
        if (step.single_axis) return min(x, step.axes[0], step.keepdim);
        return min(x, step.axes, step.keepdim);
      case Op::logsumexp_axes:
        if (step.single_axis) return logsumexp(x, step.axes[0], step.keepdim);
        return logsumexp(x, step.axes, step.keepdim);
      case Op::softmax:
        return softmax(x, step.axis);
      case Op::log_softmax:
        return log_softmax(x, step.axis);
      case Op::matmul:
        return matmul(x, tensor(in[1]));
      case Op::transpose:
        return transpose(x);
      case Op::transpose_axes:
        return transpose(x, step.axes[0], step.axes[1]);
      case Op::permute:
        return permute(x, step.axes);
      case Op::reshape:
        return reshape(x, Shape(std::span<const std::ptrdiff_t>(step.axes)));
      case Op::flatten:
        return flatten(x);
      case Op::squeeze:
        return squeeze(x, step.axis);
      case Op::unsqueeze:
        return unsqueeze(x, step.axis);
      case Op::slice:
        return slice(x, step.axis, step.start, step.stop, step.stride);
      case Op::index_select:
        return index_select(x, step.axis,
                            std::span<const std::size_t>(step.indices));
      case Op::concat:
      case Op::stack: {
        std::vector<Tensor<S>> parts;
        for (const std::size_t v : in) parts.push_back(tensor(v));
        if (op == Op::concat) return concat(parts, step.axis);
        return stack(parts, step.axis);
      }
      default:
        break;
    }
    throw std::logic_error("random_graph: unknown operation");
  }

  const Program& program_;
  std::vector<Value> values_;
};

/// Evaluates `program` on `inputs` (tensors, or Vars for a scalar program).
template <class Inputs>
auto evaluate(const Program& program, Inputs inputs) {
  using S = typename Inputs::value_type::value_type;
  return Evaluator<S>(program)(inputs);
}

inline std::string number_text(double x) { return fmt::format("{}", x); }

template <class List>
std::string list_text(const List& list) {
  return fmt::format("{}", fmt::join(list, ", "));
}

/// Prints the program as the body of a generic lambda `[](auto x) { ... }`, with
/// `S` the scalar type, one statement per step.
inline std::string print(const Program& program) {
  std::string text = "using S = typename decltype(x)::value_type::value_type;\n";
  const auto name = [&](const Step& step, std::size_t i) {
    const std::string v = fmt::format("v{}", step.operands[i]);
    return step.moved.size() > i && step.moved[i] ? "std::move(" + v + ")" : v;
  };
  const auto tensor_name = [&](const Step& step, std::size_t i) {
    const std::size_t v = step.operands[i];
    return program.meta[v].is_var ? fmt::format("as_tensor(v{})", v)
                                  : fmt::format("v{}", v);
  };
  for (std::size_t s = 0; s < program.steps.size(); ++s) {
    const Step& step = program.steps[s];
    const Meta& m = program.meta[s];
    const std::string shape =
        m.is_var ? "Var" : fmt::format("shape {}", m.shape);
    if (step.op == Op::input) {
      text += fmt::format("auto v{} = x[{}];  // {}\n", s, s, shape);
      continue;
    }
    const std::string c = "S(" + number_text(step.constant) + ")";
    const std::string a = name(step, 0);
    const std::string b = step.operands.size() > 1 ? name(step, 1) : "";
    const bool both_vars = step.operands.size() > 1 &&
                           program.meta[step.operands[0]].is_var &&
                           program.meta[step.operands[1]].is_var;
    const auto axes = [&] {
      if (step.single_axis) {
        return fmt::format("{}, {}", step.axes[0], step.keepdim);
      }
      return fmt::format("adjoint::Axes{{{}}}, {}", list_text(step.axes),
                         step.keepdim);
    };
    std::string call;
    switch (step.op) {
      case Op::input:
        break;
      case Op::negate: call = "-" + a; break;
      case Op::exp: call = "exp(" + a + ")"; break;
      case Op::log: call = "log(" + a + ")"; break;
      case Op::sqrt: call = "sqrt(" + a + ")"; break;
      case Op::square: call = "square(" + a + ")"; break;
      case Op::abs: call = "abs(" + a + ")"; break;
      case Op::sin: call = "sin(" + a + ")"; break;
      case Op::cos: call = "cos(" + a + ")"; break;
      case Op::tan: call = "tan(" + a + ")"; break;
      case Op::tanh: call = "tanh(" + a + ")"; break;
      case Op::sigmoid: call = "sigmoid(" + a + ")"; break;
      case Op::relu: call = "relu(" + a + ")"; break;
      case Op::add_constant: call = a + " + " + c; break;
      case Op::subtract_constant: call = a + " - " + c; break;
      case Op::constant_subtract: call = c + " - " + a; break;
      case Op::multiply_constant: call = a + " * " + c; break;
      case Op::constant_multiply: call = c + " * " + a; break;
      case Op::divide_constant: call = a + " / " + c; break;
      case Op::constant_divide: call = c + " / " + a; break;
      case Op::pow_constant: call = "pow(" + a + ", " + c + ")"; break;
      case Op::constant_pow: call = "pow(" + c + ", " + a + ")"; break;
      case Op::maximum_constant:
        call = (m.is_var ? "max(" : "maximum(") + a + ", " + c + ")";
        break;
      case Op::minimum_constant:
        call = (m.is_var ? "min(" : "minimum(") + a + ", " + c + ")";
        break;
      case Op::clamp:
        call = fmt::format("clamp({}, {}, S({}))", a, c,
                           number_text(step.constant2));
        break;
      case Op::add: call = a + " + " + b; break;
      case Op::subtract: call = a + " - " + b; break;
      case Op::multiply: call = a + " * " + b; break;
      case Op::divide: call = a + " / " + b; break;
      case Op::add_assign:
      case Op::subtract_assign:
      case Op::multiply_assign:
      case Op::divide_assign: {
        const char* symbol = step.op == Op::add_assign        ? "+="
                             : step.op == Op::subtract_assign ? "-="
                             : step.op == Op::multiply_assign ? "*="
                                                              : "/=";
        // A Var on the left of a tensor is made a 0-dimensional tensor,
        // because Var has no compound assignment with a tensor.
        const std::string left = both_vars ? a : tensor_name(step, 0);
        text += fmt::format("auto v{} = {};  // {}\nv{} {} {};\n", s, left,
                            shape, s, symbol, b);
        continue;
      }
      case Op::maximum:
        call = both_vars ? "max(" + a + ", " + b + ")"
                         : "maximum(" + tensor_name(step, 0) + ", " +
                               tensor_name(step, 1) + ")";
        break;
      case Op::minimum:
        call = both_vars ? "min(" + a + ", " + b + ")"
                         : "minimum(" + tensor_name(step, 0) + ", " +
                               tensor_name(step, 1) + ")";
        break;
      case Op::pow:
        call = both_vars ? "pow(" + a + ", " + b + ")"
                         : "pow(" + tensor_name(step, 0) + ", " +
                               tensor_name(step, 1) + ")";
        break;
      case Op::where_greater:
      case Op::where_less:
        call = fmt::format(
            "where({}({}, Tensor<S>(adjoint::Shape{{{}}}, "
            "std::vector<S>{{{}}})), {}, {})",
            step.op == Op::where_greater ? "greater" : "less",
            tensor_name(step, 0), list_text(step.threshold_shape),
            list_text(step.thresholds), tensor_name(step, 1),
            tensor_name(step, 2));
        break;
      case Op::sum_all: call = "sum(" + a + ")"; break;
      case Op::mean_all: call = "mean(" + a + ")"; break;
      case Op::max_all: call = "max(" + a + ")"; break;
      case Op::min_all: call = "min(" + a + ")"; break;
      case Op::logsumexp_all: call = "logsumexp(" + a + ")"; break;
      case Op::weighted_sum:
        call = "adjoint::testing::weighted_sum(" + a + ")";
        break;
      case Op::dot: call = "dot(" + a + ", " + b + ")"; break;
      case Op::cross_entropy:
        call = fmt::format("cross_entropy({}, {{{}}})", a,
                           list_text(step.indices));
        break;
      case Op::sum_axes: call = "sum(" + a + ", " + axes() + ")"; break;
      case Op::mean_axes: call = "mean(" + a + ", " + axes() + ")"; break;
      case Op::max_axes: call = "max(" + a + ", " + axes() + ")"; break;
      case Op::min_axes: call = "min(" + a + ", " + axes() + ")"; break;
      case Op::logsumexp_axes:
        call = "logsumexp(" + a + ", " + axes() + ")";
        break;
      case Op::softmax:
        call = fmt::format("softmax({}, {})", a, step.axis);
        break;
      case Op::log_softmax:
        call = fmt::format("log_softmax({}, {})", a, step.axis);
        break;
      case Op::matmul: call = "matmul(" + a + ", " + b + ")"; break;
      case Op::transpose: call = "transpose(" + a + ")"; break;
      case Op::transpose_axes:
        call = fmt::format("transpose({}, {}, {})", a, step.axes[0],
                           step.axes[1]);
        break;
      case Op::permute:
        call = fmt::format("permute({}, {{{}}})", a, list_text(step.axes));
        break;
      case Op::reshape:
        call = fmt::format("reshape({}, adjoint::Shape{{{}}})", a,
                           list_text(step.axes));
        break;
      case Op::flatten: call = "flatten(" + a + ")"; break;
      case Op::squeeze:
        call = fmt::format("squeeze({}, {})", a, step.axis);
        break;
      case Op::unsqueeze:
        call = fmt::format("unsqueeze({}, {})", a, step.axis);
        break;
      case Op::slice:
        call = fmt::format("slice({}, {}, {}, {}, {})", a, step.axis,
                           step.start, step.stop, step.stride);
        break;
      case Op::index_select:
        call = fmt::format("index_select({}, {}, {{{}}})", a, step.axis,
                           list_text(step.indices));
        break;
      case Op::concat:
      case Op::stack: {
        std::vector<std::string> parts;
        for (std::size_t i = 0; i < step.operands.size(); ++i) {
          parts.push_back(tensor_name(step, i));
        }
        call = fmt::format("adjoint::{}<S>({{{}}}, {})",
                           step.op == Op::concat ? "concat" : "stack",
                           list_text(parts), step.axis);
        break;
      }
    }
    text += fmt::format("auto v{} = {};  // {}\n", s, call, shape);
  }
  text += fmt::format("return v{};\n", program.steps.size() - 1);
  return text;
}

/// Prints the inputs as C++ initializers, with every digit needed to read them
/// back exactly.
inline std::string print_inputs(const Program& program) {
  std::string text;
  for (std::size_t i = 0; i < program.input_shapes.size(); ++i) {
    std::vector<std::string> values;
    for (const double v : program.input_values[i]) {
      values.push_back(fmt::format("{}", v));
    }
    if (program.scalar) {
      text += list_text(values) + (i + 1 < program.input_shapes.size() ? ", " : "");
    } else {
      text += fmt::format("Tensor<double>(Shape{{{}}}, {{{}}}),\n",
                          list_text(program.input_shapes[i]), list_text(values));
    }
  }
  return text;
}

/// Number of operations in Op, for counting which ones a run covered.
inline constexpr std::size_t op_count = static_cast<std::size_t>(Op::stack) + 1;

inline const char* op_name(Op op) {
  static constexpr const char* names[op_count] = {
      "input", "negate", "exp", "log", "sqrt", "square", "abs", "sin", "cos",
      "tan", "tanh", "sigmoid", "relu", "add_constant", "subtract_constant",
      "constant_subtract", "multiply_constant", "constant_multiply",
      "divide_constant", "constant_divide", "pow_constant", "constant_pow",
      "maximum_constant", "minimum_constant", "clamp", "add", "subtract",
      "multiply", "divide", "add_assign", "subtract_assign",
      "multiply_assign", "divide_assign", "maximum", "minimum", "pow",
      "where_greater", "where_less", "sum_all", "mean_all", "max_all",
      "min_all", "logsumexp_all", "weighted_sum", "dot", "cross_entropy",
      "sum_axes", "mean_axes", "max_axes", "min_axes", "logsumexp_axes",
      "softmax", "log_softmax", "matmul", "transpose", "transpose_axes",
      "permute", "reshape", "flatten", "squeeze", "unsqueeze", "slice",
      "index_select", "concat", "stack"};
  return names[static_cast<std::size_t>(op)];
}

/// Relative tolerance of a random program's gradient against the 50-digit
/// central difference, as for the other tensor gradient tests in double.
inline constexpr double tolerance = tensor_tolerance<double>;

/// Result of check_function().
struct Check {
  bool passed = false;
  // Whether the gradient passed only against the scale of the whole
  // gradient, because some element is much smaller than the others.
  bool needed_scale = false;
  std::string report;  // the worst element of each check, for a failure
};

namespace detail {

/// Weight of element k in the linear term of the scaled check: 1, 1.25,
/// 1.5 or 1.75, exact in every type.
inline double shift_weight(std::size_t k) {
  return 1.0 + 0.25 * static_cast<double>(k % 4);
}

/// The power of 2 at least 4 times the largest |gradient| (and at least
/// 2^-8).
template <class Gradients>
double shift_for(const Gradients& gradients) {
  double largest = 0x1p-10;
  for (const double g : gradients) largest = std::max(largest, std::abs(g));
  return std::exp2(std::ceil(std::log2(largest))) * 4;
}

template <class Result>
std::string describe(const char* check, const Result& result) {
  return fmt::format(
      "{}: input {}, element {}: reverse gradient {}, 50-digit central "
      "difference {}, relative error {:.3g}\n",
      check, result.worst_input, result.worst_element, result.reverse,
      result.finite_difference, result.max_relative_error);
}

}  // namespace detail

/// Checks the gradient of `f`, a generic lambda of a span of tensors that
/// returns a Var, with adjoint::check_gradient().
///
/// A gradient element can be a sum of terms that cancel to nearly 0, or to
/// exactly 0 as for sum(softmax(x)). Its rounding error is about 1e-16
/// times the terms, so its relative error can exceed any tolerance without
/// a bug. When the relative check fails, a second check therefore adds
/// shift * sum(w * x) to f, with weights w in [1, 1.75] and shift a power
/// of 2 at least 4 times the largest |gradient|. That moves every gradient
/// element to between 3 and 8 times the largest, so the second check
/// measures each error against the scale of the whole gradient.
///
/// NOTE: the scaled check accepts an error of up to about 1e-9 times the
/// largest gradient element in a small element.
template <class F>
Check check_function(const F& f, const std::vector<Tensor<double>>& inputs) {
  const std::span<const Tensor<double>> span(inputs);
  const TensorGradientCheck<double> plain = check_gradient<double>(f, span);
  Check check;
  check.report = detail::describe("relative check", plain);
  if (plain.max_relative_error <= tolerance) {
    check.passed = true;
    return check;
  }
  std::vector<double> all;
  for (const std::vector<double>& g : plain.gradients) {
    all.insert(all.end(), g.begin(), g.end());
  }
  const double shift = detail::shift_for(all);
  const auto shifted = [&f, shift](auto x) {
    using S = typename decltype(x)::value_type::value_type;
    Var<S> y = f(x);
    for (const Tensor<S>& input : x) {
      std::vector<S> weights;
      for (std::size_t k = 0; k < input.numel(); ++k) {
        weights.push_back(S(shift * detail::shift_weight(k)));
      }
      y = y + sum(input * Tensor<S>(input.shape(), weights));
    }
    return y;
  };
  const TensorGradientCheck<double> scaled = check_gradient<double>(shifted, span);
  check.report += detail::describe(
      fmt::format("scaled check with shift {}", shift).c_str(), scaled);
  check.passed = scaled.max_relative_error <= tolerance;
  check.needed_scale = check.passed;
  return check;
}

/// As above for `f`, a generic lambda of a span of Vars, with the scalar
/// adjoint::check_gradient().
template <class F>
Check check_scalar_function(const F& f, const std::vector<double>& point) {
  const std::span<const double> span(point);
  const GradientCheck<double> plain = check_gradient<double>(f, span);
  const auto describe = [](const char* check, const GradientCheck<double>& r) {
    return fmt::format(
        "{}: input {}: reverse gradient {}, 50-digit central difference {}, "
        "relative error {:.3g}\n",
        check, r.worst_input, r.reverse, r.finite_difference,
        r.max_relative_error);
  };
  Check check;
  check.report = describe("relative check", plain);
  if (plain.max_relative_error <= tolerance) {
    check.passed = true;
    return check;
  }
  const double shift = detail::shift_for(plain.gradient);
  const auto shifted = [&f, shift](auto x) {
    using S = typename decltype(x)::value_type::value_type;
    Var<S> y = f(x);
    for (std::size_t i = 0; i < x.size(); ++i) {
      y = y + S(shift * detail::shift_weight(i)) * x[i];
    }
    return y;
  };
  const GradientCheck<double> scaled = check_gradient<double>(shifted, span);
  check.report += describe(
      fmt::format("scaled check with shift {}", shift).c_str(), scaled);
  check.passed = scaled.max_relative_error <= tolerance;
  check.needed_scale = check.passed;
  return check;
}

/// Returns the inputs of a tensor program.
inline std::vector<Tensor<double>> tensor_inputs(const Program& program) {
  std::vector<Tensor<double>> inputs;
  for (std::size_t i = 0; i < program.input_shapes.size(); ++i) {
    inputs.emplace_back(program.input_shapes[i], program.input_values[i]);
  }
  return inputs;
}

/// Checks the gradient of a program of either kind.
inline Check check_program(const Program& program) {
  const auto f = [&program](auto x) { return evaluate(program, x); };
  if (program.scalar) {
    std::vector<double> point;
    for (const std::vector<double>& value : program.input_values) {
      point.push_back(value.at(0));
    }
    return check_scalar_function(f, point);
  }
  return check_function(f, tensor_inputs(program));
}

}  // namespace adjoint::testing::random_graph
