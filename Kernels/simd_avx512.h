// The vector vocabulary of the SIMD bodies (attention_simd.h, gemm_simd.h) for AVX-512: sixteen lanes, mask
// registers for tails. Included inside a `#pragma clang attribute push(...target("avx512f,...")...)` region and
// undone by simd_undef.h.
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
