// Reference twins of the Winograd transforms of a 3×3 convolution (stride 1, padding 1) of a nearest-2× upsampled
// map, computed on the map before upsampling. Output pixel (2y + a, 2x + b) of conv3×3(up(x)) only reads x at rows
// y - 1 + a ... y + a and columns x - 1 + b ... x + b: each of the four phases (a, b) is a 2×2 convolution of x with
// the 3×3 kernel's taps summed in pairs (a = 0: rows {0}, {1, 2}; a = 1: rows {0, 1}, {2}; likewise columns), which
// Winograd F(4×4, 2×2) computes with 25 multiplications per 16 outputs (interpolation points 0, ±1, 1/2, ∞), against
// 36 per 16 for F(4×4, 3×3) on the upsampled map: 0.69× the GEMM work, a quarter of the input tiles to transform,
// and no upsampled map.
// A tile is 4×4 pixels of x (8×8 of the output); its four phases read the 5×5 windows at offsets (a, b) of the 6×6
// patch at rows 4ty-1 ... 4ty+4 and columns 4tx-1 ... 4tx+4 (the patch of F(4×4, 3×3)), so the input transform
// takes the patch down the columns once per row phase, then each of those rows once per column phase.
// The 2-D transforms are two passes of the 1-D ones, columns first; winograd_upsample_avx2.c evaluates the same
// expressions on several tiles or kernels at a time, so the twins agree bit for bit.
#include "lcm_kernels.h"

#pragma STDC FP_CONTRACT OFF

/// o = Bᵀ d, Bᵀ = [1 -2 -1 2 0; 0 -1 1 2 0; 0 1 -3 2 0; 0 -1 0 1 0; 0 1 -2 -1 2].
static void input_1d(const float d[5], float o[5]) {
    float t = d[3] - d[1], u = d[2] - d[1];
    o[0] = (d[0] - d[2]) + 2.0f * t;
    o[1] = u + 2.0f * d[3];
    o[2] = 2.0f * (d[3] - d[2]) - u;
    o[3] = t;
    o[4] = 2.0f * (d[4] - d[2]) - t;
}

/// o = Aᵀ m, Aᵀ = [1 1 1 8 0; 0 1 -1 4 0; 0 1 1 2 0; 0 1 -1 1 1].
static void output_1d(const float m[5], float o[4]) {
    float s = m[1] + m[2], d = m[1] - m[2];
    o[0] = (m[0] + s) + 8.0f * m[3];
    o[1] = d + 4.0f * m[3];
    o[2] = s + 2.0f * m[3];
    o[3] = (d + m[3]) + m[4];
}

/// o = G g in double, G = [1 0; 1/2 1/2; -1/6 1/6; -1/3 -1/6; 0 1/2].
static void weights_1d(double g0, double g1, double o[5]) {
    o[0] = g0;
    o[1] = (g0 + g1) * 0.5;
    o[2] = (g1 - g0) * (1.0 / 6);
    o[3] = (2.0 * g0 + g1) * (-1.0 / 6);
    o[4] = g1 * 0.5;
}

/// The two taps of phase `a` from the three of a kernel column or row (in double: exact).
static void fold(double k0, double k1, double k2, int a, double o[2]) {
    o[0] = a == 0 ? k0 : k0 + k1;
    o[1] = a == 0 ? k1 + k2 : k2;
}

void lcm_winograd_upsample_weights_panel_f32_ref(const float *g, size_t cin, size_t co0, size_t rows,
                                                 float *packed, size_t point_stride) {
    for (size_t ci = 0; ci < cin; ci++) {
        for (size_t r = 0; r < 12; r++) {
            float *out = packed + ci * 12 + r;
            if (r >= rows) {
                for (size_t p = 0; p < 100; p++) out[p * point_stride] = 0.0f;
                continue;
            }
            const float *k = g + ((co0 + r) * cin + ci) * 9;
            for (int a = 0; a < 2; a++) {
                double rowTaps[2][3];  // rowTaps[q][c]: tap q of phase a's rows, kernel column c
                for (int c = 0; c < 3; c++) {
                    double o[2];
                    fold(k[c], k[3 + c], k[6 + c], a, o);
                    rowTaps[0][c] = o[0];
                    rowTaps[1][c] = o[1];
                }
                for (int b = 0; b < 2; b++) {
                    double kab[2][2], t[2][5], o[5];  // kab: phase (a, b)'s 2×2 kernel; t[c] = G (its column c)
                    for (int q = 0; q < 2; q++) {
                        double f[2];
                        fold(rowTaps[q][0], rowTaps[q][1], rowTaps[q][2], b, f);
                        kab[q][0] = f[0];
                        kab[q][1] = f[1];
                    }
                    for (int c = 0; c < 2; c++) weights_1d(kab[0][c], kab[1][c], t[c]);
                    for (int i = 0; i < 5; i++) {
                        weights_1d(t[0][i], t[1][i], o);
                        for (int j = 0; j < 5; j++) out[(25 * (2 * a + b) + 5 * i + j) * point_stride] = (float)o[j];
                    }
                }
            }
        }
    }
}

void lcm_winograd_upsample_input_f32_ref(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                         size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    const size_t tiles_x = (w + 3) / 4;
    for (size_t ci = c0; ci < c1; ci++) {
        const float *plane = x + ci * h * w;
        for (size_t ty = ty0; ty < ty1; ty++) {
            for (size_t tx = 0; tx < tiles_x; tx++) {
                float d[6][6], t[2][5][6];  // t[a][i][c]: point i of column c down rows a ... a + 4
                for (size_t r = 0; r < 6; r++) {
                    long iy = (long)(4 * ty + r) - 1;
                    for (size_t c = 0; c < 6; c++) {
                        long ix = (long)(4 * tx + c) - 1;
                        d[r][c] = (iy >= 0 && iy < (long)h && ix >= 0 && ix < (long)w) ? plane[iy * (long)w + ix]
                                                                                      : 0.0f;
                    }
                }
                for (int a = 0; a < 2; a++) {
                    for (size_t c = 0; c < 6; c++) {
                        float col[5], o[5];
                        for (int r = 0; r < 5; r++) col[r] = d[a + r][c];
                        input_1d(col, o);
                        for (int i = 0; i < 5; i++) t[a][i][c] = o[i];
                    }
                }
                float *out = v + ci * ld + (ty - ty0) * tiles_x + tx;
                for (int a = 0; a < 2; a++) {
                    for (int i = 0; i < 5; i++) {
                        for (int b = 0; b < 2; b++) {
                            float o[5];
                            input_1d(&t[a][i][b], o);
                            for (int j = 0; j < 5; j++) out[(25 * (2 * a + b) + 5 * i + j) * point_stride] = o[j];
                        }
                    }
                }
            }
        }
    }
}

void lcm_winograd_upsample_output_f32_ref(const float *m, size_t ld, size_t point_stride, const float *bias,
                                          float *y, size_t c0, size_t c1, size_t h, size_t w, size_t ty0,
                                          size_t ty1) {
    const size_t tiles_x = (w + 3) / 4;
    for (size_t co = c0; co < c1; co++) {
        float bv = bias != NULL ? bias[co] : 0.0f;
        float *plane = y + co * 4 * h * w;
        for (size_t ty = ty0; ty < ty1; ty++) {
            for (size_t tx = 0; tx < tiles_x; tx++) {
                for (int a = 0; a < 2; a++) {
                    for (int b = 0; b < 2; b++) {
                        const float *in = m + co * ld + (ty - ty0) * tiles_x + tx + 25 * (2 * a + b) * point_stride;
                        float t[4][5], col[5], o[4];
                        for (int j = 0; j < 5; j++) {
                            for (int i = 0; i < 5; i++) col[i] = in[(5 * i + j) * point_stride];
                            output_1d(col, o);
                            for (int i = 0; i < 4; i++) t[i][j] = o[i];
                        }
                        for (size_t i = 0; i < 4 && 4 * ty + i < h; i++) {
                            output_1d(t[i], o);
                            float *row = plane + (2 * (4 * ty + i) + (size_t)a) * 2 * w + (size_t)b;
                            for (size_t j = 0; j < 4 && 4 * tx + j < w; j++) row[2 * (4 * tx + j)] = o[j] + bv;
                        }
                    }
                }
            }
        }
    }
}
