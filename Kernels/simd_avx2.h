// The vector vocabulary of the SIMD bodies (attention_simd.h, gemm_simd.h) for AVX2 + FMA: eight lanes. Included
// inside a `#pragma clang attribute push(...target("avx2,fma")...)` region, once per translation unit, and undone
// by simd_undef.h.
#include "simd_exp2.h"
static const int32_t simd_tail_bits8[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
/// Lanes 0 ..< k set, k in 0 ... 8.
static inline __m256i simd_tail_mask8(size_t k) {
    return _mm256_loadu_si256((const __m256i *)(simd_tail_bits8 + 8 - k));
}

static inline __m256 simd_round8(__m256 t) { return _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

/// exp(x) for x ≤ 0 (or NaN), relative error below 2e-7: 2^(x·log2 e) as 2ⁿ·2ᶠ (SIMD_EXP_SPLIT, simd_exp2.h),
/// 2ⁿ applied in two halves so results in the subnormal range are rounded once; below −104 the result is 0. The
/// rounding of x·log2 e costs up to |x|·6e-8 relative, i.e. at most 2.2e-8 absolute: enough for a softmax, whose
/// terms are at most 1 and sum to at least 1.
static inline __m256 simd_exp_nonpositive8(__m256 x) {
    SIMD_EXP_SPLIT(__m256, _mm256_max_ps, _mm256_mul_ps, simd_round8, _mm256_sub_ps, _mm256_fmadd_ps, _mm256_set1_ps,
                   x, n, p);
    const __m256i ni = _mm256_cvtps_epi32(n);  // n in [-150, 0]
    const __m256i h = _mm256_srai_epi32(ni, 1), k = _mm256_sub_epi32(ni, h);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

#define NAME(x) x##_avx2
#define vec __m256
#define W 8
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vload_lanes(p, k) _mm256_maskload_ps(p, simd_tail_mask8(k))
#define vstore_lanes(p, v, k) _mm256_maskstore_ps(p, simd_tail_mask8(k), v)
#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vfma _mm256_fmadd_ps
#define vmul _mm256_mul_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmax _mm256_max_ps
#define vexp_nonpositive simd_exp_nonpositive8
