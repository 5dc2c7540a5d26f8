// The body of the fused attention kernel, included by attention_simd.c once per instruction set after the vector
// vocabulary of that set (simd_avx2.h or simd_avx512.h: NAME(x), vec, W, vload, vstore, vset1, vzero, vfma, vmul,
// vadd, vsub, vmax, vexp_nonpositive) and with KEYS (keys per register tile of Q·Kᵀ: 12 or 6) and COLUMNS
// (output columns per register tile of P·V: 12 or 6) defined, bounded by the register count.
//
// Query rows lie across the vector lanes: a tile of TR = 2W rows is transposed once into Qᵀ [d][TR], then
// Sᵀ = (K·Qᵀ)·scale [nk][TR] is computed by register tiles of 2 vectors × KEYS keys (each key component broadcast
// from the packed keys [nk/12][d][12]), keeping each row's maximum in two vectors; P = exp(S − max) replaces Sᵀ in
// place with the row sums summed down the keys; Oᵀ = Vᵀ·P [dv][TR] by register tiles of 2 vectors × COLUMNS
// columns (each value broadcast from its row of V), in blocks of 128 keys whose scores stay in L1; the rows are
// divided by their sums and transposed into o. Every product uses whole vectors: a 40-float head costs 2.5 vectors
// of multiply-adds per query row and key in both products, where rows along the lanes padded P·V to 3 vectors.
// Weights/tools/attention_bench.c built against the commit before and this one (one thread, one head of 4096
// queries, fastest of 7), AVX-512: 4096 keys of 40 floats 28.3–29.4 → 21.0–21.9 ms, 1024 keys of 80 11.4–12.0 →
// 9.6–10.5 ms, 4096 keys of 512 (the VAE's) 361–369 → 259–265 ms, 77 keys 0.7 → 0.5 ms; AVX2 (LCM_KERNELS=avx2):
// 58.0–58.8 → 40.8–41.5 ms, 22.8–23.5 → 18.8–19.0 ms, 1.2–1.3 → 0.9 ms.

#define TR (2 * W)
#define PV_KEYS 128

/// Sᵀ rows j0 ..< j0 + KEYS (keys ko ..< ko + KEYS of the 12-key block at kb) for the tile: acc += Qᵀ[c] · k[c].
static inline __attribute__((always_inline)) void NAME(qk_tile)(const float *qt, const float *kb, size_t ko, size_t d,
                                                                vec scale, float *s, size_t j0, size_t nk, vec *m0,
                                                                vec *m1) {
    vec a0[KEYS], a1[KEYS];
    _Pragma("clang loop unroll(full)") for (int jj = 0; jj < KEYS; jj++) a0[jj] = a1[jj] = vzero();
    for (size_t c = 0; c < d; c++) {
        const vec q0 = vload(qt + c * TR), q1 = vload(qt + c * TR + W);
        const float *k = kb + c * 12 + ko;
        _Pragma("clang loop unroll(full)") for (int jj = 0; jj < KEYS; jj++) {
            const vec kc = vset1(k[jj]);
            a0[jj] = vfma(q0, kc, a0[jj]);
            a1[jj] = vfma(q1, kc, a1[jj]);
        }
    }
    _Pragma("clang loop unroll(full)") for (int jj = 0; jj < KEYS; jj++) {
        const vec s0 = vmul(a0[jj], scale), s1 = vmul(a1[jj], scale);
        vstore(s + (j0 + jj) * TR, s0);
        vstore(s + (j0 + jj) * TR + W, s1);
        if (j0 + jj < nk) {  // operand order skips NaN scores, as softmax_rows does
            *m0 = vmax(s0, *m0);
            *m1 = vmax(s1, *m1);
        }
    }
}

/// acc[c0 ..< c0 + nc][TR] (+)= Σ_{j0 ≤ j < j1} P[j] · V[j][c]; `first` starts from zero.
static inline __attribute__((always_inline)) void NAME(pv_tile)(const float *s, const float *vp, size_t dv, size_t c0,
                                                                size_t j0, size_t j1, float *acc, int first,
                                                                const int nc) {
    vec a0[COLUMNS], a1[COLUMNS];
    _Pragma("clang loop unroll(full)") for (int cc = 0; cc < nc; cc++) {
        a0[cc] = first ? vzero() : vload(acc + (c0 + cc) * TR);
        a1[cc] = first ? vzero() : vload(acc + (c0 + cc) * TR + W);
    }
    for (size_t j = j0; j < j1; j++) {
        const vec p0 = vload(s + j * TR), p1 = vload(s + j * TR + W);
        const float *v = vp + j * dv + c0;
        _Pragma("clang loop unroll(full)") for (int cc = 0; cc < nc; cc++) {
            const vec vc = vset1(v[cc]);
            a0[cc] = vfma(p0, vc, a0[cc]);
            a1[cc] = vfma(p1, vc, a1[cc]);
        }
    }
    _Pragma("clang loop unroll(full)") for (int cc = 0; cc < nc; cc++) {
        vstore(acc + (c0 + cc) * TR, a0[cc]);
        vstore(acc + (c0 + cc) * TR + W, a1[cc]);
    }
}

/// One tile of `rows` ≤ TR query rows.
static void NAME(tile)(const float *q, size_t ldq, const float *kb, const float *vp, float *o, size_t ldo,
                       size_t rows, size_t nk, size_t d, size_t dv, float scale, float *scratch) {
    const size_t nkp = (nk + 11) / 12 * 12;
    float *qt = scratch, *s = qt + d * TR, *acc = s + nkp * TR;
    for (size_t c = 0; c < d; c++)
        for (size_t r = 0; r < TR; r++) qt[c * TR + r] = r < rows ? q[r * ldq + c] : 0.0f;
    // Sᵀ and the rows' maxima
    vec m0 = vset1(-INFINITY), m1 = m0;
    const vec vs = vset1(scale);
    for (size_t j0 = 0; j0 < nkp; j0 += 12)
        for (size_t ko = 0; ko < 12; ko += KEYS) NAME(qk_tile)(qt, kb + j0 * d, ko, d, vs, s, j0 + ko, nk, &m0, &m1);
    // P = exp(S − max) and the row sums: float partial sums of up to 64 keys (each term ≤ 1), added in double
    double sums[TR] = {0};
    for (size_t j0 = 0; j0 < nk; j0 += 64) {
        const size_t j1 = j0 + 64 < nk ? j0 + 64 : nk;
        vec sum0 = vzero(), sum1 = vzero();
        for (size_t j = j0; j < j1; j++) {
            const vec e0 = vexp_nonpositive(vsub(vload(s + j * TR), m0));
            const vec e1 = vexp_nonpositive(vsub(vload(s + j * TR + W), m1));
            vstore(s + j * TR, e0);
            vstore(s + j * TR + W, e1);
            sum0 = vadd(sum0, e0);
            sum1 = vadd(sum1, e1);
        }
        float part[TR];
        vstore(part, sum0);
        vstore(part + W, sum1);
        for (size_t r = 0; r < TR; r++) sums[r] += part[r];
    }
    // Oᵀ = Vᵀ·P, the columns in as few blocks as the registers allow, of sizes differing by at most one
    const size_t blocks = (dv + COLUMNS - 1) / COLUMNS;
    for (size_t j0 = 0; j0 < nk; j0 += PV_KEYS) {
        const size_t j1 = j0 + PV_KEYS < nk ? j0 + PV_KEYS : nk;
        for (size_t b = 0, c0 = 0; b < blocks; b++) {
            const size_t nc = dv / blocks + (b < dv % blocks);
            switch (nc) {
#define PV_CASE(N) \
    case N: NAME(pv_tile)(s, vp, dv, c0, j0, j1, acc, j0 == 0, N); break;
#if COLUMNS > 6
                PV_CASE(12) PV_CASE(11) PV_CASE(10) PV_CASE(9) PV_CASE(8) PV_CASE(7)
#endif
                PV_CASE(6) PV_CASE(5) PV_CASE(4) PV_CASE(3) PV_CASE(2) PV_CASE(1)
#undef PV_CASE
            }
            c0 += nc;
        }
    }
    // divided by the sums, transposed into o
    float inv[TR];
    for (size_t r = 0; r < TR; r++) inv[r] = (float)(1.0 / sums[r]);
    const vec inv0 = vload(inv), inv1 = vload(inv + W);
    for (size_t c = 0; c < dv; c++) {
        vstore(acc + c * TR, vmul(vload(acc + c * TR), inv0));
        vstore(acc + c * TR + W, vmul(vload(acc + c * TR + W), inv1));
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < dv; c++) o[r * ldo + c] = acc[c * TR + r];
}

void NAME(lcm_attention_rows_f32)(const float *q, size_t ldq, const float *kb, const float *vp, float *o,
                                  size_t ldo, size_t rows, size_t nk, size_t d, size_t dv, float scale,
                                  float *scratch) {
    for (size_t i = 0; i < rows; i += TR) {
        const size_t n = rows - i < TR ? rows - i : TR;
        NAME(tile)(q + i * ldq, ldq, kb, vp, o + i * ldo, ldo, n, nk, d, dv, scale, scratch);
    }
}

#undef TR
#undef PV_KEYS
