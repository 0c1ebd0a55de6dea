#pragma once
#include "data/batch.hpp"
#include "data/corpus.hpp"
#include "data/loader.hpp"
#include "data/tokenizer.hpp"
#include "data/toy.hpp"
#include "data/vocab.hpp"
