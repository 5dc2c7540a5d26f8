// One thread, one head: lcm_attention_rows_f32 (the dispatching entry point, so LCM_KERNELS=avx2 or =reference
// picks a twin) on 4096 query rows of random queries, keys and values packed by lcm_attention_pack_f32, in calls
// of 96 rows; fastest of 7 rounds, with a checksum of the outputs. Built against two checkouts, it gives the
// before/after figures of attention kernel changes (Kernels/attention_simd.h, Kernels/README.md).
//
//   clang -O2 -IKernels/include Weights/tools/attention_bench.c Kernels/*.c -lopenblas -lm -o /tmp/attention_bench
//   /tmp/attention_bench 4096 40    # keys, head size (queries and values have the head size too)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lcm_kernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s KEYS HEAD_SIZE\n", argv[0]);
        return 2;
    }
    const size_t nq = 4096, nk = (size_t)atol(argv[1]), d = (size_t)atol(argv[2]), ld = 8 * d;  // 8 heads wide
    float *q = malloc(sizeof(float) * nq * ld), *k = malloc(sizeof(float) * nk * ld);
    float *v = malloc(sizeof(float) * nk * ld), *o = malloc(sizeof(float) * nq * ld);
    for (size_t i = 0; i < nq * ld; i++) q[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < nk * ld; i++) {
        k[i] = rand() / (float)RAND_MAX - 0.5f;
        v[i] = rand() / (float)RAND_MAX - 0.5f;
    }
    float *kb = malloc(sizeof(float) * lcm_attention_packed_keys(nk, d));
    float *vp = malloc(sizeof(float) * lcm_attention_packed_values(nk, d));
    float *scratch = malloc(sizeof(float) * lcm_attention_scratch_floats(nk, d, d));
    lcm_attention_pack_f32(k, ld, v, ld, nk, d, d, kb, vp);
    double best = 1e9;
    for (int round = 0; round < 7; round++) {
        double t = now();
        for (size_t i = 0; i < nq; i += 96)
            lcm_attention_rows_f32(q + i * ld, ld, kb, vp, o + i * ld, ld, nq - i < 96 ? nq - i : 96, nk, d, d,
                                   1 / sqrtf((float)d), scratch);
        t = now() - t;
        best = t < best ? t : best;
    }
    double checksum = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t c = 0; c < d; c++) checksum += o[i * ld + c];
    printf("kernels %s, %zu queries, %zu keys, head %zu: %.1f ms, %.1f GFLOP/s (one thread), checksum %.6f\n",
           lcm_kernels_isa_name(), nq, nk, d, best * 1e3, 4.0 * nq * nk * d / best / 1e9, checksum);
    free(q), free(k), free(v), free(o), free(kb), free(vp), free(scratch);
    return 0;
}
