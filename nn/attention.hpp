#pragma once
/// \file
/// The attention family: scaled dot-product attention and its masks, attention for RNN decoders,
/// multi-head attention and its key/value cache. Each returns its weights so that callers can
/// plot them.
#include <xgrad/nn/key_values.hpp>
#include <xgrad/nn/multi_head_attention.hpp>
#include <xgrad/nn/rnn_attention.hpp>
#include <xgrad/nn/scaled_dot_product.hpp>
