#pragma once
/// \file
/// Data parallelism inside one process: the parts of a batch, one per thread, each with its own
/// forward, graph and backward, their gradients added together at the end.
#include <cstdint>
#include <functional>
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg {

/// Runs part_loss(p) and the backward of the scalar it returns for p in [0, parts), one part per
/// OpenMP thread (up to the thread count), then adds the parts' leaf gradients into the leaves'
/// .grad in part order, and returns each part's loss value. While they run, each part has
///   - its own leaf gradients (LeafGradStore), so parts never add into one .grad at once;
///   - its own random generator, seeded from default_generator() in part order (dropout);
///   - grad mode and the caller's FixedWeightsGuard scope, if there is one.
/// Scale each part's loss so that their sum is the loss you want (a batch mean: the part's mean
/// times its share of the tokens). Gradients then equal one backward over the whole batch up to
/// rounding, and are bit-identical for a given seed and number of parts. The model must not change
/// in part_loss (no parameter updates, no module state). If a part throws, no gradient is added and
/// the first part's exception is rethrown. With one part: part_loss(0).backward() on this thread.
std::vector<double> parallel_backward(int64_t parts, const std::function<Tensor(int64_t part)>& part_loss);

}  // namespace xg
