// One thread, the AVX2 Winograd transforms of one convolution's worth of data: the weight panels of C_out × C_in
// kernels, the input transform of the tile rows of one chunk, the output transform of the same; F(4×4, 3×3) on the
// upsampled map against F(4×4, 2×2) of the four phases on the map before upsampling (Kernels/README.md,
// Convolution). Fastest of 5; nanoseconds per transformed value, so the two compare per value written or read.
//
//   clang -O2 -IKernels/include -IKernels Weights/tools/winograd_transform_bench.c Kernels/winograd_*.c -o /tmp/wtb
//   /tmp/wtb 512 128 5    # channels, size before upsampling, tile rows per chunk of the folded path
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lcm_kernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static size_t odd_lines(size_t n) { return ((n + 15) / 16 | 1) * 16; }

typedef struct {
    const char *name;
    size_t points, h, rows;  // rows: tile rows of 4 input pixels transformed per call
} variant;

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s CHANNELS SIZE_BEFORE_UPSAMPLING TILE_ROWS\n", argv[0]);
        return 2;
    }
    const size_t c = (size_t)atoi(argv[1]), h = (size_t)atoi(argv[2]), rows = (size_t)atoi(argv[3]);
    // the same number of output rows in both: 4·rows rows before upsampling are 8·rows after
    const variant vs[2] = {{"F(4×4, 3×3) upsampled", 36, 2 * h, 2 * rows}, {"F(4×4, 2×2) folded", 100, h, rows}};
    float *g = malloc(c * c * 9 * sizeof(float));
    for (size_t i = 0; i < c * c * 9; i++) g[i] = (float)(i % 17) * 0.01f;
    for (int k = 0; k < 2; k++) {
        const variant v = vs[k];
        const size_t tiles_x = (v.h + 3) / 4, ld = (v.rows * tiles_x + 15) / 16 * 16;
        const size_t ps = odd_lines(c * ld), wps = odd_lines((c + 11) / 12 * 12 * c);
        float *x = malloc(c * v.h * v.h * sizeof(float)), *m = malloc(v.points * ps * sizeof(float));
        float *y = malloc(c * 4 * v.h * v.h * sizeof(float)), *w = malloc(v.points * wps * sizeof(float));
        for (size_t i = 0; i < c * v.h * v.h; i++) x[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < v.points * ps; i++) m[i] = (float)(i % 5);
        double best[3] = {1e9, 1e9, 1e9};
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            for (size_t co = 0; co < c; co += 12) {
                size_t n = c - co < 12 ? c - co : 12;
                if (k == 0) lcm_winograd4x4_weights_panel_f32_avx2(g, c, co, n, w + co * c, wps);
                else lcm_winograd_upsample_weights_panel_f32_avx2(g, c, co, n, w + co * c, wps);
            }
            double t1 = now();
            if (k == 0) lcm_winograd4x4_input_f32_avx2(x, m, ld, ps, 0, c, v.h, v.h, 0, v.rows);
            else lcm_winograd_upsample_input_f32_avx2(x, m, ld, ps, 0, c, v.h, v.h, 0, v.rows);
            double t2 = now();
            if (k == 0) lcm_winograd4x4_output_f32_avx2(m, ld, ps, NULL, y, 0, c, v.h, v.h, 0, v.rows);
            else lcm_winograd_upsample_output_f32_avx2(m, ld, ps, NULL, y, 0, c, v.h, v.h, 0, v.rows);
            double t3 = now(), t[3] = {t1 - t0, t2 - t1, t3 - t2};
            for (int i = 0; i < 3; i++) best[i] = t[i] < best[i] ? t[i] : best[i];
        }
        const double weights = (double)v.points * c * c, tiles = (double)v.points * c * v.rows * tiles_x;
        printf("%-24s weights %6.2f ms (%.2f ns/value), input %6.2f ms (%.2f), output %6.2f ms (%.2f)\n", v.name,
               best[0] * 1e3, best[0] * 1e9 / weights, best[1] * 1e3, best[1] * 1e9 / tiles, best[2] * 1e3,
               best[2] * 1e9 / tiles);
        free(x), free(m), free(y), free(w);
    }
    free(g);
    return 0;
}
