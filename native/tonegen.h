/* Tone generator: sums of up to TONEGEN_MAX_FREQS sinusoids, phase kept across calls. */
#ifndef APPLIANCE_TONEGEN_H
#define APPLIANCE_TONEGEN_H
#include <stddef.h>
#include <stdint.h>

#define TONEGEN_MAX_FREQS 4

typedef struct tonegen_state {
    int n_freqs;
    double phase[TONEGEN_MAX_FREQS];
    double step[TONEGEN_MAX_FREQS];
    double amplitude[TONEGEN_MAX_FREQS];
} tonegen_state;

int tonegen_init(tonegen_state *s, int sample_rate, int n_freqs, const double *freqs, const double *levels_dbm0);
void tonegen_generate(tonegen_state *s, int16_t *out, size_t n);
double tonegen_dbm0_to_amplitude(double level_dbm0);
#endif
