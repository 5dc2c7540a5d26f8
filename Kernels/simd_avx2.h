// The vector vocabulary of the SIMD bodies (attention_simd.h, gemm_simd.h) for AVX2 + FMA: eight lanes. Included
// inside a `#pragma clang attribute push(...target("avx2,fma")...)` region, once per translation unit, and undone
// by simd_undef.h.
static const int32_t simd_tail_bits8[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
/// Lanes 0 ..< k set, k in 0 ... 8.
static inline __m256i simd_tail_mask8(size_t k) {
    return _mm256_loadu_si256((const __m256i *)(simd_tail_bits8 + 8 - k));
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
