// One thread, 36 products of a Winograd point's shape (m = C_out, n = tiles, k = C_in): OpenBLAS's cblas_sgemm
// (packing both operands and clearing C at every call, as the Winograd path used to call it) against
// lcm_sgemm_packed_f32 on A packed beforehand (as the Winograd path packs its weights once per convolution).
// Fastest of 30 rounds, GFLOP/s; the largest difference between the two results.
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
    return 0;
}
