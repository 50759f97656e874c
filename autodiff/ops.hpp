#pragma once

// Every built-in operator, one header per family. The element-wise families
// define each operator for Var and for Tensor side by side.

#include "autodiff/ops/activation.hpp"
#include "autodiff/ops/arithmetic.hpp"
#include "autodiff/ops/exponential.hpp"
#include "autodiff/ops/layout.hpp"
#include "autodiff/ops/linalg.hpp"
#include "autodiff/ops/piecewise.hpp"
#include "autodiff/ops/power.hpp"
#include "autodiff/ops/reduction.hpp"
#include "autodiff/ops/softmax.hpp"
#include "autodiff/ops/trigonometric.hpp"
