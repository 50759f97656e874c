#pragma once

// The scalar reverse-mode graph: Var, the tape, every operator and the
// gradient checker.

#include "autodiff/gradient_check.hpp"
#include "autodiff/node.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/var.hpp"
