#pragma once

// Optimizers and the training loop helper.

#include "optim/gradient_descent.hpp"
#include "optim/minimize.hpp"
#include "optim/optimizer.hpp"
