// The AVX2 and AVX-512 twins of lcm_attention_rows_f32: one body (attention_simd.h) compiled once per
// instruction set. They differ from the reference twin (ref.c) by the rounding of fused multiply-adds and of
// the exp approximation only.
#include "lcm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <math.h>

#pragma STDC FP_CONTRACT OFF

// ---- AVX2 + FMA: 8 lanes, register tiles of 2 vectors × 6 (12 accumulators + 2 loads + 1 broadcast ≤ 16)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "simd_avx2.h"
#define KEYS 6
#define COLUMNS 6
#include "attention_simd.h"
#include "simd_undef.h"
#undef KEYS
#undef COLUMNS
#pragma clang attribute pop

// ---- AVX-512: 16 lanes, register tiles of 2 vectors × 12 (24 accumulators + 2 loads + 1 broadcast ≤ 32)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), \
                             apply_to = function)
#include "simd_avx512.h"
#define KEYS 12
#define COLUMNS 12
#include "attention_simd.h"
#include "simd_undef.h"
#undef KEYS
#undef COLUMNS
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
