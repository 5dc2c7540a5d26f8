// The body of the packed GEMM kernel, included by gemm_simd.c once per instruction set after the vector
// vocabulary of that set (simd_avx2.h or simd_avx512.h) and with PASS_ROWS defined (rows of A per pass of the
// register tile, bounded by the register count: PASS_ROWS × 2 accumulators + 2 loads + 1 broadcast).
//
// C = A·B with A packed in panels of MR = 12 rows ([m/12][k][12], lcm_sgemm_pack_a_f32) and B read in place, rows
// of n floats ldb apart: no packing of B and no pass to clear C, which OpenBLAS spends on every call (in a
// `perf record` of a VAE decode, its packing and clearing took 15 % of the samples against 39 % in its kernel).
// The register tile is PASS_ROWS rows × 2W columns; B is taken in blocks of columns whose k rows fill about
// 256 KiB, which stay in L2 while every 12-row panel of A (12·k floats, in L1 up to k ≈ 800) streams over them.
// B's rows must not lie a multiple of 4 KiB apart in large numbers (they would share cache sets): the Winograd
// matrices are one chunk of tiles wide.

#define MR 12

/// c (rows ≤ PASS_ROWS, cols ≤ 2W) = rows r0 ..< r0 + PASS_ROWS of the panel a times b; rows beyond `rows` are
/// computed on the panel's zero padding and not stored. Meanwhile the lines at pa (MR floats per step of k, into
/// L2) and pb (2W floats per row of b) are prefetched: the next panel of A or strip of B, else the current ones.
static inline __attribute__((always_inline)) void NAME(gemm_pass)(const float *a, const float *b, size_t ldb,
                                                                  float *c, size_t ldc, size_t k, size_t r0,
                                                                  size_t rows, size_t cols, const float *pa,
                                                                  const float *pb) {
    vec acc0[PASS_ROWS], acc1[PASS_ROWS];
    _Pragma("clang loop unroll(full)") for (size_t r = 0; r < PASS_ROWS; r++) acc0[r] = acc1[r] = vzero();
    const float *ap = a + r0;
    // a full tile (cols == 2W) takes plain loads and stores; the compiler makes a loop of its own for each case
    const int full = cols == 2 * W;
    const size_t k0 = cols < W ? cols : W, k1 = cols - k0;
    for (size_t p = 0; p < k; p++, ap += MR, b += ldb, pa += MR, pb += ldb) {
        __builtin_prefetch(pa, 0, 2);
        __builtin_prefetch(pb, 0, 3);
        __builtin_prefetch(pb + 2 * W - 1, 0, 3);
        const vec b0 = full ? vload(b) : vload_lanes(b, k0);
        const vec b1 = full ? vload(b + W) : k1 ? vload_lanes(b + W, k1) : vzero();
        _Pragma("clang loop unroll(full)") for (size_t r = 0; r < PASS_ROWS; r++) {
            const vec x = vset1(ap[r]);
            acc0[r] = vfma(x, b0, acc0[r]);
            acc1[r] = vfma(x, b1, acc1[r]);
        }
    }
    if (full) {
        _Pragma("clang loop unroll(full)") for (size_t r = 0; r < PASS_ROWS; r++) {
            if (r == rows) break;
            vstore(c + r * ldc, acc0[r]);
            vstore(c + r * ldc + W, acc1[r]);
        }
        return;
    }
    _Pragma("clang loop unroll(full)") for (size_t r = 0; r < PASS_ROWS; r++) {
        if (r == rows) break;
        vstore_lanes(c + r * ldc, acc0[r], k0);
        if (k1) vstore_lanes(c + r * ldc + W, acc1[r], k1);
    }
}

void NAME(lcm_sgemm_packed_f32)(const float *ap, const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                size_t n, size_t k) {
    if (k == 0) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = 0.0f;
        return;
    }
    size_t nb = 262144 / 4 / k / (2 * W) * (2 * W);  // columns of B per block: k × nb floats ≈ 256 KiB
    if (nb < 2 * W) nb = 2 * W;
    for (size_t n0 = 0; n0 < n; n0 += nb) {
        const size_t n1 = n0 + nb < n ? n0 + nb : n;
        for (size_t m0 = 0; m0 < m; m0 += MR) {
            const float *a = ap + m0 * k;
            const size_t rows = m - m0 < MR ? m - m0 : MR;
            for (size_t j = n0; j < n1; j += 2 * W) {
                const size_t cols = n1 - j < 2 * W ? n1 - j : 2 * W;
                // The next panel of A prefetched during its first strip, the next strip of B during the first
                // panel: in a Winograd convolution every point's operands come fresh from memory (its
                // transformed weights, the input transform's output), which the hardware prefetchers did not
                // hide (Kernels/README.md, Packed GEMM).
                const float *pa = j == n0 && m0 + MR < m ? a + MR * k : a;
                const float *pb = m0 == 0 && j + 2 * W < n1 ? b + j + 2 * W : b + j;
                for (size_t r0 = 0; r0 < rows; r0 += PASS_ROWS) {
                    const size_t pr = rows - r0 < PASS_ROWS ? rows - r0 : PASS_ROWS;
                    NAME(gemm_pass)(a, b + j, ldb, c + (m0 + r0) * ldc + j, ldc, k, r0, pr, cols, pa + r0, pb);
                }
            }
        }
    }
}

#undef MR
