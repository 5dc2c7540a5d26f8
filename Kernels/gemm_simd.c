// The AVX2 and AVX-512 twins of lcm_sgemm_packed_f32: one body (gemm_simd.h) compiled once per instruction set.
// They differ from the reference twin (ref.c) by the rounding of fused multiply-adds only.
#include "lcm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

// ---- AVX2 + FMA: 8 lanes, 6 rows per pass (6 × 2 accumulators + 2 loads + 1 broadcast ≤ 16)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
static const int32_t gemm_tail_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static inline __m256i gemm_tail_mask(size_t k) {
    return _mm256_loadu_si256((const __m256i *)(gemm_tail_bits + 8 - k));
}
#define NAME(x) x##_avx2
#define vec __m256
#define W 8
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vload_lanes(p, k) _mm256_maskload_ps(p, gemm_tail_mask(k))
#define vstore_lanes(p, v, k) _mm256_maskstore_ps(p, gemm_tail_mask(k), v)
#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vfma _mm256_fmadd_ps
#define PASS_ROWS 6
#include "gemm_simd.h"
#undef NAME
#undef vec
#undef W
#undef vload
#undef vstore
#undef vload_lanes
#undef vstore_lanes
#undef vset1
#undef vzero
#undef vfma
#undef PASS_ROWS
#pragma clang attribute pop

// ---- AVX-512: 16 lanes, 12 rows per pass (12 × 2 accumulators + 2 loads + 1 broadcast ≤ 32)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), \
                             apply_to = function)
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
#define PASS_ROWS 12
#include "gemm_simd.h"
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
