#pragma once
// Every layer of xg::nn.
#include <xgrad/nn/attention.hpp>
#include <xgrad/nn/attention_ops.hpp>
#include <xgrad/nn/attention_recorder.hpp>
#include <xgrad/nn/checkpoint.hpp>
#include <xgrad/nn/init.hpp>
#include <xgrad/nn/layers.hpp>
#include <xgrad/nn/linear_attention.hpp>
#include <xgrad/nn/local_attention.hpp>
#include <xgrad/nn/memory_efficient_attention.hpp>
#include <xgrad/nn/module.hpp>
#include <xgrad/nn/module_list.hpp>
#include <xgrad/nn/position_bias.hpp>
#include <xgrad/nn/recurrent.hpp>
#include <xgrad/nn/rotary.hpp>
#include <xgrad/nn/transformer.hpp>
#include <xgrad/nn/window_attention.hpp>
