#pragma once
// Every layer of xg::nn.
#include "nn/attention.hpp"
#include "nn/attention_kernels.hpp"
#include "nn/checkpoint.hpp"
#include "nn/init.hpp"
#include "nn/layers.hpp"
#include "nn/module.hpp"
#include "nn/recurrent.hpp"
#include "nn/transformer.hpp"
