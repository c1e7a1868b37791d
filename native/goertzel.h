/* Goertzel filter banks, eight bins per SIMD vector (GCC vector extensions: SSE or
 * AVX on x86-64, NEON on the Pi), advanced four samples per step.
 *
 * The plain recursion s[n] = c s[n-1] - s[n-2] + x[n] is one long dependency chain
 * per bin; unrolled by four with Chebyshev coefficients (U1 = c, U2 = c^2 - 1,
 * U3 = c^3 - 2c, U4 = c^4 - 3c^2 + 1) the four-sample step depends on the previous
 * state only through one multiply-add, so the bank runs at the CPU's throughput.
 * Which samples are grouped by four is fixed relative to each block's start, never
 * by how the caller cut the stream, so results do not depend on the chunking.
 * The block energy is kept in four lanes (one per sample of a group), summed in a
 * fixed order at the block's end, for the same reason.
 */
#ifndef APPLIANCE_GOERTZEL_H
#define APPLIANCE_GOERTZEL_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* aligned(4): the state lives in memory cffi allocates, which promises no vector alignment */
typedef float goertzel_v8 __attribute__((vector_size(32), aligned(4)));
typedef float goertzel_v4 __attribute__((vector_size(16), aligned(4)));

#define GOERTZEL_MAX_VECTORS 2

typedef struct goertzel_bank {
    goertzel_v8 u1[GOERTZEL_MAX_VECTORS];
    goertzel_v8 u2[GOERTZEL_MAX_VECTORS];
    goertzel_v8 u3[GOERTZEL_MAX_VECTORS];
    goertzel_v8 u4[GOERTZEL_MAX_VECTORS];
} goertzel_bank;

static inline void goertzel_bank_init(goertzel_bank *b, const float *coef, int n_bins)
{
    for (int v = 0; v < GOERTZEL_MAX_VECTORS; v++) {
        for (int i = 0; i < 8; i++) {
            int k = 8 * v + i;
            float c = k < n_bins ? coef[k] : 0.0f;
            b->u1[v][i] = c;
            b->u2[v][i] = c * c - 1.0f;
            b->u3[v][i] = c * c * c - 2.0f * c;
            b->u4[v][i] = c * c * c * c - 3.0f * c * c + 1.0f;
        }
    }
}

/* ``groups`` four-sample steps over pcm; s1/s2 hold 8 * nv bins, energy four lanes. */
static inline __attribute__((always_inline)) void goertzel_bank_run4(
    const goertzel_bank *b, int nv, float *s1_mem, float *s2_mem, const int16_t *pcm, int groups, float *energy)
{
    /* nv is a constant at every call site: the vector loop unrolls into registers */
    goertzel_v8 s1[GOERTZEL_MAX_VECTORS], s2[GOERTZEL_MAX_VECTORS];
    goertzel_v8 u1[GOERTZEL_MAX_VECTORS], u2[GOERTZEL_MAX_VECTORS];
    goertzel_v8 u3[GOERTZEL_MAX_VECTORS], u4[GOERTZEL_MAX_VECTORS];
    goertzel_v4 e;
    memcpy(&e, energy, sizeof(e));
    memcpy(s1, s1_mem, sizeof(goertzel_v8) * (size_t) nv);
    memcpy(s2, s2_mem, sizeof(goertzel_v8) * (size_t) nv);
    for (int v = 0; v < nv; v++) {
        u1[v] = b->u1[v];
        u2[v] = b->u2[v];
        u3[v] = b->u3[v];
        u4[v] = b->u4[v];
    }
    for (int g = 0; g < groups; g++) {
        goertzel_v4 x = {(float) pcm[0], (float) pcm[1], (float) pcm[2], (float) pcm[3]};
        pcm += 4;
        e += x * x;
        float x1 = x[0], x2 = x[1], x3 = x[2], x4 = x[3];
        for (int v = 0; v < nv; v++) {
            goertzel_v8 a = u3[v] * x1 + u2[v] * x2 + u1[v] * x3 + x4;
            goertzel_v8 c = u2[v] * x1 + u1[v] * x2 + x3;
            goertzel_v8 n1 = u4[v] * s1[v] - u3[v] * s2[v] + a;
            goertzel_v8 n2 = u3[v] * s1[v] - u2[v] * s2[v] + c;
            s1[v] = n1;
            s2[v] = n2;
        }
    }
    memcpy(s1_mem, s1, sizeof(goertzel_v8) * (size_t) nv);
    memcpy(s2_mem, s2, sizeof(goertzel_v8) * (size_t) nv);
    memcpy(energy, &e, sizeof(e));
}

/* One sample at a time (the tail of a block that is not a multiple of four long). */
static inline __attribute__((always_inline)) void goertzel_bank_run1(
    const goertzel_bank *b, int nv, float *s1_mem, float *s2_mem, const int16_t *pcm, int n, float *energy)
{
    goertzel_v8 s1[GOERTZEL_MAX_VECTORS], s2[GOERTZEL_MAX_VECTORS];
    memcpy(s1, s1_mem, sizeof(goertzel_v8) * (size_t) nv);
    memcpy(s2, s2_mem, sizeof(goertzel_v8) * (size_t) nv);
    for (int j = 0; j < n; j++) {
        float x = (float) pcm[j];
        energy[0] += x * x;
        for (int v = 0; v < nv; v++) {
            goertzel_v8 s0 = b->u1[v] * s1[v] - s2[v] + x;
            s2[v] = s1[v];
            s1[v] = s0;
        }
    }
    memcpy(s1_mem, s1, sizeof(goertzel_v8) * (size_t) nv);
    memcpy(s2_mem, s2, sizeof(goertzel_v8) * (size_t) nv);
}

/* The block's energy from its four lanes, in a fixed order; the lanes restart. */
static inline float goertzel_energy_take(float *energy)
{
    float total = (energy[0] + energy[1]) + (energy[2] + energy[3]);
    energy[0] = energy[1] = energy[2] = energy[3] = 0.0f;
    return total;
}

/* x86-64: the feed functions are also built for AVX2 + FMA and picked at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GOERTZEL_CLONES __attribute__((target_clones("avx2,fma", "default")))
#else
#define GOERTZEL_CLONES
#endif

/* A four-sample group split across feed calls: moves samples from *pcm (*n of
 * them, advancing *pos by each) into pending until it holds four. Returns 1 with
 * the whole group in pending (and *n_pending back to 0), 0 when the input ran
 * out first (the samples wait there for the next call). */
static inline int goertzel_collect_group(int16_t pending[4], int32_t *n_pending, const int16_t **pcm,
                                         size_t *n, int64_t *pos)
{
    while (*n_pending < 4 && *n > 0) {
        pending[(*n_pending)++] = *(*pcm)++;
        (*n)--;
        (*pos)++;
    }
    if (*n_pending < 4)
        return 0;
    *n_pending = 0;
    return 1;
}

#endif
