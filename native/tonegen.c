/* Tone generator for dialing, beeps and test signals.
 *
 * Levels are in dBm0 per tone: a sine of 0 dBm0 has a peak of 32767 * 10^(-3.14/20)
 * (G.711's 3.14 dBm0 full-scale sine), the convention spandsp uses too.
 */
#include "tonegen.h"

#include <math.h>

#define DBM0_FULL_SCALE_SINE 3.14
#define TWO_PI 6.283185307179586

double tonegen_dbm0_to_amplitude(double level_dbm0)
{
    return 32767.0 * pow(10.0, (level_dbm0 - DBM0_FULL_SCALE_SINE) / 20.0);
}

int tonegen_init(tonegen_state *s, int sample_rate, int n_freqs, const double *freqs, const double *levels_dbm0)
{
    if (sample_rate <= 0 || n_freqs < 0 || n_freqs > TONEGEN_MAX_FREQS)
        return -1;
    s->n_freqs = n_freqs;
    for (int i = 0; i < TONEGEN_MAX_FREQS; i++) {
        s->phase[i] = 0.0;
        s->step[i] = i < n_freqs ? TWO_PI * freqs[i] / sample_rate : 0.0;
        s->amplitude[i] = i < n_freqs ? tonegen_dbm0_to_amplitude(levels_dbm0[i]) : 0.0;
    }
    return 0;
}

void tonegen_generate(tonegen_state *s, int16_t *out, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double v = 0.0;
        for (int i = 0; i < s->n_freqs; i++) {
            v += s->amplitude[i] * sin(s->phase[i]);
            s->phase[i] += s->step[i];
            if (s->phase[i] >= TWO_PI)
                s->phase[i] -= TWO_PI;
        }
        v = v >= 0 ? v + 0.5 : v - 0.5;   /* round half away from zero */
        if (v > 32767.0)
            v = 32767.0;
        else if (v < -32768.0)
            v = -32768.0;
        out[j] = (int16_t) v;
    }
}
