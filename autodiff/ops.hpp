#pragma once

// Every built-in scalar operator, one header per family.

#include "autodiff/ops/activation.hpp"
#include "autodiff/ops/arithmetic.hpp"
#include "autodiff/ops/exponential.hpp"
#include "autodiff/ops/piecewise.hpp"
#include "autodiff/ops/power.hpp"
#include "autodiff/ops/trigonometric.hpp"
