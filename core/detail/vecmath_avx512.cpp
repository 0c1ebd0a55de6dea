// Compiled with -mavx512f -mavx512cd -mavx512dq -mavx512bw -mfma (CMakeLists.txt); called only
// when the CPU has all of them.
// GCC 12's own avx512fintrin.h defines its "undefined" vectors as `__m512 __Y = __Y;`, which
// -Wuninitialized and -Wmaybe-uninitialized report once xsimd's kernels inline them (fixed in
// later GCC releases); the value is a don't-care merge source of a fully masked instruction.
// (Clang knows no -Wmaybe-uninitialized and warns about the pragma: GCC only.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xgrad/core/detail/vecmath_impl.hpp>
XG_VECMATH_INSTANTIATE(avx512, xsimd::avx512bw)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
