// Reference twins of the Winograd F(4×4, 3×3) and F(2×2, 3×3) transforms (A. Lavin, S. Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016; interpolation points 0, ±1, ±2, ∞ and 0, ±1, ∞): one tile at a time, plain
// loops, the same code for both tile sizes over their 1-D transforms.
// Each 2-D transform is two passes of the 1-D transform, first down the columns, then along the rows, with the
// operations in the order spelled out below; winograd_avx2.c evaluates the same expressions on several kernels
// or tiles at a time, so the twins agree bit for bit.
#include "lcm_kernels.h"

#pragma STDC FP_CONTRACT OFF

/// o = Bᵀ d, Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
static void input_1d(const float d[6], float o[6]) {
    float s = d[4] - d[2], t = d[3] - d[1];
    o[0] = (d[4] - 5.0f * d[2]) + 4.0f * d[0];
    o[1] = (d[3] + d[4]) - 4.0f * (d[1] + d[2]);
    o[2] = (d[4] - d[3]) + 4.0f * (d[1] - d[2]);
    o[3] = s + 2.0f * t;
    o[4] = s - 2.0f * t;
    o[5] = (d[5] - 5.0f * d[3]) + 4.0f * d[1];
}

/// o = Aᵀ m, Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
static void output_1d(const float m[6], float o[4]) {
    float s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    o[0] = (m[0] + s12) + s34;
    o[1] = d12 + 2.0f * d34;
    o[2] = s12 + 4.0f * s34;
    o[3] = (d12 + 8.0f * d34) + m[5];
}

/// o = G g in double, G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
static void weights_1d(double g0, double g1, double g2, double o[6]) {
    double a = (g0 + g2) * (-1.0 / 6), b = g1 * (-1.0 / 6);
    double c = g0 * (1.0 / 24) + g2 * (1.0 / 6), d = g1 * (1.0 / 12);
    o[0] = g0 * 0.25;
    o[1] = a + b;
    o[2] = a - b;
    o[3] = c + d;
    o[4] = c - d;
    o[5] = g2;
}

/// F(2×2): o = Bᵀ d, Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
static void input2_1d(const float d[4], float o[4]) {
    o[0] = d[0] - d[2];
    o[1] = d[1] + d[2];
    o[2] = d[2] - d[1];
    o[3] = d[1] - d[3];
}

/// F(2×2): o = Aᵀ m, Aᵀ = [1 1 1 0; 0 1 -1 -1].
static void output2_1d(const float m[4], float o[2]) {
    o[0] = (m[0] + m[1]) + m[2];
    o[1] = (m[1] - m[2]) - m[3];
}

/// F(2×2): o = G g in double, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
static void weights2_1d(double g0, double g1, double g2, double o[4]) {
    double a = g0 + g2;
    o[0] = g0;
    o[1] = (a + g1) * 0.5;
    o[2] = (a - g1) * 0.5;
    o[3] = g2;
}

/// The weight-panel transform for tiles of `m` output pixels per side (alpha = m + 2 points per side).
static void weights_panel(const float *g, size_t cin, size_t co0, size_t rows, float *packed, size_t point_stride,
                          size_t m, void (*transform)(double, double, double, double *)) {
    const size_t alpha = m + 2, points = alpha * alpha;
    for (size_t ci = 0; ci < cin; ci++) {
        for (size_t r = 0; r < 12; r++) {
            float *out = packed + ci * 12 + r;
            if (r >= rows) {
                for (size_t p = 0; p < points; p++) out[p * point_stride] = 0.0f;
                continue;
            }
            const float *k = g + ((co0 + r) * cin + ci) * 9;
            double t[3][6], o[6];  // t[c] = G (column c of the kernel)
            for (size_t c = 0; c < 3; c++) transform(k[c], k[3 + c], k[6 + c], t[c]);
            for (size_t i = 0; i < alpha; i++) {
                transform(t[0][i], t[1][i], t[2][i], o);
                for (size_t j = 0; j < alpha; j++) out[(alpha * i + j) * point_stride] = (float)o[j];
            }
        }
    }
}

static void input(const float *x, float *v, size_t ld, size_t point_stride, size_t c0, size_t c1, size_t h,
                  size_t w, size_t ty0, size_t ty1, size_t m, void (*transform)(const float *, float *)) {
    const size_t alpha = m + 2, tiles_x = (w + m - 1) / m;
    for (size_t ci = c0; ci < c1; ci++) {
        const float *plane = x + ci * h * w;
        for (size_t ty = ty0; ty < ty1; ty++) {
            for (size_t tx = 0; tx < tiles_x; tx++) {
                float d[6][6], col[6], t[6][6];
                for (size_t r = 0; r < alpha; r++) {
                    long iy = (long)(m * ty + r) - 1;
                    for (size_t c = 0; c < alpha; c++) {
                        long ix = (long)(m * tx + c) - 1;
                        d[r][c] = (iy >= 0 && iy < (long)h && ix >= 0 && ix < (long)w) ? plane[iy * (long)w + ix]
                                                                                      : 0.0f;
                    }
                }
                for (size_t c = 0; c < alpha; c++) {
                    float o[6];
                    for (size_t r = 0; r < alpha; r++) col[r] = d[r][c];
                    transform(col, o);
                    for (size_t r = 0; r < alpha; r++) t[r][c] = o[r];
                }
                float *out = v + ci * ld + (ty - ty0) * tiles_x + tx;
                for (size_t i = 0; i < alpha; i++) {
                    float o[6];
                    transform(t[i], o);
                    for (size_t j = 0; j < alpha; j++) out[(i * alpha + j) * point_stride] = o[j];
                }
            }
        }
    }
}

static void output(const float *mat, size_t ld, size_t point_stride, const float *bias, float *y, size_t c0,
                   size_t c1, size_t h, size_t w, size_t ty0, size_t ty1, size_t m,
                   void (*transform)(const float *, float *)) {
    const size_t alpha = m + 2, tiles_x = (w + m - 1) / m;
    for (size_t co = c0; co < c1; co++) {
        float b = bias != NULL ? bias[co] : 0.0f;
        float *plane = y + co * h * w;
        for (size_t ty = ty0; ty < ty1; ty++) {
            for (size_t tx = 0; tx < tiles_x; tx++) {
                const float *in = mat + co * ld + (ty - ty0) * tiles_x + tx;
                float t[4][6], col[6], o[4];
                for (size_t j = 0; j < alpha; j++) {
                    for (size_t i = 0; i < alpha; i++) col[i] = in[(i * alpha + j) * point_stride];
                    transform(col, o);
                    for (size_t i = 0; i < m; i++) t[i][j] = o[i];
                }
                for (size_t i = 0; i < m && m * ty + i < h; i++) {
                    transform(t[i], o);
                    for (size_t j = 0; j < m && m * tx + j < w; j++) plane[(m * ty + i) * w + m * tx + j] = o[j] + b;
                }
            }
        }
    }
}

void lcm_winograd4x4_weights_panel_f32_ref(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                           size_t point_stride) {
    weights_panel(g, cin, co0, rows, packed, point_stride, 4, weights_1d);
}

void lcm_winograd4x4_input_f32_ref(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                   size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    input(x, v, ld, point_stride, c0, c1, h, w, ty0, ty1, 4, input_1d);
}

void lcm_winograd4x4_output_f32_ref(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                    size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    output(m, ld, point_stride, bias, y, c0, c1, h, w, ty0, ty1, 4, output_1d);
}

void lcm_winograd2x2_weights_panel_f32_ref(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                           size_t point_stride) {
    weights_panel(g, cin, co0, rows, packed, point_stride, 2, weights2_1d);
}

void lcm_winograd2x2_input_f32_ref(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                   size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    input(x, v, ld, point_stride, c0, c1, h, w, ty0, ty1, 2, input2_1d);
}

void lcm_winograd2x2_output_f32_ref(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                    size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    output(m, ld, point_stride, bias, y, c0, c1, h, w, ty0, ty1, 2, output2_1d);
}
