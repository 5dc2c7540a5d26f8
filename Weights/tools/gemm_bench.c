// One thread, 36 products of a Winograd point's shape (m = C_out, n = tiles, k = C_in): OpenBLAS's cblas_sgemm
// (packing both operands and clearing C at every call, as the Winograd path used to call it) against
// lcm_sgemm_packed_f32 on A packed beforehand (as the Winograd path packs its weights once per convolution).
// Fastest of 30 rounds, GFLOP/s; the largest difference between the two results.
// Then lcm_sgemm_packed_f32 alone on P products whose A, B and C are all distinct, as in a convolution where each
// point's operands come fresh from memory, against the same A, B and C every time (fastest of 5).
//
//   clang -O2 -IKernels/include Weights/tools/gemm_bench.c Kernels/*.c -lopenblas -lm -o /tmp/gemm_bench
//   OPENBLAS_CORETYPE=SkylakeX /tmp/gemm_bench    # or Haswell: the family lcm info reports
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lcm_kernels.h"

void openblas_set_num_threads(int);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    openblas_set_num_threads(1);
    const int shapes[][3] = {{128, 128, 128}, {128, 128, 256}, {256, 64, 256}, {256, 64, 512}, {256, 128, 256},
                             {640, 64, 640}};
    printf("kernels: %s\n", lcm_kernels_isa_name());
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], ld = n + 16;
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * ld);
        float *c = malloc(sizeof(float) * m * ld), *c2 = malloc(sizeof(float) * m * ld);
        float *ap = malloc(sizeof(float) * lcm_sgemm_packed_a_floats(m, k));
        for (int i = 0; i < m * k; i++) a[i] = rand() / (float)RAND_MAX - 0.5f;
        for (int i = 0; i < k * ld; i++) b[i] = rand() / (float)RAND_MAX - 0.5f;
        lcm_sgemm_pack_a_f32(a, k, m, k, ap);
        double blas = 1e9, own = 1e9;
        for (int round = 0; round < 30; round++) {
            double t = now();
            for (int p = 0; p < 36; p++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, ld, 0, c, ld);
            t = now() - t;
            blas = t < blas ? t : blas;
            t = now();
            for (int p = 0; p < 36; p++) lcm_sgemm_packed_f32(ap, b, ld, c2, ld, m, n, k);
            t = now() - t;
            own = t < own ? t : own;
        }
        double worst = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) worst = fmax(worst, fabs(c[i * ld + j] - c2[i * ld + j]));
        const double gflop = 2.0 * m * n * k * 36 / 1e9;
        printf("m %4d n %4d k %4d   OpenBLAS %6.1f GFLOP/s   sgemm_packed %6.1f GFLOP/s   max |diff| %.1e\n", m, n, k,
               gflop / blas, gflop / own, worst);
        free(a), free(b), free(c), free(c2), free(ap);
    }
    const int fresh[][4] = {{1280, 64, 1280, 16}, {1280, 64, 2560, 16}, {640, 64, 1920, 36}, {256, 64, 256, 36},
                            {128, 128, 128, 36}, {512, 160, 512, 50}, {256, 352, 512, 36}};
    for (size_t s = 0; s < sizeof fresh / sizeof fresh[0]; s++) {
        const int m = fresh[s][0], n = fresh[s][1], k = fresh[s][2], points = fresh[s][3];
        const size_t as = lcm_sgemm_packed_a_floats(m, k) + 16, bs = (size_t)k * n + 16, cs = (size_t)m * n + 16;
        float *a = malloc(sizeof(float) * as * points), *b = malloc(sizeof(float) * bs * points);
        float *c = calloc(cs * points, sizeof(float));
        for (size_t i = 0; i < as * points; i++) a[i] = rand() / (float)RAND_MAX - 0.5f;
        for (size_t i = 0; i < bs * points; i++) b[i] = rand() / (float)RAND_MAX - 0.5f;
        double distinct = 1e9, shared = 1e9;
        for (int round = 0; round < 5; round++) {
            double t = now();
            for (int p = 0; p < points; p++) lcm_sgemm_packed_f32(a + p * as, b + p * bs, n, c + p * cs, n, m, n, k);
            t = now() - t;
            distinct = t < distinct ? t : distinct;
            t = now();
            for (int p = 0; p < points; p++) lcm_sgemm_packed_f32(a, b, n, c, n, m, n, k);
            t = now() - t;
            shared = t < shared ? t : shared;
        }
        const double gflop = 2.0 * m * n * k * points / 1e9;
        printf("m %4d n %4d k %4d × %2d  sgemm_packed, operands distinct %6.1f GFLOP/s, shared %6.1f GFLOP/s\n", m, n,
               k, points, gflop / distinct, gflop / shared);
        free(a), free(b), free(c);
    }
    return 0;
}
