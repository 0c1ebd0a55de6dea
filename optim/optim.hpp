#pragma once
#include <xgrad/optim/adam.hpp>
#include <xgrad/optim/optimizer.hpp>
#include <xgrad/optim/schedule.hpp>
#include <xgrad/optim/sgd.hpp>
