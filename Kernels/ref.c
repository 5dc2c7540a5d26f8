// Portable reference twins of every kernel: plain loops, libm, double accumulators where a reduction needs them.
// These define the expected results; the AVX2 versions are tested against them.
#include "lcm_kernels.h"

#include <math.h>
#include <string.h>

// No fused multiply-adds: each a * b + c below rounds twice, on every target, as the AVX2 twins do.
#pragma STDC FP_CONTRACT OFF

void lcm_f16_to_f32_ref(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t h = src[i];
        uint32_t sign = (h & 0x8000u) << 16;
        uint32_t exp = (h >> 10) & 0x1fu;
        uint32_t man = h & 0x3ffu;
        uint32_t bits;
        if (exp == 0) {
            if (man == 0) {
                bits = sign;
            } else {  // subnormal: renormalise
                int e = -1;
                do { e++; man <<= 1; } while ((man & 0x400u) == 0);
                bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
            }
        } else if (exp == 0x1f) {
            bits = sign | 0x7f800000u | (man << 13);
        } else {
            bits = sign | ((exp + 112u) << 23) | (man << 13);
        }
        memcpy(&dst[i], &bits, 4);
    }
}

void lcm_bf16_to_f32_ref(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)src[i] << 16;
        memcpy(&dst[i], &bits, 4);
    }
}

void lcm_f32_to_f16_ref(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t x;
        memcpy(&x, &src[i], 4);
        uint32_t sign = (x >> 16) & 0x8000u;
        uint32_t absx = x & 0x7fffffffu;
        uint16_t out;
        if (absx >= 0x7f800000u) {  // inf or nan
            out = (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
        } else if (absx >= 0x477ff000u) {  // rounds to >= 65520: overflow to inf
            out = (uint16_t)(sign | 0x7c00u);
        } else if (absx < 0x38800000u) {  // below the smallest normal half: subnormal or zero
            float f;
            memcpy(&f, &absx, 4);
            // scale into units of 2^-24 and round to nearest even
            float scaled = f * 16777216.0f;
            out = (uint16_t)(sign | (uint32_t)nearbyintf(scaled));
        } else {
            uint32_t mant = absx & 0x7fffffu;
            uint32_t exp = (absx >> 23) - 112u;
            uint32_t half = (exp << 10) | (mant >> 13);
            uint32_t rem = mant & 0x1fffu;
            if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++;
            out = (uint16_t)(sign | half);
        }
        dst[i] = out;
    }
}

void lcm_add_f32_ref(const float *a, const float *b, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void lcm_mul_f32_ref(const float *a, const float *b, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}

void lcm_scale_f32_ref(const float *x, float s, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * s;
}

void lcm_bias_planes_f32_ref(float *x, const float *bias, size_t channels, size_t plane) {
    for (size_t c = 0; c < channels; c++)
        for (size_t i = 0; i < plane; i++) x[c * plane + i] += bias[c];
}

// The activations are written without cancellation so that they keep full relative precision for negative
// inputs, where 1 + erf(z) and 1 + tanh(u) would lose digits: x * sigmoid(k x) = x / (1 + exp(-k x)), and
// 0.5 (1 + tanh u) = 1 / (1 + exp(-2u)). They differ from the textbook forms by rounding only.
static inline float silu_ref(float v) { return v / (1.0f + expf(-v)); }

void lcm_silu_f32_ref(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = silu_ref(x[i]);
}

// 0.5 v (1 + erf z) with z = v / sqrt 2; for z < 0, 1 + erf(z) = erfc(-z).
static inline float gelu_ref(float v) {
    float z = v * 0.70710678118654752f;
    float t = z < 0 ? erfcf(-z) : 1.0f + erff(z);
    return 0.5f * v * t;
}

void lcm_gelu_f32_ref(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = gelu_ref(x[i]);
}

void lcm_gelu_tanh_f32_ref(const float *x, float *y, size_t n) {
    const float k = 0.79788456080286536f;  // sqrt(2/pi)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = k * (v + 0.044715f * v * v * v);
        y[i] = v / (1.0f + expf(-2.0f * u));
    }
}

void lcm_quick_gelu_f32_ref(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-(1.702f * x[i])));
}

void lcm_geglu_f32_ref(const float *x, float *y, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *a = x + r * 2 * cols;
        const float *g = a + cols;
        for (size_t c = 0; c < cols; c++) y[r * cols + c] = a[c] * gelu_ref(g[c]);
    }
}

void lcm_softmax_rows_f32_ref(float *x, size_t rows, size_t cols, float scale, float *sums) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        float m = -INFINITY;
        for (size_t c = 0; c < cols; c++) {
            row[c] *= scale;
            if (row[c] > m) m = row[c];
        }
        double sum = 0;
        for (size_t c = 0; c < cols; c++) {
            row[c] = expf(row[c] - m);
            sum += row[c];
        }
        if (sums != NULL) {
            sums[r] = (float)sum;
            continue;
        }
        float inv = (float)(1.0 / sum);
        for (size_t c = 0; c < cols; c++) row[c] *= inv;
    }
}

void lcm_layernorm_f32_ref(const float *x, float *y, const float *gamma, const float *beta, size_t rows,
                           size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * cols;
        float *out = y + r * cols;
        double sum = 0, sq = 0;
        for (size_t c = 0; c < cols; c++) sum += in[c];
        double mean = sum / (double)cols;
        for (size_t c = 0; c < cols; c++) {
            double d = in[c] - mean;
            sq += d * d;
        }
        float m = (float)mean;
        float inv = (float)(1.0 / sqrt(sq / (double)cols + eps));
        for (size_t c = 0; c < cols; c++) {
            float v = (in[c] - m) * inv;
            out[c] = v * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
        }
    }
}

void lcm_groupnorm_group_f32_ref(const float *x, float *y, const float *gamma, const float *beta,
                                 size_t channels, size_t plane, float eps, int fuse_silu) {
    size_t n = channels * plane;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += x[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        sq += d * d;
    }
    float m = (float)mean;
    float inv = (float)(1.0 / sqrt(sq / (double)n + eps));
    for (size_t c = 0; c < channels; c++) {
        float g = (gamma ? gamma[c] : 1.0f) * inv;
        float b = beta ? beta[c] : 0.0f;
        for (size_t i = 0; i < plane; i++) {
            float v = (x[c * plane + i] - m) * g + b;
            y[c * plane + i] = fuse_silu ? silu_ref(v) : v;
        }
    }
}

void lcm_upsample_nearest2x_f32_ref(const float *x, float *y, size_t planes, size_t h, size_t w) {
    for (size_t p = 0; p < planes; p++) {
        const float *in = x + p * h * w;
        float *out = y + p * 4 * h * w;
        for (size_t oy = 0; oy < 2 * h; oy++)
            for (size_t ox = 0; ox < 2 * w; ox++) out[oy * 2 * w + ox] = in[(oy / 2) * w + ox / 2];
    }
}

void lcm_im2col3x3_f32_ref(const float *x, float *col, size_t c0, size_t c1, size_t h, size_t w,
                           size_t stride, size_t pad_top, size_t pad_left, size_t oh, size_t ow, size_t oy0,
                           size_t oy1) {
    (void)oh;
    size_t rows = oy1 - oy0;
    for (size_t ci = c0; ci < c1; ci++) {
        const float *plane = x + ci * h * w;
        for (size_t ky = 0; ky < 3; ky++) {
            for (size_t kx = 0; kx < 3; kx++) {
                float *row = col + ((ci - c0) * 9 + ky * 3 + kx) * rows * ow;
                for (size_t oy = oy0; oy < oy1; oy++) {
                    long iy = (long)(oy * stride + ky) - (long)pad_top;
                    for (size_t ox = 0; ox < ow; ox++) {
                        long ix = (long)(ox * stride + kx) - (long)pad_left;
                        row[(oy - oy0) * ow + ox] =
                            (iy >= 0 && iy < (long)h && ix >= 0 && ix < (long)w) ? plane[iy * w + ix] : 0.0f;
                    }
                }
            }
        }
    }
}

void lcm_conv3x3_direct_f32_ref(const float *x, const float *w, const float *bias, float *y, size_t cin,
                                size_t cout, size_t h, size_t width, size_t oy0, size_t oy1) {
    for (size_t co = 0; co < cout; co++) {
        for (size_t oy = oy0; oy < oy1; oy++) {
            for (size_t ox = 0; ox < width; ox++) {
                float acc = 0;
                for (size_t ci = 0; ci < cin; ci++) {
                    for (size_t ky = 0; ky < 3; ky++) {
                        if (oy + ky < 1 || oy + ky - 1 >= h) continue;
                        const float *row = x + (ci * h + oy + ky - 1) * width;
                        const float *k = w + ((co * cin + ci) * 3 + ky) * 3;
                        for (size_t kx = 0; kx < 3; kx++) {
                            if (ox + kx < 1 || ox + kx - 1 >= width) continue;
                            acc += k[kx] * row[ox + kx - 1];
                        }
                    }
                }
                y[(co * h + oy) * width + ox] = bias ? acc + bias[co] : acc;
            }
        }
    }
}

size_t lcm_attention_packed_keys(size_t nk, size_t d) { return (nk + 11) / 12 * 12 * d; }
size_t lcm_attention_packed_values(size_t nk, size_t dv) { return nk * dv; }
size_t lcm_attention_scratch_floats(size_t nk, size_t d, size_t dv) {
    // a tile of up to 32 query rows: Qᵀ, Sᵀ over the keys padded to whole 12-key blocks, Oᵀ (attention_simd.h)
    return 32 * (d + (nk + 11) / 12 * 12 + dv);
}

void lcm_attention_pack_f32(const float *k, size_t ldk, const float *v, size_t ldv, size_t nk, size_t d, size_t dv,
                            float *kb, float *vp) {
    const size_t nkp = (nk + 11) / 12 * 12;
    for (size_t j0 = 0; j0 < nkp; j0 += 12) {
        float *block = kb + j0 * d;
        for (size_t c = 0; c < d; c++)
            for (size_t jj = 0; jj < 12; jj++) block[c * 12 + jj] = j0 + jj < nk ? k[(j0 + jj) * ldk + c] : 0.0f;
    }
    for (size_t j = 0; j < nk; j++)
        for (size_t c = 0; c < dv; c++) vp[j * dv + c] = v[j * ldv + c];
}

void lcm_attention_rows_f32_ref(const float *q, size_t ldq, const float *kb, const float *vp, float *o, size_t ldo,
                                size_t rows, size_t nk, size_t d, size_t dv, float scale, float *scratch) {
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < nk; j++) {
            const float *key = kb + (j / 12) * d * 12 + j % 12;
            float acc = 0;
            for (size_t c = 0; c < d; c++) acc += q[i * ldq + c] * key[c * 12];
            scratch[j] = acc * scale;
        }
        float sum;
        lcm_softmax_rows_f32_ref(scratch, 1, nk, 1.0f, &sum);
        const float inv = 1.0f / sum;
        for (size_t c = 0; c < dv; c++) {
            float acc = 0;
            for (size_t j = 0; j < nk; j++) acc += scratch[j] * vp[j * dv + c];
            o[i * ldo + c] = acc * inv;
        }
    }
}

// ---- packed GEMM -----------------------------------------------------------------------------------------

size_t lcm_sgemm_packed_a_floats(size_t m, size_t k) { return (m + 11) / 12 * 12 * k; }

void lcm_sgemm_pack_a_f32(const float *a, size_t lda, size_t m, size_t k, float *ap) {
    for (size_t m0 = 0; m0 < m; m0 += 12)
        for (size_t p = 0; p < k; p++)
            for (size_t r = 0; r < 12; r++) ap[m0 * k + p * 12 + r] = m0 + r < m ? a[(m0 + r) * lda + p] : 0.0f;
}

void lcm_sgemm_packed_f32_ref(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                              size_t k) {
    for (size_t i = 0; i < m; i++) {
        const float *a = ap + i / 12 * 12 * k + i % 12;
        for (size_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (size_t p = 0; p < k; p++) s += a[p * 12] * b[p * ldb + j];
            c[i * ldc + j] = s;
        }
    }
}
