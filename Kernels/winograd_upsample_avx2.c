// AVX2 twins of the transforms in winograd_upsample_ref.c (Winograd F(4×4, 2×2) of the four phases of a 3×3
// convolution of a nearest-2× upsampled map): the weights four output channels of a 12-channel panel per vector
// of doubles, as winograd_avx2.c; the input eight horizontally adjacent tiles per vector, the rows split into the
// four phases (x mod 4) of the tiles, as winograd_avx2.c; the output eight tiles per vector, whose 8 × 8 results
// of a row (four pixels of each column phase, interleaved) an 8×8 transpose puts in pixel order. The arithmetic
// is the reference's, operation for operation, without FMA, so the twins agree bit for bit.
#include "lcm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

#include "winograd_avx2.h"

/// The reference's input_1d on eight lanes.
static inline void input_1d8(const __m256 d[5], __m256 o[5]) {
    const __m256 two = splat(2.0f);
    __m256 t = _mm256_sub_ps(d[3], d[1]), u = _mm256_sub_ps(d[2], d[1]);
    o[0] = _mm256_add_ps(_mm256_sub_ps(d[0], d[2]), _mm256_mul_ps(two, t));
    o[1] = _mm256_add_ps(u, _mm256_mul_ps(two, d[3]));
    o[2] = _mm256_sub_ps(_mm256_mul_ps(two, _mm256_sub_ps(d[3], d[2])), u);
    o[3] = t;
    o[4] = _mm256_sub_ps(_mm256_mul_ps(two, _mm256_sub_ps(d[4], d[2])), t);
}

/// The reference's output_1d on eight lanes.
static inline void output_1d8(const __m256 m[5], __m256 o[4]) {
    __m256 s = _mm256_add_ps(m[1], m[2]), d = _mm256_sub_ps(m[1], m[2]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s), _mm256_mul_ps(splat(8.0f), m[3]));
    o[1] = _mm256_add_ps(d, _mm256_mul_ps(splat(4.0f), m[3]));
    o[2] = _mm256_add_ps(s, _mm256_mul_ps(splat(2.0f), m[3]));
    o[3] = _mm256_add_ps(_mm256_add_ps(d, m[3]), m[4]);
}

/// The reference's weights_1d on four lanes of doubles.
static inline void weights_1d4(__m256d g0, __m256d g1, __m256d o[5]) {
    o[0] = g0;
    o[1] = _mm256_mul_pd(_mm256_add_pd(g0, g1), _mm256_set1_pd(0.5));
    o[2] = _mm256_mul_pd(_mm256_sub_pd(g1, g0), _mm256_set1_pd(1.0 / 6));
    o[3] = _mm256_mul_pd(_mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(2.0), g0), g1), _mm256_set1_pd(-1.0 / 6));
    o[4] = _mm256_mul_pd(g1, _mm256_set1_pd(0.5));
}

/// The reference's fold on four lanes of doubles.
static inline void fold4(__m256d k0, __m256d k1, __m256d k2, int a, __m256d o[2]) {
    o[0] = a == 0 ? k0 : _mm256_add_pd(k0, k1);
    o[1] = a == 0 ? _mm256_add_pd(k1, k2) : k2;
}

/// One phase at a time over all input channels, the taps gathered again for each: 25 streams of stores, where all
/// 100 points of an input channel at once ran 3× slower per value than F(4×4, 3×3)'s 36 (bound by the stores).
void lcm_winograd_upsample_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows,
                                                  float *packed, size_t point_stride) {
    __m128i rowsAt[3];
    __m128 live[3];
    panel_lanes(cin, rows, rowsAt, live);
    for (int a = 0; a < 2; a++) {
        for (int b = 0; b < 2; b++) {
            for (size_t ci = 0; ci < cin; ci++) {
                const float *k = g + (co0 * cin + ci) * 9;
                float *out = packed + 25 * (2 * a + b) * point_stride + ci * 12;
                for (int q = 0; q < 3; q++) {
                    __m256d tap[9], rowTaps[2][3], kab[2][2], t[2][5], o[5];
                    gather_taps(k, rowsAt[q], live[q], tap);
                    for (int c = 0; c < 3; c++) {
                        fold4(tap[c], tap[3 + c], tap[6 + c], a, o);
                        rowTaps[0][c] = o[0];
                        rowTaps[1][c] = o[1];
                    }
                    for (int r = 0; r < 2; r++) fold4(rowTaps[r][0], rowTaps[r][1], rowTaps[r][2], b, kab[r]);
                    for (int c = 0; c < 2; c++) weights_1d4(kab[0][c], kab[1][c], t[c]);
                    for (int i = 0; i < 5; i++) {
                        weights_1d4(t[0][i], t[1][i], o);
                        // rows past `rows` transform zeros, which may come out as -0: stored as +0, like the reference
                        for (int j = 0; j < 5; j++) {
                            const __m128 value = _mm_and_ps(_mm256_cvtpd_ps(o[j]), live[q]);
                            _mm_storeu_ps(out + (5 * i + j) * point_stride + 4 * q, value);
                        }
                    }
                }
            }
        }
    }
}

/// One phase at a time over all channels and tiles: writing the 100 points of a tile at once (100 streams of
/// stores) ran 5× slower per value than F(4×4, 3×3)'s 36 streams, bound by the stores; 25 at a time, each
/// phase's patch rows transformed down the columns again (the cheap part), as fast.
void lcm_winograd_upsample_input_f32_avx2(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                          size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    size_t tiles_x = (w + 3) / 4;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (size_t ci = c0; ci < c1; ci++)
                for (size_t ty = ty0; ty < ty1; ty++)
                    for (size_t tx = 0; tx < tiles_x; tx += CHUNK)
                        input_tiles(x + ci * h * w, h, w, 4 * (long)ty - 1 + a, tx,
                                    tiles_x - tx < CHUNK ? tiles_x - tx : CHUNK, 5, (size_t)b, input_1d8,
                                    v + 25 * (2 * a + b) * point_stride + ci * ld + (ty - ty0) * tiles_x + tx,
                                    point_stride);
}

/// r[i][j] becomes r[j][i].
static inline void transpose8(__m256 r[8]) {
    __m256 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

/// One row phase a at a time over all channels and tiles (50 streams of loads; 100 ran 2.5× slower per value than
/// F(4×4, 3×3)'s 36).
void lcm_winograd_upsample_output_f32_avx2(const float *m, size_t ld, size_t point_stride, const float *bias,
                                           float *y, size_t c0, size_t c1, size_t h, size_t w, size_t ty0,
                                           size_t ty1) {
    size_t tiles_x = (w + 3) / 4;
    for (int a = 0; a < 2; a++) {
        for (size_t co = c0; co < c1; co++) {
            __m256 bv = splat(bias != NULL ? bias[co] : 0.0f);
            float *plane = y + co * 4 * h * w;
            for (size_t ty = ty0; ty < ty1; ty++) {
                for (size_t tx = 0; tx < tiles_x; tx += 8) {
                    size_t lanes = tiles_x - tx < 8 ? tiles_x - tx : 8;
                    const float *in = m + co * ld + (ty - ty0) * tiles_x + tx;
                    size_t pixels = 2 * w - 8 * tx < 64 ? 2 * w - 8 * tx : 64;
                    __m256 t[2][4][5];
                    for (int b = 0; b < 2; b++) {
                        for (int j = 0; j < 5; j++) {
                            __m256 col[5], o[4];
                            for (int i = 0; i < 5; i++)
                                col[i] = load_lanes(in + (25 * (2 * a + b) + 5 * i + j) * point_stride, lanes);
                            output_1d8(col, o);
                            for (int i = 0; i < 4; i++) t[b][i][j] = o[i];
                        }
                    }
                    for (size_t i = 0; i < 4 && 4 * ty + i < h; i++) {
                        __m256 r[8];  // r[2j + b]: pixel 2j + b of each tile's eight in this row
                        for (int b = 0; b < 2; b++) {
                            __m256 o[4];
                            output_1d8(t[b][i], o);
                            for (int j = 0; j < 4; j++) r[2 * j + b] = _mm256_add_ps(o[j], bv);
                        }
                        transpose8(r);  // r[q]: the eight pixels of tile tx + q
                        float *row = plane + (2 * (4 * ty + i) + (size_t)a) * 2 * w + 8 * tx;
                        for (size_t q = 0; q < 8 && 8 * q < pixels; q++)
                            store_lanes(row + 8 * q, r[q], pixels - 8 * q < 8 ? pixels - 8 * q : 8);
                    }
                }
            }
        }
    }
}

#pragma clang attribute pop

#else  // not x86: the AVX2 names forward to the reference twins

void lcm_winograd_upsample_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows,
                                                  float *packed, size_t ps) {
    lcm_winograd_upsample_weights_panel_f32_ref(g, cin, co0, rows, packed, ps);
}
void lcm_winograd_upsample_input_f32_avx2(const float *x, float *v, size_t ld, size_t ps, size_t c0, size_t c1,
                                          size_t h, size_t w, size_t ty0, size_t ty1) {
    lcm_winograd_upsample_input_f32_ref(x, v, ld, ps, c0, c1, h, w, ty0, ty1);
}
void lcm_winograd_upsample_output_f32_avx2(const float *m, size_t ld, size_t ps, const float *b, float *y,
                                           size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    lcm_winograd_upsample_output_f32_ref(m, ld, ps, b, y, c0, c1, h, w, ty0, ty1);
}

#endif
