// AVX2 twins of Winograd transforms in winograd_ref.c (the three of F(4×4, 3×3), the weight transform of F(2×2,
// 3×3)): the weights four output channels of a 12-channel panel per vector of doubles (gathered, so that each result
// lands where the packed GEMM reads it), the input and output eight horizontally adjacent tiles per vector. Tile
// columns sit four floats apart in the image, so rows are split into their four phases (x mod 4) and joined again
// with 4×8 transposes. The arithmetic is the reference's, operation for operation, without FMA, so the twins agree
// bit for bit. Compiled for AVX2 per function, like avx2.c.
#include "lcm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

#include "winograd_avx2.h"

/// The reference's weights_1d on four lanes of doubles.
static inline void weights_1d4(__m256d g0, __m256d g1, __m256d g2, __m256d o[6]) {
    __m256d a = _mm256_mul_pd(_mm256_add_pd(g0, g2), _mm256_set1_pd(-1.0 / 6));
    __m256d b = _mm256_mul_pd(g1, _mm256_set1_pd(-1.0 / 6));
    __m256d c = _mm256_add_pd(_mm256_mul_pd(g0, _mm256_set1_pd(1.0 / 24)), _mm256_mul_pd(g2, _mm256_set1_pd(1.0 / 6)));
    __m256d d = _mm256_mul_pd(g1, _mm256_set1_pd(1.0 / 12));
    o[0] = _mm256_mul_pd(g0, _mm256_set1_pd(0.25));
    o[1] = _mm256_add_pd(a, b);
    o[2] = _mm256_sub_pd(a, b);
    o[3] = _mm256_add_pd(c, d);
    o[4] = _mm256_sub_pd(c, d);
    o[5] = g2;
}

/// The reference's input_1d on eight lanes.
static inline void input_1d8(const __m256 d[6], __m256 o[6]) {
    const __m256 two = splat(2.0f), four = splat(4.0f), five = splat(5.0f);
    __m256 s = _mm256_sub_ps(d[4], d[2]), t = _mm256_sub_ps(d[3], d[1]);
    o[0] = _mm256_add_ps(_mm256_sub_ps(d[4], _mm256_mul_ps(five, d[2])), _mm256_mul_ps(four, d[0]));
    o[1] = _mm256_sub_ps(_mm256_add_ps(d[3], d[4]), _mm256_mul_ps(four, _mm256_add_ps(d[1], d[2])));
    o[2] = _mm256_add_ps(_mm256_sub_ps(d[4], d[3]), _mm256_mul_ps(four, _mm256_sub_ps(d[1], d[2])));
    o[3] = _mm256_add_ps(s, _mm256_mul_ps(two, t));
    o[4] = _mm256_sub_ps(s, _mm256_mul_ps(two, t));
    o[5] = _mm256_add_ps(_mm256_sub_ps(d[5], _mm256_mul_ps(five, d[3])), _mm256_mul_ps(four, d[1]));
}

/// The reference's output_1d on eight lanes.
static inline void output_1d8(const __m256 m[6], __m256 o[4]) {
    __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
    o[1] = _mm256_add_ps(d12, _mm256_mul_ps(splat(2.0f), d34));
    o[2] = _mm256_add_ps(s12, _mm256_mul_ps(splat(4.0f), s34));
    o[3] = _mm256_add_ps(_mm256_add_ps(d12, _mm256_mul_ps(splat(8.0f), d34)), m[5]);
}

/// The reference's weights2_1d of winograd_ref.c (F(2×2, 3×3)) on four lanes of doubles (o[4], o[5] unused: the
/// signature of weights_1d4).
static inline void weights2_1d4(__m256d g0, __m256d g1, __m256d g2, __m256d o[6]) {
    __m256d a = _mm256_add_pd(g0, g2), half = _mm256_set1_pd(0.5);
    o[0] = g0;
    o[1] = _mm256_mul_pd(_mm256_add_pd(a, g1), half);
    o[2] = _mm256_mul_pd(_mm256_sub_pd(a, g1), half);
    o[3] = g2;
}

/// The weight-panel transform for `alpha` points per side (6: F(4×4, 3×3), 4: F(2×2, 3×3)) with its 1-D
/// transform: the panel's twelve rows in three groups of four lanes of doubles, the taps gathered per input channel.
static inline __attribute__((always_inline)) void weights_panel(
    const float *g, size_t cin, size_t co0, size_t rows, float *packed, size_t point_stride, size_t alpha,
    void (*transform)(__m256d, __m256d, __m256d, __m256d[6])) {
    __m128i rowsAt[3];
    __m128 live[3];
    panel_lanes(cin, rows, rowsAt, live);
    for (size_t ci = 0; ci < cin; ci++) {
        const float *k = g + (co0 * cin + ci) * 9;
        float *out = packed + ci * 12;
        for (int q = 0; q < 3; q++) {
            __m256d tap[9], t[3][6], o[6];
            gather_taps(k, rowsAt[q], live[q], tap);
            for (size_t c = 0; c < 3; c++) transform(tap[c], tap[3 + c], tap[6 + c], t[c]);
            for (size_t i = 0; i < alpha; i++) {
                transform(t[0][i], t[1][i], t[2][i], o);
                // rows past `rows` transform zeros, which may come out as -0: stored as +0, like the reference
                for (size_t j = 0; j < alpha; j++) {
                    const __m128 value = _mm_and_ps(_mm256_cvtpd_ps(o[j]), live[q]);
                    _mm_storeu_ps(out + (alpha * i + j) * point_stride + 4 * q, value);
                }
            }
        }
    }
}

void lcm_winograd4x4_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                            size_t point_stride) {
    weights_panel(g, cin, co0, rows, packed, point_stride, 6, weights_1d4);
}

void lcm_winograd2x2_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                            size_t point_stride) {
    weights_panel(g, cin, co0, rows, packed, point_stride, 4, weights2_1d4);
}

void lcm_winograd4x4_input_f32_avx2(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                    size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    size_t tiles_x = (w + 3) / 4;
    for (size_t ci = c0; ci < c1; ci++)
        for (size_t ty = ty0; ty < ty1; ty++)
            for (size_t tx = 0; tx < tiles_x; tx += CHUNK)
                input_tiles(x + ci * h * w, h, w, 4 * (long)ty - 1, tx, tiles_x - tx < CHUNK ? tiles_x - tx : CHUNK,
                            6, 0, input_1d8, v + ci * ld + (ty - ty0) * tiles_x + tx, point_stride);
}

void lcm_winograd4x4_output_f32_avx2(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                     size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    size_t tiles_x = (w + 3) / 4;
    const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    for (size_t co = c0; co < c1; co++) {
        __m256 b = splat(bias != NULL ? bias[co] : 0.0f);
        float *plane = y + co * h * w;
        for (size_t ty = ty0; ty < ty1; ty++) {
            for (size_t tx = 0; tx < tiles_x; tx += 8) {
                size_t lanes = tiles_x - tx < 8 ? tiles_x - tx : 8;
                const float *in = m + co * ld + (ty - ty0) * tiles_x + tx;
                __m256 t[4][6];
                for (size_t j = 0; j < 6; j++) {
                    __m256 col[6], o[4];
                    for (size_t i = 0; i < 6; i++) col[i] = load_lanes(in + (6 * i + j) * point_stride, lanes);
                    output_1d8(col, o);
                    for (size_t i = 0; i < 4; i++) t[i][j] = o[i];
                }
                size_t pixels = w - 4 * tx < 32 ? w - 4 * tx : 32;
                for (size_t i = 0; i < 4 && 4 * ty + i < h; i++) {
                    __m256 o[4];
                    output_1d8(t[i], o);
                    for (size_t j = 0; j < 4; j++) o[j] = _mm256_permutevar8x32_ps(_mm256_add_ps(o[j], b), order);
                    transpose4_halves(&o[0], &o[1], &o[2], &o[3]);  // o[q] now holds pixels 8q ..< 8q + 8
                    float *row = plane + (4 * ty + i) * w + 4 * tx;
                    for (size_t q = 0; q < 4 && 8 * q < pixels; q++)
                        store_lanes(row + 8 * q, o[q], pixels - 8 * q < 8 ? pixels - 8 * q : 8);
                }
            }
        }
    }
}

#pragma clang attribute pop

#else  // not x86: the AVX2 names forward to the reference twins

void lcm_winograd4x4_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                            size_t ps) {
    lcm_winograd4x4_weights_panel_f32_ref(g, cin, co0, rows, packed, ps);
}

void lcm_winograd2x2_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                            size_t ps) {
    lcm_winograd2x2_weights_panel_f32_ref(g, cin, co0, rows, packed, ps);
}

void lcm_winograd4x4_input_f32_avx2(const float *x, float *v, size_t ld, size_t ps, size_t c0, size_t c1, size_t h,
                                    size_t w, size_t ty0, size_t ty1) {
    lcm_winograd4x4_input_f32_ref(x, v, ld, ps, c0, c1, h, w, ty0, ty1);
}
void lcm_winograd4x4_output_f32_avx2(const float *m, size_t ld, size_t ps, const float *b, float *y, size_t c0,
                                     size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    lcm_winograd4x4_output_f32_ref(m, ld, ps, b, y, c0, c1, h, w, ty0, ty1);
}

#endif
