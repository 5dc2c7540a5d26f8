// The AVX2 and AVX-512 twins of lcm_sgemm_packed_f32: one body (gemm_simd.h) compiled once per instruction set.
// They differ from the reference twin (ref.c) by the rounding of fused multiply-adds only.
#include "lcm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

// ---- AVX2 + FMA: 8 lanes, 6 rows per pass (6 × 2 accumulators + 2 loads + 1 broadcast ≤ 16)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "simd_avx2.h"
#define PASS_ROWS 6
#include "gemm_simd.h"
#include "simd_undef.h"
#undef PASS_ROWS
#pragma clang attribute pop

// ---- AVX-512: 16 lanes, 12 rows per pass (12 × 2 accumulators + 2 loads + 1 broadcast ≤ 32)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), \
                             apply_to = function)
#include "simd_avx512.h"
#define PASS_ROWS 12
#include "gemm_simd.h"
#include "simd_undef.h"
#undef PASS_ROWS
#pragma clang attribute pop

#else  // not x86: forward to the reference twin

void lcm_sgemm_packed_f32_avx2(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                               size_t k) {
    lcm_sgemm_packed_f32_ref(ap, b, ldb, c, ldc, m, n, k);
}
void lcm_sgemm_packed_f32_avx512(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                 size_t n, size_t k) {
    lcm_sgemm_packed_f32_ref(ap, b, ldb, c, ldc, m, n, k);
}

#endif
