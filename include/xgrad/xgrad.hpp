#pragma once
// xgrad umbrella header: everything a training program needs.
#include "core/ops.hpp"
#include "nn/nn.hpp"
#include "optim/optim.hpp"
#include "data/data.hpp"
