#pragma once
// xgrad umbrella header: everything a training program needs.
#include <xgrad/core/ops.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/data/data.hpp>
