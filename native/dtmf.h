/* DTMF receiver (ITU-T Q.24 / ETSI ES 201 235-3), streaming, no allocation.
 *
 * Goertzel filters run over sub-blocks of 6.375 ms (51 samples at 8 kHz, 102 at
 * 16 kHz); every sub-block a 12.75 ms window (two sub-blocks) is judged. The complex
 * Goertzel outputs of the two halves give both the window's spectrum and the tone
 * frequencies themselves (phase advance between halves), so a tone more than 2.5 %
 * off is refused instead of being accepted on magnitude as plain Goertzel does.
 */
#ifndef APPLIANCE_DTMF_H
#define APPLIANCE_DTMF_H
#include <stddef.h>
#include <stdint.h>

#include "goertzel.h"
#include "tone_end.h"

#define DTMF_BINS 8
#define DTMF_MAX_SUB 102
#define DTMF_MAX_EVENTS 64
#define DTMF_EVENT_START 1
#define DTMF_EVENT_END 2

typedef struct dtmf_event {
    int32_t kind;       /* DTMF_EVENT_START or DTMF_EVENT_END */
    int32_t digit;      /* ASCII: '0'-'9', '*', '#', 'A'-'D' */
    int64_t start;      /* sample index of the tone's start */
    int64_t end;        /* sample index just after the tone (END events) */
} dtmf_event;

typedef struct dtmf_params {
    float min_level_dbm0;     /* per tone, to start a digit */
    float normal_twist_db;    /* low group louder than high by at most this */
    float reverse_twist_db;   /* high group louder than low by at most this */
    float relative_peak_db;   /* best bin over the others of its group */
    float min_tone_ratio;     /* (row + col energy) / window energy, 0..1, to start */
    float min_cont_ratio;     /* the same, to keep a started digit going */
    float max_freq_dev;       /* relative frequency deviation accepted, e.g. 0.025 */
    float max_harmonic_db;    /* 2nd harmonic must be at least this far below (dB) */
    float max_balance_db;     /* sub-block energy imbalance within a window to start */
    float max_dev_spread;     /* how far a tone's frequency may wander while a digit starts */
    float max_level_spread_db; /* how far a tone's level may wander while a digit starts */
    int32_t start_windows;    /* agreeing windows to start a digit */
    int32_t start_gaps;       /* failing windows tolerated among them */
    int32_t end_windows;      /* consecutive failing windows to end it */
} dtmf_params;

typedef struct dtmf_rx_state {
    int32_t sample_rate;
    int32_t sub_len;
    dtmf_params p;
    float coef[DTMF_BINS];
    goertzel_bank bank;
    int32_t groups_len;               /* leading samples of a sub-block run four at a time */
    int32_t n_pending;
    int16_t pending[4];
    float cos_w[DTMF_BINS];
    float sin_w[DTMF_BINS];
    float rot[2 * DTMF_BINS];         /* e^{-j w S}, complex as (re, im) pairs */
    float to_start[2 * DTMF_BINS];    /* e^{-j w (S-1)} */
    float kern_win[2 * DTMF_BINS * DTMF_BINS];
    float kern_sub[2 * DTMF_BINS * DTMF_BINS];
    float inv_det_win[2 * DTMF_BINS * DTMF_BINS];
    float inv_det_sub[2 * DTMF_BINS * DTMF_BINS];
    float omega[DTMF_BINS];
    float harm_coef[DTMF_BINS];       /* Goertzel coefficient at twice each frequency */
    float s1[DTMF_BINS];
    float s2[DTMF_BINS];
    float energy[4];                  /* this sub-block's energy so far, in four lanes */
    int32_t fill;
    float prev[2 * DTMF_BINS];        /* the previous sub-block's DFT */
    float sub_energy[4];              /* last sub-block energies, [0] newest */
    int32_t subs_seen;
    int16_t ring[2 * DTMF_MAX_SUB];   /* the last two sub-blocks, for the harmonic check */
    int32_t ring_pos;
    int64_t pos;                      /* samples consumed */
    float min_tone_energy;            /* window Goertzel energy for min_level */
    float normal_twist, reverse_twist, relative_peak, harmonic_limit, balance_limit;
    int32_t cand_digit;
    int32_t cand_count;
    int32_t cand_gaps;
    int64_t cand_start;
    float cand_min[4];                /* row/col deviation and energy over the candidate */
    float cand_max[4];
    float cand_psi[2];                /* col * conj(row)^2 at the candidate's first window */
    int32_t cand_psi_sub;             /* ... and the sub-block it was measured in */
    float level_spread;
    int32_t cur_digit;
    int32_t misses;
    int64_t cur_start;
    tone_end end;
    int32_t n_events;
    int32_t dropped;
    dtmf_event events[DTMF_MAX_EVENTS];
} dtmf_rx_state;

void dtmf_rx_default_params(dtmf_params *p);
int dtmf_rx_init(dtmf_rx_state *s, int sample_rate, const dtmf_params *p);
void dtmf_rx_feed(dtmf_rx_state *s, const int16_t *pcm, size_t n);
void dtmf_rx_flush(dtmf_rx_state *s);
int dtmf_rx_take_events(dtmf_rx_state *s, dtmf_event *out, int max);
#endif
