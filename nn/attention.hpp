#pragma once
// The attention family: scaled dot-product attention and its masks, attention for RNN decoders,
// multi-head attention and its key/value cache. Each returns its weights so that callers can
// plot them.
#include "nn/key_values.hpp"
#include "nn/multi_head_attention.hpp"
#include "nn/rnn_attention.hpp"
#include "nn/scaled_dot_product.hpp"
