// The AVX2 and AVX-512 twins of lcm_attention_rows_f32: one body (attention_simd.h) compiled once per
// instruction set. They differ from the reference twin (ref.c) by the rounding of fused multiply-adds and of
// the exp approximation only.
#include "lcm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

// ---- AVX2 + FMA: 8 lanes, P·V in blocks of 2 vectors (6 rows × 2 accumulators + 2 loads + 1 broadcast ≤ 16)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define NAME(x) x##_avx2
#define vec __m256
#define W 8
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vfma _mm256_fmadd_ps
#define vmul _mm256_mul_ps
#define SOFTMAX lcm_softmax_rows_f32_avx2
#define PV_BLOCK_MAX 2
#include "attention_simd.h"
#undef NAME
#undef vec
#undef W
#undef vload
#undef vstore
#undef vset1
#undef vzero
#undef vfma
#undef vmul
#undef SOFTMAX
#undef PV_BLOCK_MAX
#pragma clang attribute pop

// ---- AVX-512: 16 lanes, P·V in blocks of 4 vectors (6 × 4 accumulators + 4 loads + 1 broadcast ≤ 32)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), \
                             apply_to = function)
#define NAME(x) x##_avx512
#define vec __m512
#define W 16
#define vload _mm512_loadu_ps
#define vstore _mm512_storeu_ps
#define vset1 _mm512_set1_ps
#define vzero _mm512_setzero_ps
#define vfma _mm512_fmadd_ps
#define vmul _mm512_mul_ps
#define SOFTMAX lcm_softmax_rows_f32_avx512
#define PV_BLOCK_MAX 4
#include "attention_simd.h"
#pragma clang attribute pop

#else  // not x86: forward to the reference twin

void lcm_attention_rows_f32_avx2(const float *q, size_t ldq, const float *kb, const float *vp, float *o, size_t ldo,
                                 size_t rows, size_t nk, size_t d, size_t dv, float scale, float *scratch) {
    lcm_attention_rows_f32_ref(q, ldq, kb, vp, o, ldo, rows, nk, d, dv, scale, scratch);
}
void lcm_attention_rows_f32_avx512(const float *q, size_t ldq, const float *kb, const float *vp, float *o,
                                   size_t ldo, size_t rows, size_t nk, size_t d, size_t dv, float scale,
                                   float *scratch) {
    lcm_attention_rows_f32_ref(q, ldq, kb, vp, o, ldo, rows, nk, d, dv, scale, scratch);
}

#endif
