// AVX-512 twins of the exp-bound kernels (softmax rows, SiLU, GroupNorm): the formulas of avx2.c sixteen lanes at
// a time, with mask registers for the tails. On the 2-core Xeon of the build machine the AVX2 twins of these
// kernels ran at about one vector instruction per cycle, so halving the instruction count halves their time.
// Compiled for AVX-512 F/DQ/BW/VL per function; dispatch.c calls them only when the CPU has all four.
#include "lcm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <math.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), \
                             apply_to = function)

static inline __m512 splat16(float v) { return _mm512_set1_ps(v); }

/// Lanes 0..<k set, k in 0...16.
static inline __mmask16 tail16(size_t k) { return (__mmask16)((1u << k) - 1u); }

/// exp8 of avx2.c on sixteen lanes: the same clamp, Cody–Waite split and polynomial; 2ⁿ is applied by VSCALEFPS,
/// which rounds p·2ⁿ once, as the two exact-then-rounding halves of exp8 do (the results are the same).
static inline __m512 exp16(__m512 x) {
    const __m512 hi = splat16(88.72283172607421875f);
    __m512 xc = _mm512_min_ps(hi, _mm512_max_ps(splat16(-104.0f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, splat16(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, splat16(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, splat16(-2.12194440054690583e-4f), r);
    __m512 p = splat16(1.979029767e-04f);
    p = _mm512_fmadd_ps(p, r, splat16(1.394470339e-03f));
    p = _mm512_fmadd_ps(p, r, splat16(8.333497681e-03f));
    p = _mm512_fmadd_ps(p, r, splat16(4.166629538e-02f));
    p = _mm512_fmadd_ps(p, r, splat16(1.666666567e-01f));
    p = _mm512_fmadd_ps(p, r, splat16(0.5f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, splat16(1.0f));
    __m512 y = _mm512_scalef_ps(p, n);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), y, splat16(INFINITY));
}

static inline __m512 silu16(__m512 v) {
    __m512 minus = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000)));
    return _mm512_div_ps(v, _mm512_add_ps(splat16(1.0f), exp16(minus)));
}

static inline double hsum8d(__m512d v) { return _mm512_reduce_add_pd(v); }

/// acc += the sixteen lanes of v, widened to double.
static inline __m512d add_widened16(__m512d acc, __m512 v) {
    acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    return _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

void lcm_silu_f32_avx512(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, silu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = tail16(n - i);
        _mm512_mask_storeu_ps(y + i, m, silu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void lcm_softmax_rows_f32_avx512(float *x, size_t rows, size_t cols, float scale, float *sums) {
    const __m512 vs = splat16(scale);
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        __m512 vmax = splat16(-INFINITY);
        size_t c = 0;
        for (; c + 16 <= cols; c += 16) vmax = _mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(row + c), vs), vmax);
        float m = _mm512_reduce_max_ps(vmax);  // operand order above makes max_ps skip NaN lanes, as in avx2.c
        for (; c < cols; c++) {
            float v = row[c] * scale;
            if (v > m) m = v;
        }
        const __m512 vm = splat16(m);
        // float partial sums of up to 64 terms, widened to double, as in avx2.c
        __m512d acc = _mm512_setzero_pd();
        c = 0;
        while (c + 16 <= cols) {
            __m512 part = _mm512_setzero_ps();
            for (size_t k = 0; k < 4 && c + 16 <= cols; k++, c += 16) {
                __m512 e = exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(row + c), vs), vm));
                _mm512_storeu_ps(row + c, e);
                part = _mm512_add_ps(part, e);
            }
            acc = add_widened16(acc, part);
        }
        if (c < cols) {
            __mmask16 mask = tail16(cols - c);
            __m512 e = exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask, row + c), vs), vm));
            _mm512_mask_storeu_ps(row + c, mask, e);
            acc = add_widened16(acc, _mm512_maskz_mov_ps(mask, e));
        }
        const double sum = hsum8d(acc);
        if (sums != NULL) {
            sums[r] = (float)sum;
            continue;
        }
        const __m512 inv = splat16((float)(1.0 / sum));
        for (c = 0; c + 16 <= cols; c += 16) _mm512_storeu_ps(row + c, _mm512_mul_ps(_mm512_loadu_ps(row + c), inv));
        if (c < cols) {
            __mmask16 mask = tail16(cols - c);
            _mm512_mask_storeu_ps(row + c, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, row + c), inv));
        }
    }
}

void lcm_groupnorm_group_f32_avx512(const float *x, float *y, const float *gamma, const float *beta,
                                    size_t channels, size_t plane, float eps, int fuse_silu) {
    const size_t n = channels * plane;
    // one pass, as norm_stats_one_pass in avx2.c: sums of x − x[0] and of its square in double
    const double shift = x[0];
    const __m512d vshift = _mm512_set1_pd(shift);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd(), q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), vshift);
        __m512d d1 = _mm512_sub_pd(
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), vshift);
        s0 = _mm512_add_pd(s0, d0);
        s1 = _mm512_add_pd(s1, d1);
        q0 = _mm512_fmadd_pd(d0, d0, q0);
        q1 = _mm512_fmadd_pd(d1, d1, q1);
    }
    double sum = hsum8d(_mm512_add_pd(s0, s1)), sq = hsum8d(_mm512_add_pd(q0, q1));
    for (; i < n; i++) {
        double d = x[i] - shift;
        sum += d;
        sq += d * d;
    }
    const double var = (sq - sum * sum / (double)n) / (double)n;
    const double mean = shift + sum / (double)n;
    const __m512 vm = splat16((float)mean);
    const float inv = (float)(1.0 / sqrt((var > 0 ? var : 0) + eps));
    for (size_t c = 0; c < channels; c++) {
        const __m512 g = splat16((gamma ? gamma[c] : 1.0f) * inv), b = splat16(beta ? beta[c] : 0.0f);
        const float *in = x + c * plane;
        float *out = y + c * plane;
        size_t j = 0;
        for (; j + 16 <= plane; j += 16) {
            __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(in + j), vm), g), b);
            _mm512_storeu_ps(out + j, fuse_silu ? silu16(v) : v);
        }
        if (j < plane) {
            __mmask16 mask = tail16(plane - j);
            __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, in + j), vm), g), b);
            _mm512_mask_storeu_ps(out + j, mask, fuse_silu ? silu16(v) : v);
        }
    }
}

#pragma clang attribute pop

#else  // not x86: the AVX-512 names forward to the reference twins

void lcm_silu_f32_avx512(const float *x, float *y, size_t n) { lcm_silu_f32_ref(x, y, n); }
void lcm_softmax_rows_f32_avx512(float *x, size_t r, size_t c, float s, float *sums) {
    lcm_softmax_rows_f32_ref(x, r, c, s, sums);
}
void lcm_groupnorm_group_f32_avx512(const float *x, float *y, const float *g, const float *b, size_t c, size_t p,
                                    float e, int s) {
    lcm_groupnorm_group_f32_ref(x, y, g, b, c, p, e, s);
}

#endif
