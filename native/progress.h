/* Call-progress tone detector: which configured frequency set sounds, and when.
 *
 * Goertzel filters at the configured frequencies run over 20 ms sub-blocks; each
 * 40 ms window (two sub-blocks, 25 Hz resolution at any rate) is classified as one
 * frequency set or none, with a frequency check from the phase advance between the
 * halves. Runs of one set become "on" segments; cadence (busy vs congestion) is
 * matched in Python (appliance/dsp/tones.py) from these segments.
 */
#ifndef APPLIANCE_PROGRESS_H
#define APPLIANCE_PROGRESS_H
#include <stddef.h>
#include <stdint.h>

#include "goertzel.h"
#include "tone_end.h"

#define PROGRESS_MAX_FREQS 16
#define PROGRESS_MAX_SETS 16
#define PROGRESS_MAX_EVENTS 64

typedef struct progress_segment {
    int32_t set;        /* index of the frequency set */
    int32_t reserved;
    int64_t start;      /* samples */
    int64_t end;
} progress_segment;

typedef struct progress_params {
    int32_t n_freqs;
    float freqs[PROGRESS_MAX_FREQS];
    int32_t n_sets;
    uint32_t set_mask[PROGRESS_MAX_SETS];   /* bit i: freqs[i] belongs to the set */
    float min_level_dbm0;                   /* per component */
    float min_ratio;                        /* set energy / window energy, 0..1 */
    float max_twist_db;                     /* between a set's components */
    float max_dev_hz;                       /* measured frequency off the nominal */
    float max_balance_db;                   /* sub-block energy imbalance in a window */
    int32_t end_windows;                    /* failing windows that end a segment */
} progress_params;

typedef struct progress_state {
    int32_t sample_rate;
    int32_t sub_len;
    int32_t cur_set;
    int32_t dropped;
    int64_t cur_start;
    progress_params p;
    int32_t n_bins;                         /* n_freqs rounded up to 8 or 16 */
    float coef[PROGRESS_MAX_FREQS];
    goertzel_bank bank;
    float cos_w[PROGRESS_MAX_FREQS];
    float sin_w[PROGRESS_MAX_FREQS];
    float rot_re[PROGRESS_MAX_FREQS];
    float rot_im[PROGRESS_MAX_FREQS];
    float s1[PROGRESS_MAX_FREQS];
    float s2[PROGRESS_MAX_FREQS];
    float prev_re[PROGRESS_MAX_FREQS];
    float prev_im[PROGRESS_MAX_FREQS];
    float energy[4];
    float sub_energy[3];
    int32_t fill;
    int32_t n_pending;
    int16_t pending[4];
    int32_t subs_seen;
    int64_t pos;
    float min_energy;
    float twist, balance;
    int32_t misses;
    tone_end end;
    int32_t n_events;
    progress_segment events[PROGRESS_MAX_EVENTS];
} progress_state;

void progress_default_params(progress_params *p);
int progress_init(progress_state *s, int sample_rate, const progress_params *p);
void progress_feed(progress_state *s, const int16_t *pcm, size_t n);
void progress_flush(progress_state *s);
int progress_take_events(progress_state *s, progress_segment *out, int max);
#endif
