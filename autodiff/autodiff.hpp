#pragma once

// The reverse-mode graph: Var and Tensor, the tape, every operator and the
// gradient checker.

#include "autodiff/gradient_check.hpp"
#include "autodiff/node.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/var.hpp"
