// The core of vexp_nonpositive in simd_avx2.h and simd_avx512.h, over an instruction set's operations:
// x ≤ 0 clamped at −104 (a NaN x stays NaN, so the result is NaN), t = x·log2 e, n = round(t), and 2^(t − n) by a minimax polynomial of degree 6 on
// |f| ≤ 1/2 (relative error 2e-9; about 1e-7 evaluated in float), Horner's rule with fused multiply-adds.
// Declares `n` and `p` (p = 2^(t − n)); the caller applies 2ⁿ.
#ifndef SIMD_EXP2_H
#define SIMD_EXP2_H
#define SIMD_EXP_SPLIT(T, maxf, mulf, roundf, subf, fmaf, set1, x, n, p)                                          \
    const T simd_t = mulf(maxf(set1(-104.0f), x), set1(1.44269504088896341f)); /* max returns a NaN x */       \
    const T n = roundf(simd_t);                                                                                 \
    const T simd_f = subf(simd_t, n);                                                                           \
    const T p = fmaf(fmaf(fmaf(fmaf(fmaf(fmaf(set1(1.535336188319500e-4f), simd_f, set1(1.339887440266574e-3f)),  \
                                         simd_f, set1(9.618437357674640e-3f)),                                  \
                                    simd_f, set1(5.550332471162809e-2f)),                                       \
                               simd_f, set1(2.402264791363012e-1f)),                                            \
                          simd_f, set1(6.931472028550421e-1f)),                                                 \
                     simd_f, set1(1.0f))
#endif
