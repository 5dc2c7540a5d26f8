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

/// Tiles per pass of the input transform's row buffers (bounds the stack use to about 14 KiB).
#define CHUNK 64
/// Floats per buffered row: CHUNK tiles rounded up to whole vectors, plus one vector of tiles on the right
/// (the last tiles read the first two phases of their right neighbour).
#define ROW (4 * (CHUNK + 8))

static const int32_t tail_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// Lanes 0..<k set, k in 0...8.
static inline __m256i tail_mask(size_t k) { return _mm256_loadu_si256((const __m256i *)(tail_bits + 8 - k)); }

static inline __m256 splat(float v) { return _mm256_set1_ps(v); }

/// Stores the first k lanes (k in 1...8).
static inline void store_lanes(float *p, __m256 v, size_t k) {
    if (k == 8)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, tail_mask(k), v);
}

/// Loads the first k lanes (k in 1...8), the others zero.
static inline __m256 load_lanes(const float *p, size_t k) {
    return k == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(k));
}

/// Transposes the 4×4 blocks inside each 128-bit half of r0..r3.
static inline void transpose4_halves(__m256 *r0, __m256 *r1, __m256 *r2, __m256 *r3) {
    __m256 t0 = _mm256_unpacklo_ps(*r0, *r1), t1 = _mm256_unpacklo_ps(*r2, *r3);
    __m256 t2 = _mm256_unpackhi_ps(*r0, *r1), t3 = _mm256_unpackhi_ps(*r2, *r3);
    *r0 = _mm256_shuffle_ps(t0, t1, _MM_SHUFFLE(1, 0, 1, 0));
    *r1 = _mm256_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 2, 3, 2));
    *r2 = _mm256_shuffle_ps(t2, t3, _MM_SHUFFLE(1, 0, 1, 0));
    *r3 = _mm256_shuffle_ps(t2, t3, _MM_SHUFFLE(3, 2, 3, 2));
}

/// src holds 8 tiles of 4 floats (32 floats); phase[c][t] = src[4t + c].
static inline void split_phases(const float *src, float *phase0, float *phase1, float *phase2, float *phase3) {
    __m256 a = _mm256_loadu_ps(src), b = _mm256_loadu_ps(src + 8);
    __m256 c = _mm256_loadu_ps(src + 16), d = _mm256_loadu_ps(src + 24);
    transpose4_halves(&a, &b, &c, &d);  // lanes now hold tiles 0 2 4 6 | 1 3 5 7
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    _mm256_storeu_ps(phase0, _mm256_permutevar8x32_ps(a, order));
    _mm256_storeu_ps(phase1, _mm256_permutevar8x32_ps(b, order));
    _mm256_storeu_ps(phase2, _mm256_permutevar8x32_ps(c, order));
    _mm256_storeu_ps(phase3, _mm256_permutevar8x32_ps(d, order));
}

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
    // offsets of tap 0 of (co0 + r, ci) from (co0, ci)
    __m128i rowsAt[3];
    __m128 live[3];
    for (int q = 0; q < 3; q++) {
        const int r = 4 * q;
        rowsAt[q] = _mm_mullo_epi32(_mm_setr_epi32(r, r + 1, r + 2, r + 3), _mm_set1_epi32((int)(cin * 9)));
        size_t lanes = rows > (size_t)r ? rows - (size_t)r : 0;
        if (lanes > 4) lanes = 4;
        live[q] = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(tail_bits + 8 - lanes)));
    }
    for (size_t ci = 0; ci < cin; ci++) {
        const float *k = g + (co0 * cin + ci) * 9;
        float *out = packed + ci * 12;
        for (int q = 0; q < 3; q++) {
            __m256d tap[9], t[3][6], o[6];
            for (size_t i = 0; i < 9; i++)
                tap[i] = _mm256_cvtps_pd(_mm_mask_i32gather_ps(_mm_setzero_ps(), k + i, rowsAt[q], live[q], 4));
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

/// The eight floats of an image row (NULL: a row of the zero padding) at columns x ..< x + 8, zero outside [0, w).
static inline __m256 load_columns(const float *row, long x, size_t w) {
    if (row == NULL || x >= (long)w) return _mm256_setzero_ps();
    if (x >= 0 && x + 8 <= (long)w) return _mm256_loadu_ps(row + x);
    __m256i col = _mm256_add_epi32(_mm256_set1_epi32((int)x), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i inside = _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)),
                                      _mm256_cmpgt_epi32(_mm256_set1_epi32((int)w), col));
    // x may be -1: the masked-off lane's address precedes the row but is never accessed
    return _mm256_maskload_ps((const float *)((uintptr_t)row + (uintptr_t)(x * (long)sizeof(float))), inside);
}

/// Input transform of tiles tx0..<tx0+n (n <= CHUNK) in tile row ty of one channel plane; tile tx0 + k goes
/// to out[p*point_stride + k].
static void input_chunk(const float *plane, size_t h, size_t w, size_t ty, size_t tx0, size_t n, float *out,
                        size_t point_stride) {
    float cols[6][ROW], phase[6][4][CHUNK + 8];
    size_t groups = (n + 7) / 8;
    size_t width = 32 * (groups + 1);  // floats per buffered row; float i is image column 4*tx0 - 1 + i
    const float *rows[6];
    for (size_t r = 0; r < 6; r++) {
        long iy = (long)(4 * ty + r) - 1;
        rows[r] = iy >= 0 && iy < (long)h ? plane + (size_t)iy * w : NULL;
    }
    // down the columns
    for (size_t i = 0; i < width; i += 8) {
        __m256 d[6], o[6];
        for (size_t r = 0; r < 6; r++) d[r] = load_columns(rows[r], 4 * (long)tx0 - 1 + (long)i, w);
        input_1d8(d, o);
        for (size_t k = 0; k < 6; k++) _mm256_storeu_ps(cols[k] + i, o[k]);
    }
    for (size_t k = 0; k < 6; k++)
        for (size_t g = 0; g <= groups; g++)
            split_phases(cols[k] + 32 * g, phase[k][0] + 8 * g, phase[k][1] + 8 * g, phase[k][2] + 8 * g,
                         phase[k][3] + 8 * g);
    // along the rows: tile t reads phases 0-3 of itself and phases 0-1 of tile t + 1
    for (size_t g = 0; g < groups; g++) {
        size_t lanes = n - 8 * g < 8 ? n - 8 * g : 8;
        for (size_t k = 0; k < 6; k++) {
            __m256 d[6], o[6];
            for (size_t c = 0; c < 4; c++) d[c] = _mm256_loadu_ps(phase[k][c] + 8 * g);
            d[4] = _mm256_loadu_ps(phase[k][0] + 8 * g + 1);
            d[5] = _mm256_loadu_ps(phase[k][1] + 8 * g + 1);
            input_1d8(d, o);
            for (size_t j = 0; j < 6; j++) store_lanes(out + (6 * k + j) * point_stride + 8 * g, o[j], lanes);
        }
    }
}

void lcm_winograd4x4_input_f32_avx2(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                    size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    size_t tiles_x = (w + 3) / 4;
    for (size_t ci = c0; ci < c1; ci++)
        for (size_t ty = ty0; ty < ty1; ty++)
            for (size_t tx = 0; tx < tiles_x; tx += CHUNK)
                input_chunk(x + ci * h * w, h, w, ty, tx, tiles_x - tx < CHUNK ? tiles_x - tx : CHUNK,
                            v + ci * ld + (ty - ty0) * tiles_x + tx, point_stride);
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
