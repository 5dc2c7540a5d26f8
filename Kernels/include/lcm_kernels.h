// swift-lcm C kernels: hot loops of the tensor core.
//
// Rules: C11, no allocation, no threads, no global state besides the one-time ISA choice. Every entry point
// works on the slice the caller passes, so the caller decides how to split work across threads.
// Each operation `lcm_<op>_f32` dispatches once (at first use) to `lcm_<op>_f32_avx2` when the CPU has AVX2 and
// FMA, else to the portable twin `lcm_<op>_f32_ref` (also forced by the environment variable LCM_KERNELS=reference);
// the exp-bound ones, the fused attention and the packed GEMM also have an `lcm_<op>_f32_avx512` twin (avx512.c,
// attention_simd.c, gemm_simd.c), taken on CPUs with AVX-512.
// Tests compare each twin with the reference.
#ifndef LCM_KERNELS_H
#define LCM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- run-time ISA choice -------------------------------------------------------------------------------
typedef enum { LCM_ISA_REF = 0, LCM_ISA_AVX2 = 1, LCM_ISA_AVX512 = 2 } lcm_isa;
/// The ISA the dispatching entry points use (decided once: AVX-512 F/DQ/BW/VL with AVX2+FMA present →
/// LCM_ISA_AVX512, else AVX2+FMA present → LCM_ISA_AVX2; LCM_KERNELS=avx2 caps the choice at AVX2,
/// LCM_KERNELS=reference forces the portable twins). Under LCM_ISA_AVX512 the operations without an `_avx512`
/// twin (all but softmax_rows, silu, groupnorm_group, attention_rows and sgemm_packed) use their AVX2 twin; the
/// two without an `_avx2` twin (winograd2x2_input, winograd2x2_output) always run the portable code.
lcm_isa lcm_kernels_isa(void);
/// "avx512", "avx2+fma" or "reference".
const char *lcm_kernels_isa_name(void);
/// 1 when the CPU reports the feature (x86 only; 0 elsewhere). name: "avx2", "fma", "avx512f",
/// "avx512bw", "avx512vl", "avx512dq", "f16c", "sse4.2".
int lcm_cpu_has(const char *name);

// ---- conversion ----------------------------------------------------------------------------------------
/// IEEE binary16 → binary32, exact (subnormals, inf, nan).
void lcm_f16_to_f32(const uint16_t *src, float *dst, size_t n);
void lcm_f16_to_f32_ref(const uint16_t *src, float *dst, size_t n);
void lcm_f16_to_f32_avx2(const uint16_t *src, float *dst, size_t n);
/// bfloat16 → binary32 (bits << 16), exact.
void lcm_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
void lcm_bf16_to_f32_ref(const uint16_t *src, float *dst, size_t n);
void lcm_bf16_to_f32_avx2(const uint16_t *src, float *dst, size_t n);
/// binary32 → binary16, round to nearest even (for writers).
void lcm_f32_to_f16_ref(const float *src, uint16_t *dst, size_t n);

// ---- elementwise (y may alias an input) -----------------------------------------------------------------
/// y = a + b
void lcm_add_f32(const float *a, const float *b, float *y, size_t n);
void lcm_add_f32_ref(const float *a, const float *b, float *y, size_t n);
void lcm_add_f32_avx2(const float *a, const float *b, float *y, size_t n);
/// y = a * b
void lcm_mul_f32(const float *a, const float *b, float *y, size_t n);
void lcm_mul_f32_ref(const float *a, const float *b, float *y, size_t n);
void lcm_mul_f32_avx2(const float *a, const float *b, float *y, size_t n);
/// y = x * s
void lcm_scale_f32(const float *x, float s, float *y, size_t n);
void lcm_scale_f32_ref(const float *x, float s, float *y, size_t n);
void lcm_scale_f32_avx2(const float *x, float s, float *y, size_t n);
/// x[c*plane + i] += bias[c] for c < channels, i < plane (channel-major planes, NCHW)
void lcm_bias_planes_f32(float *x, const float *bias, size_t channels, size_t plane);
void lcm_bias_planes_f32_ref(float *x, const float *bias, size_t channels, size_t plane);
void lcm_bias_planes_f32_avx2(float *x, const float *bias, size_t channels, size_t plane);

// ---- activations (y may alias x) ------------------------------------------------------------------------
/// SiLU: x * sigmoid(x)
void lcm_silu_f32(const float *x, float *y, size_t n);
void lcm_silu_f32_ref(const float *x, float *y, size_t n);
void lcm_silu_f32_avx2(const float *x, float *y, size_t n);
void lcm_silu_f32_avx512(const float *x, float *y, size_t n);
/// GELU, exact erf form: 0.5 x (1 + erf(x / sqrt 2))
void lcm_gelu_f32(const float *x, float *y, size_t n);
void lcm_gelu_f32_ref(const float *x, float *y, size_t n);
void lcm_gelu_f32_avx2(const float *x, float *y, size_t n);
/// GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
void lcm_gelu_tanh_f32(const float *x, float *y, size_t n);
void lcm_gelu_tanh_f32_ref(const float *x, float *y, size_t n);
void lcm_gelu_tanh_f32_avx2(const float *x, float *y, size_t n);
/// quick GELU: x * sigmoid(1.702 x)
void lcm_quick_gelu_f32(const float *x, float *y, size_t n);
void lcm_quick_gelu_f32_ref(const float *x, float *y, size_t n);
void lcm_quick_gelu_f32_avx2(const float *x, float *y, size_t n);
/// GEGLU: x is [rows, 2*cols] = [a | g]; y[r, c] = a[r, c] * gelu_erf(g[r, c]); y is [rows, cols] (no aliasing)
void lcm_geglu_f32(const float *x, float *y, size_t rows, size_t cols);
void lcm_geglu_f32_ref(const float *x, float *y, size_t rows, size_t cols);
void lcm_geglu_f32_avx2(const float *x, float *y, size_t rows, size_t cols);

// ---- reductions -----------------------------------------------------------------------------------------
/// In place, per row of length cols: x = softmax(x * scale), max-subtracted. With sums != NULL the rows are
/// left unnormalised, x = exp(x * scale - max), and sums[r] gets row r's sum (the caller divides later, e.g.
/// the rows of softmax · V, which are shorter).
void lcm_softmax_rows_f32(float *x, size_t rows, size_t cols, float scale, float *sums);
void lcm_softmax_rows_f32_ref(float *x, size_t rows, size_t cols, float scale, float *sums);
void lcm_softmax_rows_f32_avx2(float *x, size_t rows, size_t cols, float scale, float *sums);
void lcm_softmax_rows_f32_avx512(float *x, size_t rows, size_t cols, float scale, float *sums);
/// LayerNorm over rows of length cols (biased variance); gamma/beta may be NULL (then 1 and 0).
void lcm_layernorm_f32(const float *x, float *y, const float *gamma, const float *beta, size_t rows,
                       size_t cols, float eps);
void lcm_layernorm_f32_ref(const float *x, float *y, const float *gamma, const float *beta, size_t rows,
                           size_t cols, float eps);
void lcm_layernorm_f32_avx2(const float *x, float *y, const float *gamma, const float *beta, size_t rows,
                            size_t cols, float eps);
/// GroupNorm of one group: x and y point at `channels` consecutive planes of `plane` floats (CHW layout);
/// statistics over all channels*plane values; gamma/beta point at this group's first channel (may be NULL).
/// fuse_silu != 0 applies SiLU to the result.
void lcm_groupnorm_group_f32(const float *x, float *y, const float *gamma, const float *beta,
                             size_t channels, size_t plane, float eps, int fuse_silu);
void lcm_groupnorm_group_f32_ref(const float *x, float *y, const float *gamma, const float *beta,
                                 size_t channels, size_t plane, float eps, int fuse_silu);
void lcm_groupnorm_group_f32_avx2(const float *x, float *y, const float *gamma, const float *beta,
                                  size_t channels, size_t plane, float eps, int fuse_silu);
void lcm_groupnorm_group_f32_avx512(const float *x, float *y, const float *gamma, const float *beta,
                                    size_t channels, size_t plane, float eps, int fuse_silu);

// ---- resampling and convolution helpers -----------------------------------------------------------------
/// Nearest 2x upsampling of `planes` planes h×w → 2h×2w.
void lcm_upsample_nearest2x_f32(const float *x, float *y, size_t planes, size_t h, size_t w);
void lcm_upsample_nearest2x_f32_ref(const float *x, float *y, size_t planes, size_t h, size_t w);
void lcm_upsample_nearest2x_f32_avx2(const float *x, float *y, size_t planes, size_t h, size_t w);
/// im2col for a 3×3 kernel over one image x [c, h, w] with zero padding (pad_top, pad_left; bottom/right
/// padding is implied by oh, ow) and stride, for channels c0..<c1 and output rows oy0..<oy1 (so large maps can be
/// done in tiles). col is [(c1-c0)*9, (oy1-oy0)*ow]: row (ci-c0)*9 + ky*3 + kx, column (oy-oy0)*ow + ox holds
/// x[ci, oy*stride + ky - pad_top, ox*stride + kx - pad_left], or 0 outside the image.
void lcm_im2col3x3_f32(const float *x, float *col, size_t c0, size_t c1, size_t h, size_t w, size_t stride,
                       size_t pad_top, size_t pad_left, size_t oh, size_t ow, size_t oy0, size_t oy1);
void lcm_im2col3x3_f32_ref(const float *x, float *col, size_t c0, size_t c1, size_t h, size_t w,
                           size_t stride, size_t pad_top, size_t pad_left, size_t oh, size_t ow, size_t oy0, size_t oy1);
void lcm_im2col3x3_f32_avx2(const float *x, float *col, size_t c0, size_t c1, size_t h, size_t w,
                            size_t stride, size_t pad_top, size_t pad_left, size_t oh, size_t ow, size_t oy0, size_t oy1);

/// Direct 3×3 convolution with stride 1 and padding 1, for few output channels (cout ≤ 8, e.g. the RGB conv_out
/// of a VAE decoder): output rows oy0..<oy1 of one image, y[co, oy, ox] = Σ_ci Σ_ky Σ_kx w[co, ci, ky, kx] ·
/// x[ci, oy+ky−1, ox+kx−1] (zero outside h×w), summed in that order, plus bias[co] (bias may be NULL);
/// x [cin, h, w], w [cout, cin, 3, 3], y [cout, h, w].
void lcm_conv3x3_direct_f32(const float *x, const float *w, const float *bias, float *y, size_t cin, size_t cout,
                            size_t h, size_t width, size_t oy0, size_t oy1);
void lcm_conv3x3_direct_f32_ref(const float *x, const float *w, const float *bias, float *y, size_t cin,
                                size_t cout, size_t h, size_t width, size_t oy0, size_t oy1);
void lcm_conv3x3_direct_f32_avx2(const float *x, const float *w, const float *bias, float *y, size_t cin,
                                 size_t cout, size_t h, size_t width, size_t oy0, size_t oy1);

// ---- fused attention (ref.c, attention_simd.c) ------------------------------------------------------------
/// Packs one head's keys and values for lcm_attention_rows_f32: k [nk, d] and v [nk, dv] rows at strides ldk and
/// ldv → kb, blocks of 12 keys [ceil(nk/12)][d][12] (key j, component c at ((j/12)·d + c)·12 + j%12; the keys past
/// nk zero), and vp, the values' rows of dv floats side by side.
/// Sizes: lcm_attention_packed_keys(nk, d) and lcm_attention_packed_values(nk, dv) floats.
void lcm_attention_pack_f32(const float *k, size_t ldk, const float *v, size_t ldv, size_t nk, size_t d, size_t dv,
                            float *kb, float *vp);
size_t lcm_attention_packed_keys(size_t nk, size_t d);
size_t lcm_attention_packed_values(size_t nk, size_t dv);
/// Floats of scratch lcm_attention_rows_f32 needs for nk keys and head sizes d, dv.
size_t lcm_attention_scratch_floats(size_t nk, size_t d, size_t dv);
/// Softmax attention of `rows` query rows of one head: o[i, :dv] = Σ_j softmax_j(scale · q[i]·k[j]) · v[j, :dv],
/// q rows at stride ldq (d floats used), o rows at stride ldo (dv floats written), keys and values packed by
/// lcm_attention_pack_f32. S = Q·Kᵀ (summed over c in order), softmax_rows with sums, P·V (summed over j in
/// order), divided by the sums. The reference twin uses the first nk floats of the scratch; the SIMD twins take
/// the query rows in tiles of 2 vectors (16 or 32 rows: the threads should split rows in multiples of 32).
void lcm_attention_rows_f32(const float *q, size_t ldq, const float *kb, const float *vp, float *o, size_t ldo,
                            size_t rows, size_t nk, size_t d, size_t dv, float scale, float *scratch);
void lcm_attention_rows_f32_ref(const float *q, size_t ldq, const float *kb, const float *vp, float *o, size_t ldo,
                                size_t rows, size_t nk, size_t d, size_t dv, float scale, float *scratch);
void lcm_attention_rows_f32_avx2(const float *q, size_t ldq, const float *kb, const float *vp, float *o, size_t ldo,
                                 size_t rows, size_t nk, size_t d, size_t dv, float scale, float *scratch);
void lcm_attention_rows_f32_avx512(const float *q, size_t ldq, const float *kb, const float *vp, float *o,
                                   size_t ldo, size_t rows, size_t nk, size_t d, size_t dv, float scale,
                                   float *scratch);

// ---- GEMM with A packed (ref.c, gemm_simd.c) -----------------------------------------------------------
/// Floats of a packed m × k matrix: panels of 12 rows, the last one zero-padded.
size_t lcm_sgemm_packed_a_floats(size_t m, size_t k);
/// Packs a [m, k] (rows lda apart) into panels of 12 rows: a[i, p] goes to ap[(i/12)·12·k + p·12 + i%12], rows
/// past m are zero.
void lcm_sgemm_pack_a_f32(const float *a, size_t lda, size_t m, size_t k, float *ap);
/// c [m, n] (rows ldc apart) = A · b, A [m, k] packed by lcm_sgemm_pack_a_f32, b [k, n] with rows ldb apart;
/// every product summed over p in order, c overwritten (not accumulated into).
void lcm_sgemm_packed_f32(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                          size_t k);
void lcm_sgemm_packed_f32_ref(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                              size_t k);
void lcm_sgemm_packed_f32_avx2(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                               size_t k);
void lcm_sgemm_packed_f32_avx512(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                 size_t n, size_t k);

// ---- Winograd F(4×4, 3×3) convolution, stride 1, padding 1 (winograd_ref.c, winograd_avx2.c) ------------
// The h×w output of one image is covered by tiles_y = ceil(h/4) rows of tiles_x = ceil(w/4) tiles of 4×4
// pixels; tile (ty, tx) reads the 6×6 input patch at rows 4ty-1 ... 4ty+4, columns 4tx-1 ... 4tx+4 (zero outside
// the image). Transformed values live in 36 matrices, one per point p = 6i + j of the 6×6 transform: entry
// (p, row, t) is at base[p*point_stride + row*ld + t], where row is a channel and t = (ty-ty0)*tiles_x + tx
// counts the tiles of the rows ty0..<ty1 being transformed.
/// Weight transform U = G g Gᵀ, evaluated in double, of output channels co0 ..< co0 + rows (rows ≤ 12) of
/// g [cout, cin, 3, 3], written per point as one 12-row panel of lcm_sgemm_pack_a_f32's layout, ready for
/// lcm_sgemm_packed_f32: U[p] (co0 + r, ci) goes to packed[p*point_stride + ci*12 + r]; rows r ≥ `rows` are zero.
void lcm_winograd4x4_weights_panel_f32(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                       size_t point_stride);
void lcm_winograd4x4_weights_panel_f32_ref(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                           size_t point_stride);
void lcm_winograd4x4_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                            size_t point_stride);
/// Input transform V = Bᵀ d B of the tiles in rows ty0..<ty1 of one image x [c, h, w], channels c0..<c1
/// (row ci).
void lcm_winograd4x4_input_f32(const float *x, float *v, size_t ld, size_t point_stride, size_t c0, size_t c1,
                               size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd4x4_input_f32_ref(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                   size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd4x4_input_f32_avx2(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                    size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
/// Output transform Y = Aᵀ M A + bias[co] of the tiles in rows ty0..<ty1 into one image y [cout, h, w], channels
/// c0..<c1 (row co of m); bias may be NULL. Writes only pixels inside h×w.
void lcm_winograd4x4_output_f32(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd4x4_output_f32_ref(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                    size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd4x4_output_f32_avx2(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                     size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);

// ---- Winograd F(2×2, 3×3) convolution, stride 1, padding 1 (winograd_ref.c, winograd_avx2.c) ---------------
// As F(4×4, 3×3) above with 2×2 output tiles: tiles_y = ceil(h/2) rows of tiles_x = ceil(w/2) tiles, tile
// (ty, tx) reads the 4×4 input patch at rows 2ty-1 ... 2ty+2, columns 2tx-1 ... 2tx+2, and the transformed values
// live in 16 matrices, one per point p = 4i + j of the 4×4 transform. 4 multiplications per output.
void lcm_winograd2x2_weights_panel_f32(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                       size_t point_stride);
void lcm_winograd2x2_weights_panel_f32_ref(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                           size_t point_stride);
void lcm_winograd2x2_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                            size_t point_stride);
void lcm_winograd2x2_input_f32(const float *x, float *v, size_t ld, size_t point_stride, size_t c0, size_t c1,
                               size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd2x2_input_f32_ref(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                   size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd2x2_output_f32(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd2x2_output_f32_ref(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                    size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);

// ---- Winograd F(4×4, 2×2) of a 3×3 convolution of a nearest-2× upsampled map (winograd_upsample_*.c) ------
// conv3×3(up2(x)) with stride 1 and padding 1, computed on x [c, h, w] itself: output pixel (2y + a, 2x + b) is a
// 2×2 convolution of x (rows y - 1 + a ... y + a, columns x - 1 + b ... x + b) with phase (a, b)'s kernel, the
// 3×3 taps summed in pairs. Tiles of 4×4 pixels of x (8×8 of the output), tiles_y = ceil(h/4) rows of
// tiles_x = ceil(w/4); tile (ty, tx) reads the 6×6 patch of x at rows 4ty-1 ... 4ty+4, columns 4tx-1 ... 4tx+4.
// Transformed values live in 100 matrices, one per phase and point: p = 25(2a + b) + 5i + j, laid out as for
// F(4×4, 3×3). 25 multiplications per 16 outputs.
/// Weight transform of the four phase kernels of g [cout, cin, 3, 3], in double, as a 12-row panel per point.
void lcm_winograd_upsample_weights_panel_f32(const float *g, size_t cin, size_t co0, size_t rows, float *packed,
                                             size_t point_stride);
void lcm_winograd_upsample_weights_panel_f32_ref(const float *g, size_t cin, size_t co0, size_t rows,
                                                 float *packed, size_t point_stride);
void lcm_winograd_upsample_weights_panel_f32_avx2(const float *g, size_t cin, size_t co0, size_t rows,
                                                  float *packed, size_t point_stride);
/// Input transform of the tiles in rows ty0..<ty1 of x [c, h, w], channels c0..<c1.
void lcm_winograd_upsample_input_f32(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                     size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd_upsample_input_f32_ref(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                         size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd_upsample_input_f32_avx2(const float *x, float *v, size_t ld, size_t point_stride, size_t c0,
                                          size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
/// Output transform plus bias[co] (may be NULL) of the tiles in rows ty0..<ty1 into y [cout, 2h, 2w], channels
/// c0..<c1; h and w are x's. Writes only pixels inside 2h×2w.
void lcm_winograd_upsample_output_f32(const float *m, size_t ld, size_t point_stride, const float *bias, float *y,
                                      size_t c0, size_t c1, size_t h, size_t w, size_t ty0, size_t ty1);
void lcm_winograd_upsample_output_f32_ref(const float *m, size_t ld, size_t point_stride, const float *bias,
                                          float *y, size_t c0, size_t c1, size_t h, size_t w, size_t ty0,
                                          size_t ty1);
void lcm_winograd_upsample_output_f32_avx2(const float *m, size_t ld, size_t point_stride, const float *bias,
                                           float *y, size_t c0, size_t c1, size_t h, size_t w, size_t ty0,
                                           size_t ty1);

#ifdef __cplusplus
}
#endif
#endif
