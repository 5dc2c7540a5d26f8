// Helpers of the AVX2 Winograd transforms (winograd_avx2.c, winograd_upsample_avx2.c): masked loads and stores,
// the 4×4 transposes that split a row of 4-pixel tiles into its phases, the zero-padded loads of image rows.
// Included after each file's `#pragma clang attribute push` of the AVX2 target, so the functions compile for AVX2.
#ifndef LCM_WINOGRAD_AVX2_H
#define LCM_WINOGRAD_AVX2_H

#include <immintrin.h>
#include <stdint.h>

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

/// For the three groups of four rows of a 12-row weight panel: the offsets of tap 0 of (co0 + r, ci) from
/// (co0, ci) in a [cout, cin, 3, 3] kernel, and the lanes of the `rows` rows that exist.
static inline void panel_lanes(size_t cin, size_t rows, __m128i rowsAt[3], __m128 live[3]) {
    for (int q = 0; q < 3; q++) {
        const int r = 4 * q;
        rowsAt[q] = _mm_mullo_epi32(_mm_setr_epi32(r, r + 1, r + 2, r + 3), _mm_set1_epi32((int)(cin * 9)));
        size_t lanes = rows > (size_t)r ? rows - (size_t)r : 0;
        if (lanes > 4) lanes = 4;
        live[q] = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(tail_bits + 8 - lanes)));
    }
}

/// The nine taps of kernel k's rows of one group (`panel_lanes`), widened to double; rows that do not exist read 0.
static inline void gather_taps(const float *k, __m128i rowsAt, __m128 live, __m256d tap[9]) {
    for (size_t i = 0; i < 9; i++)
        tap[i] = _mm256_cvtps_pd(_mm_mask_i32gather_ps(_mm_setzero_ps(), k + i, rowsAt, live, 4));
}

/// The input transform of tiles tx0..<tx0+n (n <= CHUNK) of one channel plane on alpha × alpha windows (alpha + shift
/// <= 6): rows row0 ... row0 + alpha - 1, and for tile t columns 4t - 1 + shift ... (tiles four columns apart);
/// `transform` (the 1-D transform on alpha rows of eight lanes) down the columns, then along the rows. Tile tx0 + k,
/// point alpha*i + j, goes to out[(alpha*i + j)*point_stride + k].
static inline __attribute__((always_inline)) void input_tiles(
    const float *plane, size_t h, size_t w, long row0, size_t tx0, size_t n, size_t alpha, size_t shift,
    void (*transform)(const __m256 *, __m256 *), float *out, size_t point_stride) {
    float cols[6][ROW], phase[6][4][CHUNK + 8];
    size_t groups = (n + 7) / 8;
    size_t width = 32 * (groups + 1);  // floats per buffered row; float i is image column 4*tx0 - 1 + i
    const float *rows[6];
    for (size_t r = 0; r < alpha; r++) {
        long iy = row0 + (long)r;
        rows[r] = iy >= 0 && iy < (long)h ? plane + (size_t)iy * w : NULL;
    }
    // down the columns
    for (size_t i = 0; i < width; i += 8) {
        __m256 d[6], o[6];
        for (size_t r = 0; r < alpha; r++) d[r] = load_columns(rows[r], 4 * (long)tx0 - 1 + (long)i, w);
        transform(d, o);
        for (size_t k = 0; k < alpha; k++) _mm256_storeu_ps(cols[k] + i, o[k]);
    }
    for (size_t k = 0; k < alpha; k++)
        for (size_t g = 0; g <= groups; g++)
            split_phases(cols[k] + 32 * g, phase[k][0] + 8 * g, phase[k][1] + 8 * g, phase[k][2] + 8 * g,
                         phase[k][3] + 8 * g);
    // along the rows: tile t reads phases 0-3 of itself and phases 0-1 of tile t + 1 (columns 4t - 1 ... 4t + 4)
    for (size_t g = 0; g < groups; g++) {
        size_t lanes = n - 8 * g < 8 ? n - 8 * g : 8;
        for (size_t k = 0; k < alpha; k++) {
            __m256 d[6], o[6];
            for (size_t c = 0; c < 4; c++) d[c] = _mm256_loadu_ps(phase[k][c] + 8 * g);
            d[4] = _mm256_loadu_ps(phase[k][0] + 8 * g + 1);
            d[5] = _mm256_loadu_ps(phase[k][1] + 8 * g + 1);
            transform(d + shift, o);
            for (size_t j = 0; j < alpha; j++)
                store_lanes(out + (alpha * k + j) * point_stride + 8 * g, o[j], lanes);
        }
    }
}

#endif
