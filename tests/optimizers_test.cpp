#define BOOST_TEST_MODULE optimizers
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "gradient_check.hpp"
#include "optim/optim.hpp"
#include "tensor_support.hpp"

using adjoint::Reference;
using adjoint::Tensor;
using adjoint::Var;
using adjoint::testing::message_contains;
using namespace adjoint::optim;

namespace {

// The two test functions of scripts/optimizer_reference.py: a quadratic with
// its minimum at (3, -1) and the Rosenbrock function with its minimum at
// (1, 1).
template <class T>
Var<T> quadratic(const Var<T>& a, const Var<T>& b) {
  return square(a - T(3)) + T(10) * square(b + T(1));
}

template <class T>
Var<T> rosenbrock(const Var<T>& a, const Var<T>& b) {
  return square(T(1) - a) + T(100) * square(b - a * a);
}

using Function = Var<double> (*)(const Var<double>&, const Var<double>&);
using Factory = std::function<std::unique_ptr<Optimizer<double>>(
    std::vector<Parameter<double>>, bool rosenbrock)>;

// Builds each optimizer with the settings that scripts/optimizer_reference.py
// gives torch.optim; the second learning rate is the one for Rosenbrock.
template <class O>
Factory make(typename O::Options quadratic_options,
             typename O::Options rosenbrock_options) {
  return [=](std::vector<Parameter<double>> parameters, bool rosenbrock) {
    return std::make_unique<O>(std::move(parameters), rosenbrock
                                                          ? rosenbrock_options
                                                          : quadratic_options);
  };
}

Factory factory(const std::string& name) {
  using GD = GradientDescent<double>;
  if (name == "gd")
    return make<GD>({.learning_rate = 0.01}, {.learning_rate = 1e-4});
  if (name == "momentum") {
    return make<GD>({.learning_rate = 0.01,
                     .momentum = 0.9,
                     .dampening = 0.1,
                     .weight_decay = 0.01},
                    {.learning_rate = 1e-4,
                     .momentum = 0.9,
                     .dampening = 0.1,
                     .weight_decay = 0.01});
  }
  if (name == "nesterov") {
    return make<GD>({.learning_rate = 0.01, .momentum = 0.9, .nesterov = true},
                    {.learning_rate = 1e-4, .momentum = 0.9, .nesterov = true});
  }
  if (name == "adam") {
    return make<Adam<double>>({.learning_rate = 0.1}, {.learning_rate = 0.01});
  }
  if (name == "adam_l2_amsgrad") {
    return make<Adam<double>>({.learning_rate = 0.1,
                               .beta1 = 0.8,
                               .beta2 = 0.9,
                               .eps = 1e-6,
                               .weight_decay = 0.1,
                               .amsgrad = true},
                              {.learning_rate = 0.01,
                               .beta1 = 0.8,
                               .beta2 = 0.9,
                               .eps = 1e-6,
                               .weight_decay = 0.1,
                               .amsgrad = true});
  }
  if (name == "adamw") {
    return make<AdamW<double>>({.learning_rate = 0.1, .weight_decay = 0.1},
                               {.learning_rate = 0.01, .weight_decay = 0.1});
  }
  if (name == "rmsprop") {
    return make<RMSProp<double>>({.learning_rate = 0.01},
                                 {.learning_rate = 1e-3});
  }
  if (name == "rmsprop_centered") {
    return make<RMSProp<double>>({.learning_rate = 0.01,
                                  .alpha = 0.9,
                                  .weight_decay = 0.01,
                                  .momentum = 0.5,
                                  .centered = true},
                                 {.learning_rate = 1e-3,
                                  .alpha = 0.9,
                                  .weight_decay = 0.01,
                                  .momentum = 0.5,
                                  .centered = true});
  }
  if (name == "adagrad") {
    const AdagradOptions<double> options{.learning_rate = 0.1,
                                         .lr_decay = 0.05,
                                         .weight_decay = 0.01,
                                         .initial_accumulator_value = 0.1};
    AdagradOptions<double> rosenbrock_options = options;
    rosenbrock_options.learning_rate = 0.01;
    return make<Adagrad<double>>(options, rosenbrock_options);
  }
  if (name == "lbfgs") {
    return make<LBFGS<double>>({.max_iter = 1}, {.max_iter = 1});
  }
  if (name == "lbfgs_no_search") {
    const LBFGSOptions<double> options{
        .learning_rate = 0.5, .max_iter = 1, .line_search = LineSearch::none};
    return make<LBFGS<double>>(options, options);
  }
  throw std::invalid_argument("no optimizer " + name);
}

// Takes one step, evaluating the loss as step(closure) or as a training loop
// would, as the optimizer needs.
template <class T, class Loss>
void take_step(Optimizer<T>& optimizer, Loss loss) {
  if (optimizer.needs_closure()) {
    optimizer.step(loss);
    return;
  }
  optimizer.zero_grad();
  loss().backward();
  optimizer.step();
}

struct Point {
  double a;
  double b;
};

struct ReferenceTrajectory {
  const char* optimizer;
  const char* function;
  std::vector<Point> points;  // parameters after steps 1, 2 and 3
};

// torch.optim in PyTorch 1.13 (Debian's python3-torch), float64, printed
// by scripts/optimizer_reference.py. Quadratic from (0, 0), Rosenbrock from
// (-1.5, 2).
const std::vector<ReferenceTrajectory> torch_trajectories = {
    {"gd", "quadratic", {{0.06, -0.2}, {0.1188, -0.36}, {0.176424, -0.488}}},
    {"gd",
     "rosenbrock",
     {{-1.4845, 2.005},
      {-1.4722019039549998, 2.008974805},
      {-1.4623793778987508, 2.012142877820174}}},
    {"momentum",
     "quadratic",
     {{0.06, -0.2},
      {0.1669146, -0.5239820000000001},
      {0.314118254886, -0.9012018816200001}}},
    {"momentum",
     "rosenbrock",
     {{-1.4844985, 2.004998},
      {-1.4594776696325178, 2.0130716758388405},
      {-1.4303674046104558, 2.022442233390997}}},
    {"nesterov",
     "quadratic",
     {{0.114, -0.38}, {0.272268, -0.7776}, {0.466415016, -1.108352}}},
    {"nesterov",
     "rosenbrock",
     {{-1.47055, 2.0095},
      {-1.4399547018414556, 2.019364657495},
      {-1.4141161026591313, 2.027544523458192}}},
    {"adam",
     "quadratic",
     {{0.09999999983333333, -0.09999999995},
      {0.19989729258521102, -0.19958777222669788},
      {0.29961847654925267, -0.2984137284565159}}},
    {"adam",
     "rosenbrock",
     {{-1.4900000000006453, 2.009999999998},
      {-1.4800827625793491, 2.0199175641793925},
      {-1.4703270820088348, 2.0296717846564474}}},
    {"adam_l2_amsgrad",
     "quadratic",
     {{0.09999998333333611, -0.09999999500000024},
      {0.19987987832983414, -0.19955008859551365},
      {0.2995548712159556, -0.29826832741328274}}},
    {"adam_l2_amsgrad",
     "rosenbrock",
     {{-1.4900000000644538, 2.009999999799197},
      {-1.48008860159972, 2.0199110489807452},
      {-1.4703512543510644, 2.029644451228398}}},
    {"adamw",
     "quadratic",
     {{0.09999999983333333, -0.09999999995},
      {0.1988972925868777, -0.19858777222719787},
      {0.29663115153344133, -0.29543634859734286}}},
    {"adamw",
     "rosenbrock",
     {{-1.4885000000006452, 2.007999999998},
      {-1.4771028669987682, 2.015901353972304},
      {-1.4658970782393774, 2.023613261155373}}},
    {"rmsprop",
     "quadratic",
     {{0.0999999983333333, -0.09999999949999996},
      {0.16968255055992343, -0.16708203859549092},
      {0.22611143060833097, -0.2200177346212126}}},
    {"rmsprop",
     "rosenbrock",
     {{-1.4900000000064517, 2.00999999998},
      {-1.4835491520939998, 2.0164526524598525},
      {-1.478598290873509, 2.0214006795545383}}},
    {"rmsprop_centered",
     "quadratic",
     {{0.03333333314814815, -0.03333333327777779},
      {0.07535451522868675, -0.07507631103074196},
      {0.11858326741240084, -0.11758086200110825}}},
    {"rmsprop_centered",
     "rosenbrock",
     {{-1.4966666666673833, 2.0033333333311103},
      {-1.492518753867223, 2.0074816864229375},
      {-1.4883377521093872, 2.011663365188851}}},
    {"adagrad",
     "quadratic",
     {{0.09986139979312889, -0.09998750234276196},
      {0.1660022476324227, -0.16369256310059482},
      {0.21704717111478025, -0.211681485516249}}},
    {"adagrad",
     "rosenbrock",
     {{-1.4900000208075685, 2.009999799845893},
      {-1.4838743325985848, 2.0161267996306607},
      {-1.4793771353391687, 2.020621223999757}}},
    {"lbfgs",
     "quadratic",
     {{0.23076923076923078, -0.7692307692307693},
      {0.6154959050234372, -1.0715351228492969},
      {1.2833579114815021, -1.2184679094744073}}},
    {"lbfgs",
     "rosenbrock",
     {{-1.4172551712244599, 2.026691880250174},
      {-1.4200404011339869, 2.024868214861027},
      {-1.4201365045001701, 2.023710425144713}}},
    {"lbfgs_no_search",
     "quadratic",
     {{0.11538461538461539, -0.38461538461538464},
      {0.3654402602040264, -0.7280752537323408},
      {0.6743630340014384, -0.937450973386662}}},
    {"lbfgs_no_search",
     "rosenbrock",
     {{-1.1219512195121952, 2.1219512195121952},
      {-1.2562351611111637, 2.073956127358466},
      {-1.3762295024949944, 2.0441919156290185}}},
};

// An optimizer written outside the library, as a user would: sign gradient
// descent, p <- p - lr sign(g), which also keeps a running mean of |g|.
template <class T>
class SignDescent : public Optimizer<T> {
 public:
  SignDescent(ParameterList<T> parameters, const T& learning_rate,
              std::string name = "SignDescent")
      : Optimizer<T>(std::move(name), std::move(parameters), learning_rate),
        mean_abs_(
            this->add_buffer("mean_abs", T(0), BufferValues::non_negative)) {}

 protected:
  void update() override {
    using std::abs;
    for (std::size_t i = 0; i < this->parameters().size(); ++i) {
      Parameter<T>& p = this->mutable_parameters()[i];
      const T& lr = this->learning_rate(this->group_of(i));
      const std::span<T> values = p.values();
      const std::span<const T> grad = p.grad();
      const std::span<T> mean_abs = this->buffer(mean_abs_, i);
      for (std::size_t k = 0; k < values.size(); ++k) {
        mean_abs[k] = T(0.9) * mean_abs[k] + T(0.1) * abs(grad[k]);
        values[k] -= lr * T((grad[k] > T(0)) - (grad[k] < T(0)));
      }
    }
  }

 private:
  std::size_t mean_abs_;
};

// Relative difference, measured against 1 for values below 1.
double difference(double actual, double expected) {
  return std::abs(actual - expected) / std::max(1.0, std::abs(expected));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(optimizers, adjoint::testing::EmptyTapes)

BOOST_AUTO_TEST_CASE(first_steps_match_torch) {
  for (const ReferenceTrajectory& reference : torch_trajectories) {
    const bool on_rosenbrock = std::string(reference.function) == "rosenbrock";
    const Function function =
        on_rosenbrock ? rosenbrock<double> : quadratic<double>;
    Var<double> a{on_rosenbrock ? -1.5 : 0.0};
    Var<double> b{on_rosenbrock ? 2.0 : 0.0};
    const auto optimizer = factory(reference.optimizer)({a, b}, on_rosenbrock);
    for (std::size_t k = 0; k < reference.points.size(); ++k) {
      take_step(*optimizer, [&] { return function(a, b); });
      BOOST_TEST_INFO(reference.optimizer << " on " << reference.function
                                          << ", step " << k + 1);
      BOOST_TEST(difference(a.value(), reference.points[k].a) <= 1e-12);
      BOOST_TEST_INFO(reference.optimizer << " on " << reference.function
                                          << ", step " << k + 1);
      BOOST_TEST(difference(b.value(), reference.points[k].b) <= 1e-12);
    }
  }
}

// The first step of each optimizer on the quadratic from (0, 0), where the
// gradient is g = (-6, 20), written out from the formulas in the headers.
BOOST_AUTO_TEST_CASE(first_step_by_hand) {
  const auto first_step = [](Optimizer<double>& optimizer, Var<double>& a,
                             Var<double>& b) {
    take_step(optimizer, [&] { return quadratic(a, b); });
    return Point{a.value(), b.value()};
  };
  const auto check = [](Point actual, Point expected, const char* name) {
    BOOST_TEST_INFO(name);
    BOOST_TEST(difference(actual.a, expected.a) <= 1e-15);
    BOOST_TEST_INFO(name);
    BOOST_TEST(difference(actual.b, expected.b) <= 1e-15);
  };
  {
    // The momentum buffer starts as the gradient: p = -lr g.
    Var<double> a{0.0};
    Var<double> b{0.0};
    GradientDescent<double> optimizer({a, b},
                                      {.learning_rate = 0.01, .momentum = 0.9});
    check(first_step(optimizer, a, b), {0.06, -0.2}, "momentum");
  }
  {
    // Nesterov: b = g, then p = -lr (g + mu b) = -lr 1.9 g.
    Var<double> a{0.0};
    Var<double> b{0.0};
    GradientDescent<double> optimizer(
        {a, b}, {.learning_rate = 0.01, .momentum = 0.9, .nesterov = true});
    check(first_step(optimizer, a, b), {0.01 * 1.9 * 6, -0.01 * 1.9 * 20},
          "nesterov");
  }
  {
    // Adam: m / (1 - beta1) = g and v / (1 - beta2) = g^2, so
    // p = -lr g / (|g| + eps).
    Var<double> a{0.0};
    Var<double> b{0.0};
    Adam<double> optimizer({a, b}, {.learning_rate = 0.1});
    check(first_step(optimizer, a, b),
          {0.1 * 6 / (6 + 1e-8), -0.1 * 20 / (20 + 1e-8)}, "adam");
  }
  {
    // AdamW at p = 0: the decay term vanishes, so the step is Adam's.
    Var<double> a{0.0};
    Var<double> b{0.0};
    AdamW<double> optimizer({a, b}, {.learning_rate = 0.1});
    check(first_step(optimizer, a, b),
          {0.1 * 6 / (6 + 1e-8), -0.1 * 20 / (20 + 1e-8)}, "adamw");
  }
  {
    // RMSProp: v = (1 - alpha) g^2, p = -lr g / (sqrt(v) + eps).
    Var<double> a{0.0};
    Var<double> b{0.0};
    RMSProp<double> optimizer({a, b}, {.learning_rate = 0.01});
    check(first_step(optimizer, a, b),
          {0.01 * 6 / (std::sqrt(0.01 * 36) + 1e-8),
           -0.01 * 20 / (std::sqrt(0.01 * 400) + 1e-8)},
          "rmsprop");
  }
  {
    // Centered RMSProp: a = (1 - alpha) g, s = v - a^2 = 0.09 g^2 for
    // alpha = 0.9.
    Var<double> a{0.0};
    Var<double> b{0.0};
    RMSProp<double> optimizer(
        {a, b}, {.learning_rate = 0.01, .alpha = 0.9, .centered = true});
    check(first_step(optimizer, a, b),
          {0.01 * 6 / (std::sqrt(0.1 * 36 - 0.01 * 36) + 1e-8),
           -0.01 * 20 / (std::sqrt(0.1 * 400 - 0.01 * 400) + 1e-8)},
          "rmsprop centered");
  }
  {
    // Adagrad: s = s0 + g^2, p = -lr g / (sqrt(s) + eps).
    Var<double> a{0.0};
    Var<double> b{0.0};
    Adagrad<double> optimizer(
        {a, b}, {.learning_rate = 0.1, .initial_accumulator_value = 0.5});
    check(first_step(optimizer, a, b),
          {0.1 * 6 / (std::sqrt(36.5) + 1e-10),
           -0.1 * 20 / (std::sqrt(400.5) + 1e-10)},
          "adagrad");
  }
  {
    // L-BFGS starts along -g with t = lr / sum|g_i| = 1 / 26, and on this
    // quadratic the strong Wolfe conditions accept that step.
    Var<double> a{0.0};
    Var<double> b{0.0};
    LBFGS<double> optimizer({a, b}, {.max_iter = 1});
    check(first_step(optimizer, a, b), {6.0 / 26, -20.0 / 26}, "lbfgs");
  }
}

// Adam's second step in 50 digits, written out: g1 = -6 at a = 0, then
// g2 = 2 (a1 - 3) at a1.
BOOST_AUTO_TEST_CASE(adam_in_fifty_digits) {
  using R = Reference;
  Var<R> a{R(0)};
  Var<R> b{R(0)};
  Adam<R> optimizer({a, b}, {.learning_rate = R("0.1"),
                             .beta1 = R("0.9"),
                             .beta2 = R("0.999"),
                             .eps = R("1e-8")});
  const auto loss = [&] { return quadratic(a, b); };
  take_step(optimizer, loss);
  const R a1 = R("0.1") * 6 / (6 + R("1e-8"));
  BOOST_TEST(abs(a.value() - a1) <= R("1e-45"));
  take_step(optimizer, loss);
  const R g1 = -6;
  const R g2 = 2 * (a1 - 3);
  const R m = R("0.09") * g1 + R("0.1") * g2;
  const R v = R("0.999") * R("0.001") * g1 * g1 + R("0.001") * g2 * g2;
  const R a2 = a1 - R("0.1") / (1 - R("0.81")) * m /
                        (sqrt(v) / sqrt(1 - R("0.998001")) + R("1e-8"));
  BOOST_TEST(abs(a.value() - a2) <= R("1e-45"));
  // The double trajectory agrees with the 50-digit one to rounding.
  BOOST_TEST(std::abs(0.19989729258521102 - static_cast<double>(a2)) <= 1e-15);
}

BOOST_AUTO_TEST_CASE(float_parameters) {
  Var<float> a{0.0f};
  Var<float> b{0.0f};
  Adam<float> optimizer({a, b}, {.learning_rate = 0.1f});
  take_step(optimizer, [&] { return quadratic(a, b); });
  BOOST_TEST(std::abs(a.value() - 0.1f) <= 1e-6f);
  LBFGS<float> lbfgs({a, b}, {.max_iter = 50});
  lbfgs.step([&] { return quadratic(a, b); });
  BOOST_TEST(std::abs(a.value() - 3.0f) <= 1e-4f);
  BOOST_TEST(std::abs(b.value() + 1.0f) <= 1e-4f);
}

BOOST_AUTO_TEST_CASE(tensor_and_scalar_parameters_agree) {
  // One Tensor parameter of two elements moves as two Var parameters do.
  Tensor<double> p = adjoint::parameter(Tensor<double>{-1.5, 2.0});
  Var<double> a{-1.5};
  Var<double> b{2.0};
  RMSProp<double> on_tensor({p}, {.learning_rate = 1e-3, .momentum = 0.5});
  RMSProp<double> on_vars({a, b}, {.learning_rate = 1e-3, .momentum = 0.5});
  const Tensor<double> one{1.0};
  for (int k = 0; k < 5; ++k) {
    take_step(on_tensor, [&] {
      const Tensor<double> x = slice(p, 0, 0, 1);
      const Tensor<double> y = slice(p, 0, 1, 2);
      return sum(square(one - x) + 100.0 * square(y - x * x));
    });
    take_step(on_vars, [&] { return rosenbrock(a, b); });
  }
  BOOST_TEST(p.values()[0] == a.value());
  BOOST_TEST(p.values()[1] == b.value());
}

// Every optimizer and schedule compiles and descends for every scalar type
// of the library, including 50-digit arithmetic.
BOOST_AUTO_TEST_CASE_TEMPLATE(every_optimizer_every_type, T,
                              adjoint::testing::ScalarTypes) {
  using P = std::vector<Parameter<T>>;
  const auto descends = [](const char* name, auto make) {
    Var<T> a{T(0)};
    Var<T> b{T(0)};
    auto optimizer = make(P{a, b});
    const auto loss = [&] { return quadratic(a, b); };
    const T start = loss().value();
    clip_grad_norm(P{a, b}, T(100));
    ExponentialLR<T> schedule(*optimizer, T(0.99));
    for (int k = 0; k < 5; ++k) {
      take_step(*optimizer, loss);
      schedule.step();
    }
    const T end = loss().value();
    adjoint::Tape<T>::active().clear();
    BOOST_TEST_INFO(name);
    BOOST_TEST(static_cast<double>(end) < static_cast<double>(start));
  };
  descends("gd", [](P p) {
    return std::make_unique<GradientDescent<T>>(
        std::move(p),
        GradientDescentOptions<T>{
            .learning_rate = T(0.01), .momentum = T(0.5), .nesterov = true});
  });
  descends("adam", [](P p) {
    return std::make_unique<Adam<T>>(
        std::move(p), AdamOptions<T>{.learning_rate = T(0.1), .amsgrad = true});
  });
  descends("adamw", [](P p) {
    return std::make_unique<AdamW<T>>(std::move(p),
                                      AdamWOptions<T>{.learning_rate = T(0.1)});
  });
  descends("rmsprop", [](P p) {
    return std::make_unique<RMSProp<T>>(
        std::move(p), RMSPropOptions<T>{.momentum = T(0.5), .centered = true});
  });
  descends("adagrad", [](P p) {
    return std::make_unique<Adagrad<T>>(
        std::move(p), AdagradOptions<T>{.learning_rate = T(0.1)});
  });
  descends("lbfgs", [](P p) {
    return std::make_unique<LBFGS<T>>(std::move(p),
                                      LBFGSOptions<T>{.max_iter = 2});
  });
}

BOOST_AUTO_TEST_CASE(closure_steps_of_one_evaluation) {
  // Optimizers that evaluate once per step call the closure once, or not
  // at all when given the current loss.
  Var<double> w{0.0};
  int evaluations = 0;
  const auto loss = [&] {
    ++evaluations;
    return square(2.0 - w);
  };
  Adam<double> optimizer({w}, {.learning_rate = 0.1});
  BOOST_TEST(optimizer.step(loss) == 4.0);
  BOOST_TEST(evaluations == 1);
  BOOST_TEST(std::abs(w.value() - 0.1) <= 1e-8);
  w.zero_grad();
  loss().backward();
  BOOST_TEST(optimizer.step(loss, 1.0) == 1.0);
  BOOST_TEST(evaluations == 2);
  BOOST_TEST(optimizer.steps() == 2u);
}

BOOST_AUTO_TEST_SUITE(lbfgs)

BOOST_AUTO_TEST_CASE(tutorial_in_three_evaluations) {
  // J(w) = sum((2x - w x)^2) over x = 1, 2, 3: J'(0) = -56. The first step
  // t = 1/56 lands on w = 1, where J' = -28 meets the Wolfe conditions. The
  // pair s = 1, y = 28 gives the exact inverse curvature 1/28, so the
  // second iteration steps to w = 2, where the gradient is 0.
  Var<double> w{0.0};
  int evaluations = 0;
  LBFGS<double> optimizer({w});
  const double first = optimizer.step([&] {
    ++evaluations;
    Var<double> loss;
    for (double x : {1.0, 2.0, 3.0}) loss += square(2 * x - w * x);
    return loss;
  });
  BOOST_TEST(first == 56.0);
  BOOST_TEST(w.value() == 2.0);
  BOOST_TEST(evaluations == 3);
  BOOST_TEST(optimizer.evaluations() == 3u);
  BOOST_TEST(optimizer.iterations() == 2u);
}

BOOST_AUTO_TEST_CASE(rosenbrock_to_one_in_1e8) {
  Var<double> a{-1.5};
  Var<double> b{2.0};
  LBFGS<double> optimizer(
      {a, b},
      {.max_iter = 500, .tolerance_grad = 1e-12, .tolerance_change = 1e-15});
  optimizer.step([&] { return rosenbrock(a, b); });
  BOOST_TEST(std::abs(a.value() - 1.0) <= 1e-8);
  BOOST_TEST(std::abs(b.value() - 1.0) <= 1e-8);
  BOOST_TEST(optimizer.iterations() < 100u);
}

BOOST_AUTO_TEST_CASE(rosenbrock_with_minimize) {
  Var<double> a{-1.5};
  Var<double> b{2.0};
  // Each step is one iteration. The tolerances are tighter than the
  // defaults, which end a step once g'd > -1e-9, so that the iterations go
  // on until minimize() reaches the gradient tolerance.
  LBFGS<double> optimizer(
      {a, b},
      {.max_iter = 1, .tolerance_grad = 1e-12, .tolerance_change = 1e-15});
  // Near (1, 1) the loss is about 1e-18, so rounding stops the line search
  // with the gradient near 1e-8; the step tolerance ends the run there.
  StopCriteria criteria;
  criteria.gradient_tolerance = 1e-10;
  criteria.step_tolerance = 1e-14;
  criteria.max_steps = 200;
  std::size_t evaluations = 0;
  const auto result = minimize(
      optimizer,
      [&] {
        ++evaluations;
        return rosenbrock(a, b);
      },
      criteria);
  BOOST_TEST(converged(result.reason));
  // minimize() evaluates once per step and hands that evaluation to the
  // optimizer, whose own evaluations are the line search's only.
  BOOST_TEST(evaluations == result.steps + 1 + optimizer.evaluations());
  BOOST_TEST(std::abs(a.value() - 1.0) <= 1e-8);
  BOOST_TEST(std::abs(b.value() - 1.0) <= 1e-8);
}

// With one correction pair the search directions are poorer; the run still
// gets close, though not to 1e-8.
BOOST_AUTO_TEST_CASE(short_history_still_converges) {
  Var<double> a{-1.5};
  Var<double> b{2.0};
  LBFGS<double> optimizer({a, b}, {.max_iter = 2000,
                                   .tolerance_grad = 1e-12,
                                   .tolerance_change = 1e-15,
                                   .history_size = 1});
  optimizer.step([&] { return rosenbrock(a, b); });
  BOOST_TEST(std::abs(a.value() - 1.0) <= 1e-6);
  BOOST_TEST(std::abs(b.value() - 1.0) <= 1e-6);
}

BOOST_AUTO_TEST_CASE(stops_at_a_stationary_point) {
  Var<double> a{3.0};
  Var<double> b{-1.0};
  int evaluations = 0;
  LBFGS<double> optimizer({a, b});
  const double loss = optimizer.step([&] {
    ++evaluations;
    return quadratic(a, b);
  });
  BOOST_TEST(loss == 0.0);
  BOOST_TEST(evaluations == 1);
  BOOST_TEST(a.value() == 3.0);
}

BOOST_AUTO_TEST_CASE(respects_max_eval) {
  Var<double> a{-1.5};
  Var<double> b{2.0};
  int evaluations = 0;
  LBFGS<double> optimizer({a, b}, {.max_iter = 100, .max_eval = 10});
  optimizer.step([&] {
    ++evaluations;
    return rosenbrock(a, b);
  });
  // The limit is checked after each iteration, whose line search may take
  // several evaluations, as in PyTorch.
  BOOST_TEST(evaluations >= 10);
  BOOST_TEST(evaluations <= 10 + 25);
}

BOOST_AUTO_TEST_CASE(current_loss_skips_first_evaluation) {
  Var<double> w{0.0};
  int evaluations = 0;
  const auto loss = [&] {
    ++evaluations;
    Var<double> sum;
    for (double x : {1.0, 2.0, 3.0}) sum += square(2 * x - w * x);
    return sum;
  };
  loss().backward();
  LBFGS<double> optimizer({w});
  BOOST_TEST(optimizer.step(loss, 56.0) == 56.0);
  BOOST_TEST(w.value() == 2.0);
  BOOST_TEST(evaluations == 3);  // the first outside, two in the step
}

BOOST_AUTO_TEST_CASE(non_finite_start_raises) {
  Var<double> w{0.0};
  LBFGS<double> optimizer({w});
  BOOST_CHECK_EXCEPTION(
      optimizer.step([&] { return sqrt(w); }), std::runtime_error,
      message_contains({"LBFGS", "gradient element 0", "inf"}));
  BOOST_CHECK_EXCEPTION(optimizer.step([&] { return log(w - 1.0); }),
                        std::runtime_error,
                        message_contains({"LBFGS", "loss", "nan"}));
  BOOST_TEST(w.value() == 0.0);
}

BOOST_AUTO_TEST_CASE(line_search_backs_off_from_overflow) {
  // exp(10 w) overflows beyond w = 71; the first trial step of 1 / |g| from
  // w = -1 is fine, and later trials that overflow count as failed
  // decreases, so the search shrinks them instead of stepping into inf.
  Var<double> w{-1.0};
  LBFGS<double> optimizer({w}, {.max_iter = 50});
  optimizer.step([&] { return exp(10.0 * w) + square(w - 80.0); });
  BOOST_TEST(std::isfinite(w.value()));
  BOOST_TEST(w.value() < 71.0);
}

BOOST_AUTO_TEST_CASE(step_without_closure_raises) {
  Var<double> w{0.0};
  LBFGS<double> optimizer({w});
  BOOST_CHECK_EXCEPTION(optimizer.step(), std::invalid_argument,
                        message_contains({"LBFGS", "step(closure)"}));
}

BOOST_AUTO_TEST_CASE(closure_without_recording_raises) {
  Var<double> w{0.0};
  LBFGS<double> optimizer({w});
  BOOST_CHECK_EXCEPTION(
      optimizer.step([] { return Var<double>::constant(1.0); }),
      std::invalid_argument,
      message_contains({"LBFGS", "depends on no parameter"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(groups)

BOOST_AUTO_TEST_CASE(each_group_has_its_learning_rate) {
  Var<double> a{0.0};
  Var<double> b{0.0};
  GradientDescent<double> optimizer(
      std::vector<ParameterGroup<double>>{{{a}, std::nullopt}, {{b}, 0.001}},
      {.learning_rate = 0.01});
  BOOST_TEST(optimizer.group_count() == 2u);
  BOOST_TEST(optimizer.group_of(0) == 0u);
  BOOST_TEST(optimizer.group_of(1) == 1u);
  BOOST_TEST(optimizer.learning_rate(0) == 0.01);
  BOOST_TEST(optimizer.learning_rate(1) == 0.001);
  take_step(optimizer, [&] { return quadratic(a, b); });
  BOOST_TEST(a.value() == 0.01 * 6);
  BOOST_TEST(b.value() == -0.001 * 20);

  optimizer.set_learning_rate(1, 0.002);
  BOOST_TEST(optimizer.learning_rate(1) == 0.002);
  optimizer.set_learning_rate(0.5);
  BOOST_TEST(optimizer.learning_rate(0) == 0.5);
  BOOST_TEST(optimizer.learning_rate(1) == 0.5);
}

BOOST_AUTO_TEST_CASE(adam_groups) {
  Var<double> a{0.0};
  Var<double> b{0.0};
  Adam<double> optimizer(
      std::vector<ParameterGroup<double>>{{{a}, 0.1}, {{b}, 0.2}}, {});
  take_step(optimizer, [&] { return quadratic(a, b); });
  BOOST_TEST(difference(a.value(), 0.1 * 6 / (6 + 1e-8)) <= 1e-15);
  BOOST_TEST(difference(b.value(), -0.2 * 20 / (20 + 1e-8)) <= 1e-15);
}

BOOST_AUTO_TEST_CASE(group_errors) {
  Var<double> a{0.0};
  Var<double> b{0.0};
  BOOST_CHECK_EXCEPTION(
      (GradientDescent<double>(
          std::vector<ParameterGroup<double>>{{{a}, std::nullopt}, {{}, 0.1}},
          {})),
      std::invalid_argument, message_contains({"group 1", "empty"}));
  BOOST_CHECK_EXCEPTION(
      (GradientDescent<double>(
          std::vector<ParameterGroup<double>>{{{a}, std::nullopt}, {{a}, 0.1}},
          {})),
      std::invalid_argument, message_contains({"parameters 0 and 1"}));
  BOOST_CHECK_EXCEPTION(
      (Adam<double>(std::vector<ParameterGroup<double>>{{{a}, -0.1}}, {})),
      std::invalid_argument, message_contains({"learning_rate", "-0.1"}));
  BOOST_CHECK_EXCEPTION(
      (Adam<double>(std::vector<ParameterGroup<double>>{}, {})),
      std::invalid_argument, message_contains({"Adam", "empty"}));
  GradientDescent<double> optimizer({a, b}, 0.1);
  BOOST_CHECK_EXCEPTION(optimizer.learning_rate(1), std::invalid_argument,
                        message_contains({"group 1", "1 parameter groups"}));
  BOOST_CHECK_EXCEPTION(optimizer.set_learning_rate(0, -1.0),
                        std::invalid_argument,
                        message_contains({"learning_rate", "-1"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(settings)

BOOST_AUTO_TEST_CASE(invalid_settings_name_setting_and_value) {
  Var<double> w{0.0};
  const auto rejects = [&](auto make, std::vector<std::string> parts) {
    BOOST_CHECK_EXCEPTION(make(), std::invalid_argument,
                          message_contains(std::move(parts)));
  };
  using GD = GradientDescent<double>;
  rejects([&] { GD({w}, -0.4); }, {"GradientDescent", "learning_rate", "-0.4"});
  rejects([&] { GD({w}, {.learning_rate = 0.1, .momentum = -0.9}); },
          {"momentum", "-0.9"});
  rejects([&] { GD({w}, {.learning_rate = 0.1, .dampening = -1}); },
          {"dampening", "-1"});
  rejects([&] { GD({w}, {.learning_rate = 0.1, .weight_decay = -0.01}); },
          {"weight_decay", "-0.01"});
  rejects([&] { GD({w}, {.learning_rate = 0.1, .nesterov = true}); },
          {"momentum (with nesterov)", "0"});
  rejects(
      [&] {
        GD({w}, {.learning_rate = 0.1,
                 .momentum = 0.9,
                 .dampening = 0.1,
                 .nesterov = true});
      },
      {"dampening (with nesterov)", "0.1"});
  rejects([&] { Adam<double>({w}, {.beta1 = 1.0}); },
          {"Adam", "beta1", "1", "[0, 1)"});
  rejects([&] { Adam<double>({w}, {.beta2 = -0.5}); }, {"beta2", "-0.5"});
  rejects([&] { Adam<double>({w}, {.eps = -1e-8}); }, {"eps", "-1e-08"});
  rejects([&] { AdamW<double>({w}, {.learning_rate = -1}); },
          {"AdamW", "learning_rate", "-1"});
  rejects([&] { AdamW<double>({w}, {.beta1 = 1.5}); }, {"AdamW", "beta1"});
  rejects([&] { RMSProp<double>({w}, {.alpha = 1.0}); },
          {"RMSProp", "alpha", "1"});
  rejects([&] { RMSProp<double>({w}, {.momentum = -0.1}); },
          {"momentum", "-0.1"});
  rejects([&] { Adagrad<double>({w}, {.lr_decay = -1}); },
          {"Adagrad", "lr_decay", "-1"});
  rejects([&] { Adagrad<double>({w}, {.initial_accumulator_value = -1}); },
          {"initial_accumulator_value", "-1"});
  rejects([&] { LBFGS<double>({w}, {.max_iter = 0}); },
          {"LBFGS", "max_iter", "0"});
  rejects([&] { LBFGS<double>({w}, {.history_size = 0}); },
          {"history_size", "0"});
  rejects([&] { LBFGS<double>({w}, {.tolerance_grad = -1}); },
          {"tolerance_grad", "-1"});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  rejects([&] { Adam<double>({w}, {.learning_rate = nan}); },
          {"learning_rate", "nan"});
  rejects([&] { Adam<double>({w}, {.beta1 = nan}); }, {"beta1", "nan"});
  rejects([&] { Adam<double>(std::vector<Parameter<double>>{}); },
          {"Adam", "empty"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(state)

// Runs `steps` steps of the optimizer built by make() on Rosenbrock, saves
// its state and runs `more` steps. Then builds a second optimizer at the
// saved point, loads the state through its text form and runs `more` steps.
// Both must end bit for bit at the same point.
template <class Make>
void check_resume(const char* name, Make make, int steps, int more) {
  Var<double> a{-1.5};
  Var<double> b{2.0};
  auto first = make(std::vector<Parameter<double>>{a, b});
  const auto loss = [&] { return rosenbrock(a, b); };
  for (int k = 0; k < steps; ++k) take_step(*first, loss);
  std::ostringstream saved;
  write_state(saved, first->state());
  const double a_saved = a.value();
  const double b_saved = b.value();
  for (int k = 0; k < more; ++k) take_step(*first, loss);

  Var<double> c{a_saved};
  Var<double> d{b_saved};
  auto second = make(std::vector<Parameter<double>>{c, d});
  std::istringstream in(saved.str());
  second->load_state(read_state<double>(in));
  BOOST_TEST_INFO(name);
  BOOST_TEST(second->steps() == static_cast<std::uint64_t>(steps));
  const auto resumed_loss = [&] { return rosenbrock(c, d); };
  for (int k = 0; k < more; ++k) take_step(*second, resumed_loss);
  BOOST_TEST_INFO(name);
  BOOST_TEST(c.value() == a.value());
  BOOST_TEST_INFO(name);
  BOOST_TEST(d.value() == b.value());
  BOOST_TEST_INFO(name);
  BOOST_TEST((second->state() == first->state()));
}

BOOST_AUTO_TEST_CASE(resumed_runs_continue_identically) {
  using P = std::vector<Parameter<double>>;
  check_resume(
      "momentum",
      [](P p) {
        return std::make_unique<GradientDescent<double>>(
            std::move(p),
            GradientDescentOptions<double>{
                .learning_rate = 1e-4, .momentum = 0.9, .dampening = 0.1});
      },
      7, 5);
  check_resume(
      "adam amsgrad",
      [](P p) {
        return std::make_unique<Adam<double>>(
            std::move(p),
            AdamOptions<double>{.learning_rate = 0.01, .amsgrad = true});
      },
      7, 5);
  check_resume(
      "adamw",
      [](P p) { return std::make_unique<AdamW<double>>(std::move(p)); }, 7, 5);
  check_resume(
      "rmsprop",
      [](P p) {
        return std::make_unique<RMSProp<double>>(
            std::move(p),
            RMSPropOptions<double>{
                .learning_rate = 1e-3, .momentum = 0.5, .centered = true});
      },
      7, 5);
  check_resume(
      "adagrad",
      [](P p) {
        return std::make_unique<Adagrad<double>>(
            std::move(p), AdagradOptions<double>{.lr_decay = 0.1});
      },
      7, 5);
  check_resume(
      "lbfgs",
      [](P p) {
        return std::make_unique<LBFGS<double>>(
            std::move(p),
            LBFGSOptions<double>{.max_iter = 1, .history_size = 3});
      },
      7, 5);
}

BOOST_AUTO_TEST_CASE(text_form_round_trips_exactly) {
  Var<double> a{-1.5};
  Var<double> b{2.0};
  Adam<double> optimizer({a, b}, {.learning_rate = 0.01});
  for (int k = 0; k < 3; ++k) {
    take_step(optimizer, [&] { return rosenbrock(a, b); });
  }
  optimizer.set_learning_rate(1.0 / 3);
  std::ostringstream out;
  write_state(out, optimizer.state());
  std::istringstream in(out.str());
  const OptimizerState<double> read = read_state<double>(in);
  BOOST_TEST((read == optimizer.state()));
  BOOST_TEST(read.optimizer == "Adam");
  BOOST_TEST(read.steps == 3u);
  BOOST_TEST(read.learning_rates.at(0) == 1.0 / 3);
  BOOST_TEST(read.buffers.count("exp_avg.1") == 1u);
}

BOOST_AUTO_TEST_CASE(fifty_digit_state_round_trips) {
  using R = Reference;
  Var<R> w{R(0)};
  Adam<R> optimizer({w}, {.learning_rate = R(1) / 3});
  optimizer.step([&] { return square(R(2) - w * R(3)); });
  std::ostringstream out;
  write_state(out, optimizer.state());
  std::istringstream in(out.str());
  BOOST_TEST((read_state<R>(in) == optimizer.state()));
}

BOOST_AUTO_TEST_CASE(mismatched_states_are_rejected) {
  Var<double> a{1.0};
  Var<double> b{2.0};
  Adam<double> adam({a, b});
  AdamW<double> adamw({a, b});
  BOOST_CHECK_EXCEPTION(adamw.load_state(adam.state()), std::invalid_argument,
                        message_contains({"AdamW", "Adam optimizer"}));

  Tensor<double> t = adjoint::parameter(Tensor<double>{1.0, 2.0});
  Adam<double> other({a, t});
  BOOST_CHECK_EXCEPTION(other.load_state(adam.state()), std::invalid_argument,
                        message_contains({"[1, 1]", "[1, 2]"}));

  OptimizerState<double> missing = adam.state();
  missing.buffers.erase("exp_avg_sq.1");
  BOOST_CHECK_EXCEPTION(adam.load_state(missing), std::invalid_argument,
                        message_contains({"exp_avg_sq.1"}));

  OptimizerState<double> short_buffer = adam.state();
  short_buffer.buffers["exp_avg.0"] = {};
  short_buffer.steps = 9;
  BOOST_CHECK_EXCEPTION(adam.load_state(short_buffer), std::invalid_argument,
                        message_contains({"exp_avg.0", "0 values"}));
  BOOST_TEST(adam.steps() == 0u);  // a rejected state changes nothing
}

BOOST_AUTO_TEST_CASE(malformed_text_is_rejected) {
  Var<double> w{1.0};
  Adam<double> optimizer({w});
  std::ostringstream out;
  write_state(out, optimizer.state());
  const std::string text = out.str();
  const auto rejects = [](const std::string& input,
                          std::vector<std::string> parts) {
    std::istringstream in(input);
    BOOST_CHECK_EXCEPTION(read_state<double>(in), std::invalid_argument,
                          message_contains(std::move(parts)));
  };
  rejects("", {"read_state", "truncated"});
  rejects("not-a-state 1", {"adjoint-optimizer-state", "not-a-state"});
  rejects("adjoint-optimizer-state 2", {"version 2"});
  rejects(text.substr(0, text.size() / 2), {"read_state"});
  std::string corrupt = text;
  corrupt.replace(corrupt.find("learning_rates 1 ") + 17, 5, "x.001");
  rejects(corrupt, {"invalid number", "x.001"});
  rejects("adjoint-optimizer-state 1 optimizer Adam steps -3", {"steps", "-3"});
  rejects(
      "adjoint-optimizer-state 1 optimizer Adam steps 0 learning_rates "
      "99999999999",
      {"corrupt"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(divergence)

BOOST_AUTO_TEST_CASE(minimize_reports_diverging_optimizers) {
  // lr above 1 / sum(x^2) = 1/14 makes gradient descent on the tutorial
  // loss overshoot further each step; heavy momentum at a smaller rate
  // does too.
  const auto tutorial = [](const Var<double>& w) {
    Var<double> loss;
    for (double x : {1.0, 2.0, 3.0}) loss += square(2 * x - w * x);
    return loss;
  };
  StopCriteria criteria;
  criteria.loss_tolerance = 1e-12;
  {
    Var<double> w{0.0};
    GradientDescent<double> optimizer({w}, 0.1);
    const auto result = minimize(
        optimizer, [&] { return tutorial(w); }, criteria);
    BOOST_TEST(diverged(result.reason));
  }
  {
    Var<double> w{0.0};
    GradientDescent<double> optimizer(
        {w}, {.learning_rate = 0.07, .momentum = 0.99, .nesterov = true});
    criteria.max_steps = 100000;
    const auto result = minimize(
        optimizer, [&] { return tutorial(w); }, criteria);
    BOOST_TEST(diverged(result.reason));
  }
  {
    // The same loss converges with Adam at a rate where plain gradient
    // descent diverges, since Adam's steps are bounded by about lr. Its
    // loss rises for several steps after overshooting the minimum, which
    // minimize() does not count as divergence because it stays below the
    // starting loss.
    Var<double> w{0.0};
    Adam<double> optimizer({w}, {.learning_rate = 0.1});
    criteria.loss_tolerance = 1e-6;
    criteria.max_steps = 5000;
    const auto result = minimize(
        optimizer, [&] { return tutorial(w); }, criteria);
    BOOST_TEST(converged(result.reason));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(extension)

BOOST_AUTO_TEST_CASE(user_optimizer_steps_and_resumes) {
  Var<double> a{0.0};
  Var<double> b{0.0};
  SignDescent<double> optimizer({a, b}, 0.5);
  take_step(optimizer, [&] { return quadratic(a, b); });
  BOOST_TEST(a.value() == 0.5);   // g = -6
  BOOST_TEST(b.value() == -0.5);  // g = 20
  const OptimizerState<double> state = optimizer.state();
  BOOST_TEST(state.optimizer == "SignDescent");
  BOOST_TEST(state.buffers.at("mean_abs.0").at(0) == 0.1 * 6.0);
  BOOST_TEST(state.buffers.at("mean_abs.1").at(0) == 0.1 * 20.0);

  // minimize() drives it like a built-in optimizer.
  StopCriteria criteria;
  criteria.loss_tolerance = 1e-20;
  const auto result = minimize(
      optimizer, [&] { return quadratic(a, b); }, criteria);
  BOOST_TEST(converged(result.reason));
  BOOST_TEST(a.value() == 3.0);
  BOOST_TEST(b.value() == -1.0);

  Var<double> c{0.5};
  Var<double> d{-0.5};
  SignDescent<double> resumed({c, d}, 0.5);
  resumed.load_state(state);
  BOOST_TEST((resumed.state() == state));
  OptimizerState<double> negative = state;
  negative.buffers["mean_abs.1"] = {-1.0};
  BOOST_CHECK_EXCEPTION(
      resumed.load_state(negative), std::invalid_argument,
      message_contains({"SignDescent", "mean_abs.1", "-1", ">= 0"}));
}

BOOST_AUTO_TEST_CASE(names_must_be_words) {
  Var<double> w{0.0};
  BOOST_CHECK_EXCEPTION(SignDescent<double>({w}, 0.1, "Sign Descent"),
                        std::invalid_argument,
                        message_contains({"optimizer name", "'Sign Descent'"}));
  BOOST_CHECK_EXCEPTION(SignDescent<double>({w}, 0.1, ""),
                        std::invalid_argument,
                        message_contains({"optimizer name", "''"}));
  OptimizerState<double> state = SignDescent<double>({w}, 0.1).state();
  state.buffers["mean abs"] = {1.0};
  std::ostringstream out;
  BOOST_CHECK_EXCEPTION(write_state(out, state), std::invalid_argument,
                        message_contains({"write_state", "'mean abs'"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(robustness)

BOOST_AUTO_TEST_CASE(failed_step_is_not_counted) {
  Var<double> w{0.0};
  Adam<double> optimizer({w}, {.learning_rate = 0.1});
  BOOST_CHECK_THROW(optimizer.step([] { return Var<double>::constant(1.0); }),
                    std::invalid_argument);
  BOOST_TEST(optimizer.steps() == 0u);
  // The retry is a first step, with the first step's bias correction.
  optimizer.step([&] { return square(2.0 - w); });
  BOOST_TEST(optimizer.steps() == 1u);
  BOOST_TEST(std::abs(w.value() - 0.1 * 4 / (4 + 1e-8)) <= 1e-15);
}

BOOST_AUTO_TEST_CASE(crafted_states_are_rejected) {
  Var<double> a{1.0};
  Var<double> b{2.0};
  Adam<double> adam({a, b});
  OptimizerState<double> last_step = adam.state();
  last_step.steps = std::numeric_limits<std::uint64_t>::max();
  BOOST_CHECK_EXCEPTION(adam.load_state(last_step), std::invalid_argument,
                        message_contains({"step count"}));
  OptimizerState<double> negative = adam.state();
  negative.buffers["exp_avg_sq.0"] = {-1e-3};
  BOOST_CHECK_EXCEPTION(adam.load_state(negative), std::invalid_argument,
                        message_contains({"exp_avg_sq.0", ">= 0"}));
  OptimizerState<double> not_finite = adam.state();
  not_finite.buffers["exp_avg.1"] = {std::numeric_limits<double>::infinity()};
  BOOST_CHECK_EXCEPTION(adam.load_state(not_finite), std::invalid_argument,
                        message_contains({"exp_avg.1", "inf", "finite"}));

  LBFGS<double> lbfgs({a, b});
  OptimizerState<double> started = lbfgs.state();
  started.buffers["lbfgs.scalars"] = {1, 1, 0, 5, 0};  // 5 iterations
  BOOST_CHECK_EXCEPTION(lbfgs.load_state(started), std::invalid_argument,
                        message_contains({"lbfgs.direction", "expected 2"}));
  OptimizerState<double> bad_count = lbfgs.state();
  bad_count.buffers["lbfgs.scalars"] = {1, 1, 0, -1e300, 0};
  BOOST_CHECK_EXCEPTION(lbfgs.load_state(bad_count), std::invalid_argument,
                        message_contains({"iteration count"}));
  bad_count.buffers["lbfgs.scalars"] = {1, 1, 0, 2.5, 0};
  BOOST_CHECK_EXCEPTION(lbfgs.load_state(bad_count), std::invalid_argument,
                        message_contains({"iteration count", "2.5"}));
  BOOST_TEST(lbfgs.iterations() == 0u);
}

BOOST_AUTO_TEST_CASE(huge_max_iter_saturates_max_eval) {
  Var<double> w{0.0};
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 5 * 4 + 7;
  LBFGS<double> optimizer({w}, {.max_iter = huge});
  BOOST_TEST(*optimizer.options().max_eval ==
             std::numeric_limits<std::size_t>::max());
  LBFGS<double> ordinary({w}, {.max_iter = 10});
  BOOST_TEST(*ordinary.options().max_eval == 12u);
}

BOOST_AUTO_TEST_CASE(group_of_unknown_parameter) {
  Var<double> w{0.0};
  GradientDescent<double> optimizer({w}, 0.1);
  BOOST_CHECK_EXCEPTION(optimizer.group_of(5), std::invalid_argument,
                        message_contains({"parameter 5", "1 parameters"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()
