#pragma once

// Optimizers, learning-rate schedules, gradient clipping and the training
// loop helper.

#include "optim/adagrad.hpp"
#include "optim/adam.hpp"
#include "optim/clip.hpp"
#include "optim/gradient_descent.hpp"
#include "optim/lbfgs.hpp"
#include "optim/minimize.hpp"
#include "optim/optimizer.hpp"
#include "optim/parameter.hpp"
#include "optim/rmsprop.hpp"
#include "optim/schedule.hpp"
#include "optim/state.hpp"
