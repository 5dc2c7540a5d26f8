// AVX2+FMA twins of the kernels in ref.c: the same formulas eight lanes at a time, on unaligned pointers,
// with masked tails. Each function is compiled for AVX2+FMA on its own (no target-wide flag); dispatch.c
// calls them only after checking the CPU. Contraction is off, so every multiply-add below is the one spelled
// out, and the elementwise steps round exactly like the reference twins.
#include "lcm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <math.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

// ---- helpers ---------------------------------------------------------------------------------------------

static const int32_t tail_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// Lanes 0..<k set, k in 0...8 (for maskload/maskstore of a tail).
static inline __m256i tail_mask(size_t k) { return _mm256_loadu_si256((const __m256i *)(tail_bits + 8 - k)); }

static inline __m256 splat(float v) { return _mm256_set1_ps(v); }

static inline __m256 negate(__m256 v) { return _mm256_xor_ps(v, splat(-0.0f)); }

static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline double hsum4d(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

/// acc += the eight lanes of v, widened to double.
static inline __m256d add_widened(__m256d acc, __m256 v) {
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/// exp(x) = 2^n * p(r), x = n*ln2 + r, |r| <= ln2/2 (Cody-Waite split of ln2). p is 1 + r + r^2 P(r) with
/// P of degree 5 fitted (Lawson minimax) to (e^r - 1 - r)/r^2; fit error 5e-11 relative, so the float
/// evaluation (about 1 ulp) dominates. 2^n is applied in two halves so results in the subnormal range are
/// rounded once; x above ln(FLT_MAX) gives +inf and x below -104 gives 0, as expf does. NaN propagates.
static inline __m256 exp8(__m256 x) {
    const __m256 hi = splat(88.72283172607421875f);  // largest float whose exp is finite
    __m256 xc = _mm256_min_ps(hi, _mm256_max_ps(splat(-104.0f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, splat(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, splat(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, splat(-2.12194440054690583e-4f), r);
    __m256 p = splat(1.979029767e-04f);
    p = _mm256_fmadd_ps(p, r, splat(1.394470339e-03f));
    p = _mm256_fmadd_ps(p, r, splat(8.333497681e-03f));
    p = _mm256_fmadd_ps(p, r, splat(4.166629538e-02f));
    p = _mm256_fmadd_ps(p, r, splat(1.666666567e-01f));
    p = _mm256_fmadd_ps(p, r, splat(0.5f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, splat(1.0f));
    __m256i ni = _mm256_cvtps_epi32(n);  // n in [-150, 128]
    __m256i h = _mm256_srai_epi32(ni, 1);
    __m256i k = _mm256_sub_epi32(ni, h);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, bias), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    return _mm256_blendv_ps(y, splat(INFINITY), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
}

/// erfc(a) for a >= 0, in the form of N. Juffa's single-precision erfcf: with q = (a-2)/(a+2) in [-1, 0.67],
/// erfc(a) = exp(-a^2) (1 + P(q)) / (1 + 2a), P of degree 11 fitted (Lawson minimax) to
/// (1 + 2a) e^(a^2) erfc(a) - 1 on [0, 10.1] (fit error 1.1e-9). exp(-a^2) uses a^2 = s + lo split by FMA,
/// so the rounding of a^2 does not grow with a. erfc(a) = 0 beyond 10.0546875 (below half the least subnormal).
static inline __m256 erfc8(__m256 a) {
    const __m256 one = splat(1.0f), two = splat(2.0f);
    __m256 q = _mm256_div_ps(_mm256_sub_ps(a, two), _mm256_add_ps(a, two));
    __m256 p = splat(7.972180174e-05f);
    p = _mm256_fmadd_ps(p, q, splat(1.695594692e-04f));
    p = _mm256_fmadd_ps(p, q, splat(-4.015111772e-04f));
    p = _mm256_fmadd_ps(p, q, splat(-1.421294408e-03f));
    p = _mm256_fmadd_ps(p, q, splat(1.253232011e-03f));
    p = _mm256_fmadd_ps(p, q, splat(8.709440008e-03f));
    p = _mm256_fmadd_ps(p, q, splat(-8.031017147e-03f));
    p = _mm256_fmadd_ps(p, q, splat(-5.421791226e-02f));
    p = _mm256_fmadd_ps(p, q, splat(1.640510559e-01f));
    p = _mm256_fmadd_ps(p, q, splat(-1.660305113e-01f));
    p = _mm256_fmadd_ps(p, q, splat(-9.276381880e-02f));
    p = _mm256_fmadd_ps(p, q, splat(2.769783735e-01f));
    __m256 ratio = _mm256_div_ps(_mm256_add_ps(p, one), _mm256_fmadd_ps(two, a, one));
    __m256 s = _mm256_mul_ps(a, a);
    __m256 lo = _mm256_fmsub_ps(a, a, s);  // a^2 - s, exact
    __m256 e = exp8(negate(s));
    e = _mm256_fnmadd_ps(e, lo, e);  // exp(-s - lo) = exp(-s) (1 - lo), |lo| < 2^-17
    __m256 c = _mm256_mul_ps(ratio, e);
    return _mm256_andnot_ps(_mm256_cmp_ps(a, splat(10.0546875f), _CMP_NLE_UQ), c);  // also a = inf, nan
}

// The activations: same formulas as ref.c (see the comments there).
static inline __m256 silu8(__m256 v) {
    return _mm256_div_ps(v, _mm256_add_ps(splat(1.0f), exp8(negate(v))));
}

static inline __m256 quick_gelu8(__m256 v) {
    __m256 e = exp8(negate(_mm256_mul_ps(splat(1.702f), v)));
    return _mm256_div_ps(v, _mm256_add_ps(splat(1.0f), e));
}

static inline __m256 gelu_tanh8(__m256 v) {
    __m256 t = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(splat(0.044715f), v), v), v);
    __m256 u = _mm256_mul_ps(splat(0.79788456080286536f), _mm256_add_ps(v, t));
    __m256 e = exp8(_mm256_mul_ps(splat(-2.0f), u));
    return _mm256_div_ps(v, _mm256_add_ps(splat(1.0f), e));
}

static inline __m256 gelu8(__m256 v) {
    __m256 z = _mm256_mul_ps(v, splat(0.70710678118654752f));
    __m256 c = erfc8(_mm256_andnot_ps(splat(-0.0f), z));
    __m256 t = _mm256_blendv_ps(_mm256_sub_ps(splat(2.0f), c), c, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_mul_ps(_mm256_mul_ps(splat(0.5f), v), t);
}

typedef __m256 (*lane_map)(__m256);

/// y[i] = f(x[i]); always inlined so that f is inlined too.
static inline __attribute__((always_inline)) void map_lanes(const float *x, float *y, size_t n, lane_map f) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(x + i, m)));
    }
}

// ---- conversion ------------------------------------------------------------------------------------------

/// Eight halves (zero-extended to 32 bits) → floats, exact: the exponent is rebiased with integer adds
/// (inf/nan keep their payload bits), subnormals are renormalised by one exact float subtraction.
static inline __m256 f16_lanes(__m256i h) {
    __m256i sign = _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(0x8000)), 16);
    __m256i o = _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(0x7fff)), 13);
    __m256i e = _mm256_and_si256(o, _mm256_set1_epi32(0x0f800000));
    o = _mm256_add_epi32(o, _mm256_set1_epi32(112 << 23));
    __m256i special = _mm256_cmpeq_epi32(e, _mm256_set1_epi32(0x0f800000));
    o = _mm256_add_epi32(o, _mm256_and_si256(special, _mm256_set1_epi32(112 << 23)));
    __m256 sub = _mm256_sub_ps(_mm256_castsi256_ps(_mm256_add_epi32(o, _mm256_set1_epi32(1 << 23))),
                               _mm256_castsi256_ps(_mm256_set1_epi32(113 << 23)));
    __m256i tiny = _mm256_cmpeq_epi32(e, _mm256_setzero_si256());
    __m256 f = _mm256_blendv_ps(_mm256_castsi256_ps(o), sub, _mm256_castsi256_ps(tiny));
    return _mm256_or_ps(f, _mm256_castsi256_ps(sign));
}

static inline __m256i load_u16x8_tail(const uint16_t *src, size_t k) {
    uint16_t tmp[8] = {0};
    for (size_t j = 0; j < k; j++) tmp[j] = src[j];
    return _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)tmp));
}

void lcm_f16_to_f32_avx2(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, f16_lanes(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)))));
    if (i < n) _mm256_maskstore_ps(dst + i, tail_mask(n - i), f16_lanes(load_u16x8_tail(src + i, n - i)));
}

void lcm_bf16_to_f32_avx2(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(w, 16));
    }
    if (i < n) {
        __m256i w = _mm256_slli_epi32(load_u16x8_tail(src + i, n - i), 16);
        _mm256_maskstore_ps(dst + i, tail_mask(n - i), _mm256_castsi256_ps(w));
    }
}

// ---- elementwise -----------------------------------------------------------------------------------------

void lcm_add_f32_avx2(const float *a, const float *b, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_add_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
    }
}

void lcm_mul_f32_avx2(const float *a, const float *b, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_mul_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
    }
}

void lcm_scale_f32_avx2(const float *x, float s, float *y, size_t n) {
    const __m256 vs = splat(s);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), vs));
    }
}

/// x[i] += b (broadcast) for i < n.
static inline void add_scalar(float *x, __m256 b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), b));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, _mm256_add_ps(_mm256_maskload_ps(x + i, m), b));
    }
}

void lcm_bias_planes_f32_avx2(float *x, const float *bias, size_t channels, size_t plane) {
    for (size_t c = 0; c < channels; c++) add_scalar(x + c * plane, splat(bias[c]), plane);
}

// ---- activations -----------------------------------------------------------------------------------------

void lcm_silu_f32_avx2(const float *x, float *y, size_t n) { map_lanes(x, y, n, silu8); }
void lcm_gelu_f32_avx2(const float *x, float *y, size_t n) { map_lanes(x, y, n, gelu8); }
void lcm_gelu_tanh_f32_avx2(const float *x, float *y, size_t n) { map_lanes(x, y, n, gelu_tanh8); }
void lcm_quick_gelu_f32_avx2(const float *x, float *y, size_t n) { map_lanes(x, y, n, quick_gelu8); }

void lcm_geglu_f32_avx2(const float *x, float *y, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *a = x + r * 2 * cols;
        const float *g = a + cols;
        float *out = y + r * cols;
        size_t c = 0;
        for (; c + 8 <= cols; c += 8)
            _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_loadu_ps(a + c), gelu8(_mm256_loadu_ps(g + c))));
        if (c < cols) {
            __m256i m = tail_mask(cols - c);
            __m256 v = _mm256_mul_ps(_mm256_maskload_ps(a + c, m), gelu8(_mm256_maskload_ps(g + c, m)));
            _mm256_maskstore_ps(out + c, m, v);
        }
    }
}

// ---- reductions ------------------------------------------------------------------------------------------

void lcm_softmax_rows_f32_avx2(float *x, size_t rows, size_t cols, float scale, float *sums) {
    const __m256 vs = splat(scale);
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        // max of row*scale; operand order makes max_ps skip NaN lanes, like the reference's `>`
        __m256 vmax = splat(-INFINITY);
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) vmax = _mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(row + c), vs), vmax);
        float m = hmax8(vmax);
        for (; c < cols; c++) {
            float v = row[c] * scale;
            if (v > m) m = v;
        }
        const __m256 vm = splat(m);
        // float partial sums of up to 64 terms (each in [0, 1], so at most 64 · 2⁻²⁴ relative), widened to double
        __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
        c = 0;
        while (c + 8 <= cols) {
            __m256 part = _mm256_setzero_ps();
            for (size_t k = 0; k < 8 && c + 8 <= cols; k++, c += 8) {
                __m256 e = exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(row + c), vs), vm));
                _mm256_storeu_ps(row + c, e);
                part = _mm256_add_ps(part, e);
            }
            acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(part)));
            acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(part, 1)));
        }
        if (c < cols) {
            __m256i mask = tail_mask(cols - c);
            __m256 e = exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_maskload_ps(row + c, mask), vs), vm));
            _mm256_maskstore_ps(row + c, mask, e);
            acc0 = add_widened(acc0, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
        }
        const double sum = hsum4d(_mm256_add_pd(acc0, acc1));
        if (sums != NULL) {
            sums[r] = (float)sum;
            continue;
        }
        const __m256 inv = splat((float)(1.0 / sum));
        for (c = 0; c + 8 <= cols; c += 8) _mm256_storeu_ps(row + c, _mm256_mul_ps(_mm256_loadu_ps(row + c), inv));
        if (c < cols) {
            __m256i mask = tail_mask(cols - c);
            _mm256_maskstore_ps(row + c, mask, _mm256_mul_ps(_mm256_maskload_ps(row + c, mask), inv));
        }
    }
}

/// Mean and 1/sqrt(variance + eps) of n floats, accumulated in double (two passes, like the reference).
static void norm_stats(const float *x, size_t n, float eps, float *mean_out, float *inv_out) {
    __m256d acc = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) acc = add_widened(acc, _mm256_loadu_ps(x + i));
    double sum = hsum4d(acc);
    for (; i < n; i++) sum += x[i];
    double mean = sum / (double)n;
    const __m256d vmean = _mm256_set1_pd(mean);
    __m256d sq0 = _mm256_setzero_pd(), sq1 = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vmean);
        __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vmean);
        sq0 = _mm256_fmadd_pd(d0, d0, sq0);
        sq1 = _mm256_fmadd_pd(d1, d1, sq1);
    }
    double sq = hsum4d(_mm256_add_pd(sq0, sq1));
    for (; i < n; i++) {
        double d = x[i] - mean;
        sq += d * d;
    }
    *mean_out = (float)mean;
    *inv_out = (float)(1.0 / sqrt(sq / (double)n + eps));
}

/// y = (x - m) * g + b over n floats (two roundings, as in the reference), then SiLU if asked.
static inline void normalize(const float *x, float *y, size_t n, __m256 m, __m256 g, __m256 b, int fuse_silu) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m), g), b);
        _mm256_storeu_ps(y + i, fuse_silu ? silu8(v) : v);
    }
    if (i < n) {
        __m256i mask = tail_mask(n - i);
        __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), m), g), b);
        _mm256_maskstore_ps(y + i, mask, fuse_silu ? silu8(v) : v);
    }
}

void lcm_layernorm_f32_avx2(const float *x, float *y, const float *gamma, const float *beta, size_t rows,
                            size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * cols;
        float *out = y + r * cols;
        float m, inv;
        norm_stats(in, cols, eps, &m, &inv);
        const __m256 vm = splat(m), vinv = splat(inv);
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(in + c), vm), vinv);
            __m256 g = gamma ? _mm256_loadu_ps(gamma + c) : splat(1.0f);
            __m256 b = beta ? _mm256_loadu_ps(beta + c) : _mm256_setzero_ps();
            _mm256_storeu_ps(out + c, _mm256_add_ps(_mm256_mul_ps(v, g), b));
        }
        if (c < cols) {
            __m256i mask = tail_mask(cols - c);
            __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(in + c, mask), vm), vinv);
            __m256 g = gamma ? _mm256_maskload_ps(gamma + c, mask) : splat(1.0f);
            __m256 b = beta ? _mm256_maskload_ps(beta + c, mask) : _mm256_setzero_ps();
            _mm256_maskstore_ps(out + c, mask, _mm256_add_ps(_mm256_mul_ps(v, g), b));
        }
    }
}

/// norm_stats in one pass over x, for groups too large for the caches (GroupNorm: a VAE group at 512² is 4 MB):
/// sums of d = x − x[0] and of d² in double, mean = x[0] + Σd/n, variance = (Σd² − (Σd)²/n)/n. Shifting by a
/// value of the data keeps the cancellation to the spread of the data around it; against the two-pass reference
/// the statistics differ by ~1e-15 relative.
static void norm_stats_one_pass(const float *x, size_t n, float eps, float *mean_out, float *inv_out) {
    const double shift = x[0];
    const __m256d vshift = _mm256_set1_pd(shift);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vshift);
        __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vshift);
        s0 = _mm256_add_pd(s0, d0);
        s1 = _mm256_add_pd(s1, d1);
        q0 = _mm256_fmadd_pd(d0, d0, q0);
        q1 = _mm256_fmadd_pd(d1, d1, q1);
    }
    double sum = hsum4d(_mm256_add_pd(s0, s1)), sq = hsum4d(_mm256_add_pd(q0, q1));
    for (; i < n; i++) {
        double d = x[i] - shift;
        sum += d;
        sq += d * d;
    }
    double var = (sq - sum * sum / (double)n) / (double)n;
    *mean_out = (float)(shift + sum / (double)n);
    *inv_out = (float)(1.0 / sqrt((var > 0 ? var : 0) + eps));
}

void lcm_groupnorm_group_f32_avx2(const float *x, float *y, const float *gamma, const float *beta,
                                  size_t channels, size_t plane, float eps, int fuse_silu) {
    float m, inv;
    norm_stats_one_pass(x, channels * plane, eps, &m, &inv);
    for (size_t c = 0; c < channels; c++) {
        float g = (gamma ? gamma[c] : 1.0f) * inv;
        float b = beta ? beta[c] : 0.0f;
        normalize(x + c * plane, y + c * plane, plane, splat(m), splat(g), splat(b), fuse_silu);
    }
}

// ---- resampling and convolution helpers ------------------------------------------------------------------

void lcm_upsample_nearest2x_f32_avx2(const float *x, float *y, size_t planes, size_t h, size_t w) {
    for (size_t p = 0; p < planes; p++) {
        for (size_t iy = 0; iy < h; iy++) {
            const float *in = x + (p * h + iy) * w;
            float *out0 = y + (p * 2 * h + 2 * iy) * 2 * w;
            float *out1 = out0 + 2 * w;
            size_t ix = 0;
            for (; ix + 8 <= w; ix += 8) {
                __m256 v = _mm256_loadu_ps(in + ix);
                __m256 lo = _mm256_unpacklo_ps(v, v);  // a0 a0 a1 a1 | a4 a4 a5 a5
                __m256 hi = _mm256_unpackhi_ps(v, v);  // a2 a2 a3 a3 | a6 a6 a7 a7
                __m256 first = _mm256_permute2f128_ps(lo, hi, 0x20);
                __m256 second = _mm256_permute2f128_ps(lo, hi, 0x31);
                _mm256_storeu_ps(out0 + 2 * ix, first);
                _mm256_storeu_ps(out0 + 2 * ix + 8, second);
                _mm256_storeu_ps(out1 + 2 * ix, first);
                _mm256_storeu_ps(out1 + 2 * ix + 8, second);
            }
            for (; ix < w; ix++) out0[2 * ix] = out0[2 * ix + 1] = out1[2 * ix] = out1[2 * ix + 1] = in[ix];
        }
    }
}

static inline void fill_zero(float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_setzero_ps());
    if (i < n) _mm256_maskstore_ps(y + i, tail_mask(n - i), _mm256_setzero_ps());
}

/// out[o] = in[o * stride] for o < n; strides 1 and 2 vectorised.
static inline void copy_strided(const float *in, float *out, size_t n, size_t stride) {
    size_t o = 0;
    if (stride == 1) {
        for (; o + 8 <= n; o += 8) _mm256_storeu_ps(out + o, _mm256_loadu_ps(in + o));
        if (o < n) {
            __m256i m = tail_mask(n - o);
            _mm256_maskstore_ps(out + o, m, _mm256_maskload_ps(in + o, m));
        }
        return;
    }
    if (stride == 2) {
        // loads in[2o ..< 2o + 16]; the last element read, in[2(n-1)], must stay the last one touched
        for (; o + 8 < n; o += 8) {
            __m256 a = _mm256_loadu_ps(in + 2 * o), b = _mm256_loadu_ps(in + 2 * o + 8);
            __m256 even = _mm256_shuffle_ps(a, b, 0x88);  // a0 a2 b0 b2 | a4 a6 b4 b6
            even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xd8));
            _mm256_storeu_ps(out + o, even);
        }
    }
    for (; o < n; o++) out[o] = in[o * stride];
}

void lcm_im2col3x3_f32_avx2(const float *x, float *col, size_t c0, size_t c1, size_t h, size_t w,
                            size_t stride, size_t pad_top, size_t pad_left, size_t oh, size_t ow, size_t oy0,
                            size_t oy1) {
    (void)oh;
    size_t rows = oy1 - oy0;
    for (size_t ci = c0; ci < c1; ci++) {
        const float *plane = x + ci * h * w;
        for (size_t ky = 0; ky < 3; ky++) {
            for (size_t kx = 0; kx < 3; kx++) {
                float *row = col + ((ci - c0) * 9 + ky * 3 + kx) * rows * ow;
                // output columns whose input column ox*stride + kx - pad_left lies in [0, w)
                long shift = (long)kx - (long)pad_left;
                size_t lo = shift >= 0 ? 0 : (size_t)((-shift + (long)stride - 1) / (long)stride);
                long last = (long)w - 1 - shift;  // largest valid ox*stride
                size_t hi = last < 0 ? 0 : (size_t)(last / (long)stride) + 1;
                if (hi > ow) hi = ow;
                if (lo > hi) lo = hi;
                for (size_t oy = oy0; oy < oy1; oy++) {
                    float *out = row + (oy - oy0) * ow;
                    long iy = (long)(oy * stride + ky) - (long)pad_top;
                    if (iy < 0 || iy >= (long)h) {
                        fill_zero(out, ow);
                        continue;
                    }
                    fill_zero(out, lo);
                    if (hi > lo)
                        copy_strided(plane + (size_t)iy * w + (size_t)((long)(lo * stride) + shift), out + lo,
                                     hi - lo, stride);
                    fill_zero(out + hi, ow - hi);
                }
            }
        }
    }
}


// ---- direct 3×3 convolution for few output channels ------------------------------------------------------

/// Eight output pixels ox..ox+7 of row oy for all `cout` channels (a compile-time constant after inlining, so the
/// accumulators stay in registers): the input vectors at ox−1, ox, ox+1 of each (channel, row) are loaded once and
/// feed every output channel. `edge` chunks (touching column 0 or w−1, or fewer than 8 pixels) read through a
/// zero-padded copy of the 10 input columns they need.
static inline __attribute__((always_inline)) void direct_chunk(const float *x, const float *w, const float *bias,
                                                               float *y, size_t cin, size_t h, size_t width,
                                                               size_t oy, size_t ox, size_t cout) {
    __m256 acc[8];
    for (size_t co = 0; co < cout; co++) acc[co] = _mm256_setzero_ps();
    const size_t n = width - ox < 8 ? width - ox : 8;
    const int edge = ox == 0 || ox + 9 > width;
    float pad[12];
    for (size_t ci = 0; ci < cin; ci++) {
        for (size_t ky = 0; ky < 3; ky++) {
            if (oy + ky < 1 || oy + ky - 1 >= h) continue;
            const float *row = x + (ci * h + oy + ky - 1) * width;
            const float *src = row + ox - 1;
            if (edge) {
                for (size_t i = 0; i < 10; i++) {
                    size_t col = ox + i;  // input column col − 1
                    pad[i] = col >= 1 && col - 1 < width && i <= n + 1 ? row[col - 1] : 0.0f;
                }
                src = pad;
            }
            __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 1), v2 = _mm256_loadu_ps(src + 2);
            const float *k = w + (ci * 3 + ky) * 3;
            for (size_t co = 0; co < cout; co++) {
                const float *kc = k + co * cin * 9;
                acc[co] = _mm256_fmadd_ps(_mm256_broadcast_ss(kc), v0, acc[co]);
                acc[co] = _mm256_fmadd_ps(_mm256_broadcast_ss(kc + 1), v1, acc[co]);
                acc[co] = _mm256_fmadd_ps(_mm256_broadcast_ss(kc + 2), v2, acc[co]);
            }
        }
    }
    for (size_t co = 0; co < cout; co++) {
        __m256 v = bias ? _mm256_add_ps(acc[co], splat(bias[co])) : acc[co];
        float *out = y + (co * h + oy) * width + ox;
        if (n == 8) _mm256_storeu_ps(out, v);
        else _mm256_maskstore_ps(out, tail_mask(n), v);
    }
}

static inline __attribute__((always_inline)) void direct_rows(const float *x, const float *w, const float *bias,
                                                              float *y, size_t cin, size_t h, size_t width,
                                                              size_t oy0, size_t oy1, size_t cout) {
    for (size_t oy = oy0; oy < oy1; oy++)
        for (size_t ox = 0; ox < width; ox += 8) direct_chunk(x, w, bias, y, cin, h, width, oy, ox, cout);
}

void lcm_conv3x3_direct_f32_avx2(const float *x, const float *w, const float *bias, float *y, size_t cin,
                                 size_t cout, size_t h, size_t width, size_t oy0, size_t oy1) {
    switch (cout) {
    case 1: direct_rows(x, w, bias, y, cin, h, width, oy0, oy1, 1); break;
    case 2: direct_rows(x, w, bias, y, cin, h, width, oy0, oy1, 2); break;
    case 3: direct_rows(x, w, bias, y, cin, h, width, oy0, oy1, 3); break;
    case 4: direct_rows(x, w, bias, y, cin, h, width, oy0, oy1, 4); break;
    case 5: direct_rows(x, w, bias, y, cin, h, width, oy0, oy1, 5); break;
    case 6: direct_rows(x, w, bias, y, cin, h, width, oy0, oy1, 6); break;
    case 7: direct_rows(x, w, bias, y, cin, h, width, oy0, oy1, 7); break;
    case 8: direct_rows(x, w, bias, y, cin, h, width, oy0, oy1, 8); break;
    default: lcm_conv3x3_direct_f32_ref(x, w, bias, y, cin, cout, h, width, oy0, oy1); break;
    }
}

#pragma clang attribute pop

#else  // not x86: the AVX2 names forward to the reference twins so that callers and tests still link

void lcm_f16_to_f32_avx2(const uint16_t *s, float *d, size_t n) { lcm_f16_to_f32_ref(s, d, n); }
void lcm_bf16_to_f32_avx2(const uint16_t *s, float *d, size_t n) { lcm_bf16_to_f32_ref(s, d, n); }
void lcm_add_f32_avx2(const float *a, const float *b, float *y, size_t n) { lcm_add_f32_ref(a, b, y, n); }
void lcm_mul_f32_avx2(const float *a, const float *b, float *y, size_t n) { lcm_mul_f32_ref(a, b, y, n); }
void lcm_scale_f32_avx2(const float *x, float s, float *y, size_t n) { lcm_scale_f32_ref(x, s, y, n); }
void lcm_bias_planes_f32_avx2(float *x, const float *b, size_t c, size_t p) { lcm_bias_planes_f32_ref(x, b, c, p); }
void lcm_silu_f32_avx2(const float *x, float *y, size_t n) { lcm_silu_f32_ref(x, y, n); }
void lcm_gelu_f32_avx2(const float *x, float *y, size_t n) { lcm_gelu_f32_ref(x, y, n); }
void lcm_gelu_tanh_f32_avx2(const float *x, float *y, size_t n) { lcm_gelu_tanh_f32_ref(x, y, n); }
void lcm_quick_gelu_f32_avx2(const float *x, float *y, size_t n) { lcm_quick_gelu_f32_ref(x, y, n); }
void lcm_geglu_f32_avx2(const float *x, float *y, size_t r, size_t c) { lcm_geglu_f32_ref(x, y, r, c); }
void lcm_softmax_rows_f32_avx2(float *x, size_t r, size_t c, float s, float *sums) {
    lcm_softmax_rows_f32_ref(x, r, c, s, sums);
}
void lcm_layernorm_f32_avx2(const float *x, float *y, const float *g, const float *b, size_t r, size_t c,
                            float e) {
    lcm_layernorm_f32_ref(x, y, g, b, r, c, e);
}
void lcm_groupnorm_group_f32_avx2(const float *x, float *y, const float *g, const float *b, size_t c, size_t p,
                                  float e, int s) {
    lcm_groupnorm_group_f32_ref(x, y, g, b, c, p, e, s);
}
void lcm_upsample_nearest2x_f32_avx2(const float *x, float *y, size_t p, size_t h, size_t w) {
    lcm_upsample_nearest2x_f32_ref(x, y, p, h, w);
}
void lcm_im2col3x3_f32_avx2(const float *x, float *col, size_t c0, size_t c1, size_t h, size_t w, size_t s,
                            size_t pt, size_t pl, size_t oh, size_t ow, size_t oy0, size_t oy1) {
    lcm_im2col3x3_f32_ref(x, col, c0, c1, h, w, s, pt, pl, oh, ow, oy0, oy1);
}
void lcm_conv3x3_direct_f32_avx2(const float *x, const float *w, const float *b, float *y, size_t cin, size_t cout,
                                 size_t h, size_t width, size_t oy0, size_t oy1) {
    lcm_conv3x3_direct_f32_ref(x, w, b, y, cin, cout, h, width, oy0, oy1);
}

#endif
