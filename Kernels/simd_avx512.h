// The vector vocabulary of the SIMD bodies (attention_simd.h, gemm_simd.h) for AVX-512: sixteen lanes, mask
// registers for tails. Included inside a `#pragma clang attribute push(...target("avx512f,...")...)` region and
// undone by simd_undef.h.
#include "simd_exp2.h"
static inline __m512 simd_round16(__m512 t) {
    return _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/// simd_exp_nonpositive8 of simd_avx2.h on sixteen lanes; 2ⁿ is applied by VSCALEFPS, which rounds once.
static inline __m512 simd_exp_nonpositive16(__m512 x) {
    SIMD_EXP_SPLIT(__m512, _mm512_max_ps, _mm512_mul_ps, simd_round16, _mm512_sub_ps, _mm512_fmadd_ps, _mm512_set1_ps,
                   x, n, p);
    return _mm512_scalef_ps(p, n);
}

#define NAME(x) x##_avx512
#define vec __m512
#define W 16
#define vload _mm512_loadu_ps
#define vstore _mm512_storeu_ps
#define vload_lanes(p, k) _mm512_maskz_loadu_ps((__mmask16)((1u << (k)) - 1), p)
#define vstore_lanes(p, v, k) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (k)) - 1), v)
#define vset1 _mm512_set1_ps
#define vzero _mm512_setzero_ps
#define vfma _mm512_fmadd_ps
#define vmul _mm512_mul_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmax _mm512_max_ps
#define vexp_nonpositive simd_exp_nonpositive16
