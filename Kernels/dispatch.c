// Run-time ISA choice: each dispatching entry point forwards to the AVX2 twin when the CPU has AVX2 and FMA,
// unless the environment variable LCM_KERNELS=reference forces the portable twins (read once, at first use).
#include "lcm_kernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

int lcm_cpu_has(const char *name) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (strcmp(name, "avx2") == 0) return __builtin_cpu_supports("avx2") != 0;
    if (strcmp(name, "fma") == 0) return __builtin_cpu_supports("fma") != 0;
    if (strcmp(name, "avx512f") == 0) return __builtin_cpu_supports("avx512f") != 0;
    if (strcmp(name, "avx512bw") == 0) return __builtin_cpu_supports("avx512bw") != 0;
    if (strcmp(name, "avx512vl") == 0) return __builtin_cpu_supports("avx512vl") != 0;
    if (strcmp(name, "avx512dq") == 0) return __builtin_cpu_supports("avx512dq") != 0;
    if (strcmp(name, "f16c") == 0) return __builtin_cpu_supports("f16c") != 0;
    if (strcmp(name, "sse4.2") == 0) return __builtin_cpu_supports("sse4.2") != 0;
#else
    (void)name;
#endif
    return 0;
}

static lcm_isa choose_isa(void) {
    const char *forced = getenv("LCM_KERNELS");
    if (forced != NULL && strcmp(forced, "reference") == 0) return LCM_ISA_REF;
    if (!lcm_cpu_has("avx2") || !lcm_cpu_has("fma")) return LCM_ISA_REF;
    if (forced != NULL && strcmp(forced, "avx2") == 0) return LCM_ISA_AVX2;
    int avx512 = lcm_cpu_has("avx512f") && lcm_cpu_has("avx512dq") && lcm_cpu_has("avx512bw") && lcm_cpu_has("avx512vl");
    return avx512 ? LCM_ISA_AVX512 : LCM_ISA_AVX2;
}

lcm_isa lcm_kernels_isa(void) {
    // Threads racing on the first call all compute the same value, so relaxed order is enough.
    static atomic_int chosen = -1;
    int isa = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (isa < 0) {
        isa = (int)choose_isa();
        atomic_store_explicit(&chosen, isa, memory_order_relaxed);
    }
    return (lcm_isa)isa;
}

const char *lcm_kernels_isa_name(void) {
    switch (lcm_kernels_isa()) {
    case LCM_ISA_AVX512: return "avx512";
    case LCM_ISA_AVX2: return "avx2+fma";
    default: return "reference";
    }
}

#define PICK(name) (lcm_kernels_isa() != LCM_ISA_REF ? name##_avx2 : name##_ref)
#define PICK3(name) \
    (lcm_kernels_isa() == LCM_ISA_AVX512 ? name##_avx512 : lcm_kernels_isa() == LCM_ISA_AVX2 ? name##_avx2 : name##_ref)

void lcm_f16_to_f32(const uint16_t *s, float *d, size_t n) { PICK(lcm_f16_to_f32)(s, d, n); }
void lcm_bf16_to_f32(const uint16_t *s, float *d, size_t n) { PICK(lcm_bf16_to_f32)(s, d, n); }
void lcm_add_f32(const float *a, const float *b, float *y, size_t n) { PICK(lcm_add_f32)(a, b, y, n); }
void lcm_mul_f32(const float *a, const float *b, float *y, size_t n) { PICK(lcm_mul_f32)(a, b, y, n); }
void lcm_scale_f32(const float *x, float s, float *y, size_t n) { PICK(lcm_scale_f32)(x, s, y, n); }
void lcm_bias_planes_f32(float *x, const float *b, size_t c, size_t p) { PICK(lcm_bias_planes_f32)(x, b, c, p); }
void lcm_silu_f32(const float *x, float *y, size_t n) { PICK3(lcm_silu_f32)(x, y, n); }
void lcm_gelu_f32(const float *x, float *y, size_t n) { PICK(lcm_gelu_f32)(x, y, n); }
void lcm_gelu_tanh_f32(const float *x, float *y, size_t n) { PICK(lcm_gelu_tanh_f32)(x, y, n); }
void lcm_quick_gelu_f32(const float *x, float *y, size_t n) { PICK(lcm_quick_gelu_f32)(x, y, n); }
void lcm_geglu_f32(const float *x, float *y, size_t r, size_t c) { PICK(lcm_geglu_f32)(x, y, r, c); }
void lcm_softmax_rows_f32(float *x, size_t r, size_t c, float s, float *sums) {
    PICK3(lcm_softmax_rows_f32)(x, r, c, s, sums);
}
void lcm_layernorm_f32(const float *x, float *y, const float *g, const float *b, size_t r, size_t c, float e) {
    PICK(lcm_layernorm_f32)(x, y, g, b, r, c, e);
}
void lcm_groupnorm_group_f32(const float *x, float *y, const float *g, const float *b, size_t c, size_t p,
                             float e, int s) {
    PICK3(lcm_groupnorm_group_f32)(x, y, g, b, c, p, e, s);
}
void lcm_upsample_nearest2x_f32(const float *x, float *y, size_t p, size_t h, size_t w) {
    PICK(lcm_upsample_nearest2x_f32)(x, y, p, h, w);
}
void lcm_im2col3x3_f32(const float *x, float *col, size_t c0, size_t c1, size_t h, size_t w, size_t s,
                       size_t pt, size_t pl, size_t oh, size_t ow, size_t oy0, size_t oy1) {
    PICK(lcm_im2col3x3_f32)(x, col, c0, c1, h, w, s, pt, pl, oh, ow, oy0, oy1);
}
void lcm_sgemm_packed_f32(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                          size_t k) {
    PICK3(lcm_sgemm_packed_f32)(ap, b, ldb, c, ldc, m, n, k);
}
void lcm_winograd4x4_weights_panel_f32(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                       size_t ps) {
    PICK(lcm_winograd4x4_weights_panel_f32)(g, cin, co0, rows, packed, ps);
}
void lcm_winograd4x4_input_f32(const float *x, float *v, size_t ld, size_t ps, size_t c0, size_t c1, size_t h,
                               size_t w, size_t ty0, size_t ty1) {
    PICK(lcm_winograd4x4_input_f32)(x, v, ld, ps, c0, c1, h, w, ty0, ty1);
}
void lcm_winograd4x4_output_f32(const float *m, size_t ld, size_t ps, const float *b, float *y, size_t c0,
                                size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    PICK(lcm_winograd4x4_output_f32)(m, ld, ps, b, y, c0, c1, h, w, ty0, ty1);
}
void lcm_winograd2x2_weights_panel_f32(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                       size_t ps) {
    PICK(lcm_winograd2x2_weights_panel_f32)(g, cin, co0, rows, packed, ps);
}
void lcm_winograd2x2_input_f32(const float *x, float *v, size_t ld, size_t ps, size_t c0, size_t c1, size_t h,
                               size_t w, size_t ty0, size_t ty1) {
    lcm_winograd2x2_input_f32_ref(x, v, ld, ps, c0, c1, h, w, ty0, ty1);
}
void lcm_winograd2x2_output_f32(const float *m, size_t ld, size_t ps, const float *b, float *y, size_t c0,
                                size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    lcm_winograd2x2_output_f32_ref(m, ld, ps, b, y, c0, c1, h, w, ty0, ty1);
}
void lcm_winograd_upsample_weights_panel_f32(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                             size_t ps) {
    PICK(lcm_winograd_upsample_weights_panel_f32)(g, cin, co0, rows, packed, ps);
}
void lcm_winograd_upsample_input_f32(const float *x, float *v, size_t ld, size_t ps, size_t c0, size_t c1,
                                     size_t h, size_t w, size_t ty0, size_t ty1) {
    PICK(lcm_winograd_upsample_input_f32)(x, v, ld, ps, c0, c1, h, w, ty0, ty1);
}
void lcm_winograd_upsample_output_f32(const float *m, size_t ld, size_t ps, const float *b, float *y, size_t c0,
                                      size_t c1, size_t h, size_t w, size_t ty0, size_t ty1) {
    PICK(lcm_winograd_upsample_output_f32)(m, ld, ps, b, y, c0, c1, h, w, ty0, ty1);
}
void lcm_conv3x3_direct_f32(const float *x, const float *w, const float *b, float *y, size_t cin, size_t cout,
                            size_t h, size_t width, size_t oy0, size_t oy1) {
    PICK(lcm_conv3x3_direct_f32)(x, w, b, y, cin, cout, h, width, oy0, oy1);
}
void lcm_attention_rows_f32(const float *q, size_t ldq, const float *kb, const float *vp, float *o, size_t ldo,
                            size_t rows, size_t nk, size_t d, size_t dv, float scale, float *scratch) {
    PICK3(lcm_attention_rows_f32)(q, ldq, kb, vp, o, ldo, rows, nk, d, dv, scale, scratch);
}
