// The body of the fused attention kernel, included by attention_simd.c once per instruction set after the vector
// vocabulary of that set (simd_avx2.h or simd_avx512.h: NAME(x), vec, W, vload, vstore, vset1, vzero, vfma,
// vmul) and with SOFTMAX (the softmax_rows twin of that instruction set) and PV_BLOCK_MAX (2 or 4: vectors of
// output columns per pass of P·V, bounded by the register count) defined.
//
// Query rows go in tiles of up to TILE = 4 × ROWS rows, so every block of keys or values read from the L2 cache
// serves four register tiles of ROWS rows from the L1 cache: S = (Q·Kᵀ)·scale for the tile's rows into the
// scratch (L2 resident), P = exp(S − rowmax) with its row sums (SOFTMAX), then O = P·V in blocks of keys whose
// values fit in L1, accumulated in the scratch, and divided by the sums. K comes packed in blocks of 32 keys
// ([nk/32][d][32]), V as rows of dvp floats (lcm_attention_pack_f32), so both inner loops read memory in order.
// A last register tile of fewer than ROWS rows reads its queries from a zero-padded copy.

#define ROWS 6
#define TILE (4 * ROWS)

/// S (row stride nkp) of `tiles` register tiles, whose queries start at q[t] (row stride ldq[t]): 2W keys at a time.
static inline __attribute__((always_inline)) void NAME(qk)(const float *const *q, const size_t *ldq, size_t tiles,
                                                           const float *kb, size_t nkp, size_t d, float scale,
                                                           float *s) {
    const vec vs = vset1(scale);
    for (size_t j = 0; j < nkp; j += 2 * W) {
        const float *k = kb + (j / 32) * d * 32 + j % 32;
        for (size_t t = 0; t < tiles; t++) {
            vec acc0[ROWS], acc1[ROWS];
            for (size_t r = 0; r < ROWS; r++) acc0[r] = acc1[r] = vzero();
            const float *qt = q[t];
            const size_t ld = ldq[t];
            for (size_t c = 0; c < d; c++) {
                vec k0 = vload(k + c * 32), k1 = vload(k + c * 32 + W);
                for (size_t r = 0; r < ROWS; r++) {
                    vec qb = vset1(qt[r * ld + c]);
                    acc0[r] = vfma(qb, k0, acc0[r]);
                    acc1[r] = vfma(qb, k1, acc1[r]);
                }
            }
            float *st = s + t * ROWS * nkp;
            for (size_t r = 0; r < ROWS; r++) {
                vstore(st + r * nkp + j, vmul(acc0[r], vs));
                vstore(st + r * nkp + j + W, vmul(acc1[r], vs));
            }
        }
    }
}

/// acc (ROWS rows of dvp floats, columns c0 ..< c0 + cb·W) += P[:, j0 ..< j1] · V[j0 ..< j1, those columns];
/// `first` starts from zero instead.
static inline __attribute__((always_inline)) void NAME(pv_block)(const float *s, size_t nkp, const float *vp,
                                                                 size_t dvp, size_t j0, size_t j1, float *out,
                                                                 size_t c0, int first, size_t cb) {
    vec acc[ROWS][PV_BLOCK_MAX];
    for (size_t r = 0; r < ROWS; r++)
        for (size_t b = 0; b < cb; b++) acc[r][b] = first ? vzero() : vload(out + r * dvp + c0 + b * W);
    for (size_t j = j0; j < j1; j++) {
        vec v[PV_BLOCK_MAX];
        for (size_t b = 0; b < cb; b++) v[b] = vload(vp + j * dvp + c0 + b * W);
        for (size_t r = 0; r < ROWS; r++) {
            vec p = vset1(s[r * nkp + j]);
            for (size_t b = 0; b < cb; b++) acc[r][b] = vfma(p, v[b], acc[r][b]);
        }
    }
    for (size_t r = 0; r < ROWS; r++)
        for (size_t b = 0; b < cb; b++) vstore(out + r * dvp + c0 + b * W, acc[r][b]);
}

/// One tile of `rows` ≤ TILE query rows.
static void NAME(tile)(const float *q, size_t ldq, const float *kb, const float *vp, float *o, size_t ldo,
                       size_t rows, size_t nk, size_t d, size_t dv, float scale, float *scratch) {
    const size_t nkp = (nk + 31) / 32 * 32, dvp = (dv + 15) / 16 * 16;
    const size_t tiles = (rows + ROWS - 1) / ROWS;
    float *s = scratch, *acc = s + TILE * nkp, *sums = acc + TILE * dvp, *qpad = sums + TILE;
    const float *qt[4];
    size_t ld[4];
    for (size_t t = 0; t < tiles; t++) {
        qt[t] = q + t * ROWS * ldq;
        ld[t] = ldq;
    }
    const size_t last = rows - (tiles - 1) * ROWS;
    if (last < ROWS) {  // the last register tile's queries, zero-padded to ROWS rows
        for (size_t r = 0; r < ROWS; r++)
            for (size_t c = 0; c < d; c++) qpad[r * d + c] = r < last ? qt[tiles - 1][r * ldq + c] : 0.0f;
        qt[tiles - 1] = qpad;
        ld[tiles - 1] = d;
    }
    NAME(qk)(qt, ld, tiles, kb, nkp, d, scale, s);
    for (size_t r = 0; r < tiles * ROWS; r++) SOFTMAX(s + r * nkp, 1, nk, 1.0f, sums + r);
    // keys per block of P·V: their values (block × dvp floats) fill at most 24 KiB of L1
    size_t block = 6144 / dvp;
    if (block < 16) block = 16;
    for (size_t j0 = 0; j0 < nk; j0 += block) {
        const size_t j1 = j0 + block < nk ? j0 + block : nk;
        const int first = j0 == 0;
        for (size_t t = 0; t < tiles; t++) {
            const float *st = s + t * ROWS * nkp;
            float *at = acc + t * ROWS * dvp;
            // the dvp/W column vectors in as few blocks as the registers allow, of sizes differing by at most one
            const size_t vectors = dvp / W, blocks = (vectors + PV_BLOCK_MAX - 1) / PV_BLOCK_MAX;
            for (size_t b = 0, c0 = 0; b < blocks; b++) {
                const size_t cb = vectors / blocks + (b < vectors % blocks);
                switch (cb) {
#if PV_BLOCK_MAX > 3
                case 4: NAME(pv_block)(st, nkp, vp, dvp, j0, j1, at, c0, first, 4); break;
                case 3: NAME(pv_block)(st, nkp, vp, dvp, j0, j1, at, c0, first, 3); break;
#endif
                case 2: NAME(pv_block)(st, nkp, vp, dvp, j0, j1, at, c0, first, 2); break;
                default: NAME(pv_block)(st, nkp, vp, dvp, j0, j1, at, c0, first, 1); break;
                }
                c0 += cb * W;
            }
        }
    }
    for (size_t r = 0; r < rows; r++) {
        const float inv = 1.0f / sums[r];
        for (size_t c = 0; c < dv; c++) o[r * ldo + c] = acc[r * dvp + c] * inv;
    }
}

void NAME(lcm_attention_rows_f32)(const float *q, size_t ldq, const float *kb, const float *vp, float *o,
                                  size_t ldo, size_t rows, size_t nk, size_t d, size_t dv, float scale,
                                  float *scratch) {
    for (size_t i = 0; i < rows; i += TILE) {
        const size_t n = rows - i < TILE ? rows - i : TILE;
        NAME(tile)(q + i * ldq, ldq, kb, vp, o + i * ldo, ldo, n, nk, d, dv, scale, scratch);
    }
}

#undef ROWS
#undef TILE
