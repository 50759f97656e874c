#pragma once

// The reverse-mode graph: Var and Tensor, the tape, every operator, the
// gradient checker, the precision audit and the graph recorder.

#include "autodiff/gradient_check.hpp"
#include "autodiff/graph.hpp"
#include "autodiff/node.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/precision_audit.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/var.hpp"
