#pragma once
// Internal: the OpenMP policy for element-wise kernels. Small loops stay serial because a
// parallel region costs more than it saves below a few tens of thousands of elements (measured
// on this stack: element-wise ops on small tensors ran 15-45x slower when every op forked threads).
#include <cstdint>

namespace xg {
constexpr int64_t kParallelGrain = 32768;
}

#define XG_PRAGMA(x) _Pragma(#x)
// Usage: XG_PARALLEL_FOR(n) for (int64_t i = 0; i < n; ++i) ...
#define XG_PARALLEL_FOR(n) XG_PRAGMA(omp parallel for if ((n) > ::xg::kParallelGrain) schedule(static))
