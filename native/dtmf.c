/* DTMF receiver: see dtmf.h for the method and docs/DSP.md for the figures. */
#include "dtmf.h"

#include <math.h>
#include <string.h>

#define DBM0_FULL_SCALE_SINE 3.14f
#define PI_F 3.14159265358979f
#define SUB_BLOCK_SECONDS 0.006375f
#define HARMONIC_CLEARANCE_HZ 100.0f
#define STRONG_FRACTION 0.5f
#define FULL_FRACTION 0.9f     /* a sub-block this loud (vs the reference) is all tone */
#define REF_SMOOTHING 0.125f   /* how fast the reference level follows a steady tone */
#define MIN_GAIN 0.2f

static const float FREQS[DTMF_BINS] = {697.0f, 770.0f, 852.0f, 941.0f, 1209.0f, 1336.0f, 1477.0f, 1633.0f};
static const char KEYS[16] = {'1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D'};

static float db_to_power(float db)
{
    return powf(10.0f, db / 10.0f);
}

void dtmf_rx_default_params(dtmf_params *p)
{
    p->min_level_dbm0 = -45.0f;
    p->normal_twist_db = 9.0f;
    p->reverse_twist_db = 5.0f;
    p->relative_peak_db = 8.0f;
    p->min_tone_ratio = 0.80f;
    p->min_cont_ratio = 0.55f;
    p->max_freq_dev = 0.026f;
    p->max_harmonic_db = 10.0f;
    p->max_balance_db = 3.0f;
    p->start_windows = 4;
    p->end_windows = 4;
}

int dtmf_rx_init(dtmf_rx_state *s, int sample_rate, const dtmf_params *p)
{
    if (sample_rate != 8000 && sample_rate != 16000)
        return -1;
    memset(s, 0, sizeof(*s));
    s->sample_rate = sample_rate;
    if (p)
        s->p = *p;
    else
        dtmf_rx_default_params(&s->p);
    if (s->p.start_windows < 1 || s->p.end_windows < 1)
        return -1;
    int sub = (int) lrintf(SUB_BLOCK_SECONDS * (float) sample_rate);
    s->sub_len = sub;
    for (int k = 0; k < DTMF_BINS; k++) {
        float w = 2.0f * PI_F * FREQS[k] / (float) sample_rate;
        s->omega[k] = w;
        s->coef[k] = 2.0f * cosf(w);
        s->cos_w[k] = cosf(w);
        s->sin_w[k] = sinf(w);
        s->rot_re[k] = cosf(w * (float) sub);
        s->rot_im[k] = -sinf(w * (float) sub);
        s->harm_coef[k] = 2.0f * cosf(2.0f * w);
    }
    float amp = 32767.0f * powf(10.0f, (s->p.min_level_dbm0 - DBM0_FULL_SCALE_SINE) / 20.0f);
    s->min_tone_energy = (amp * (float) sub) * (amp * (float) sub);
    s->normal_twist = db_to_power(s->p.normal_twist_db);
    s->reverse_twist = db_to_power(s->p.reverse_twist_db);
    s->relative_peak = db_to_power(s->p.relative_peak_db);
    s->harmonic_limit = db_to_power(-s->p.max_harmonic_db);
    s->balance_limit = db_to_power(s->p.max_balance_db);
    s->cand_digit = -1;
    s->cur_digit = -1;
    return 0;
}

static void emit(dtmf_rx_state *s, int kind, int digit, int64_t start, int64_t end)
{
    if (s->n_events >= DTMF_MAX_EVENTS) {
        s->dropped++;
        return;
    }
    dtmf_event *e = &s->events[s->n_events++];
    e->kind = kind;
    e->digit = KEYS[digit];
    e->start = start < 0 ? 0 : start;
    e->end = end;
}

/* Goertzel energy of the last two sub-blocks at the harmonic coefficient of bin k. */
static float harmonic_energy(const dtmf_rx_state *s, int k)
{
    int n = 2 * s->sub_len;
    float c = s->harm_coef[k];
    float a1 = 0.0f, a2 = 0.0f;
    for (int i = 0; i < n; i++) {
        int idx = s->ring_pos + i;
        if (idx >= n)
            idx -= n;
        float a0 = c * a1 - a2 + (float) s->ring[idx];
        a2 = a1;
        a1 = a0;
    }
    return a1 * a1 + a2 * a2 - c * a1 * a2;
}

/* Window gain of a tone d rad/sample off the bin (rectangular window of n samples). */
static float offset_gain(float d, int n)
{
    float half = 0.5f * d;
    if (fabsf(half) < 1e-6f)
        return 1.0f;
    float g = sinf(half * (float) n) / ((float) n * sinf(half));
    g *= g;
    return g < MIN_GAIN ? MIN_GAIN : g;
}

static int best_in(const float *e, int from)
{
    int best = from;
    for (int k = from + 1; k < from + 4; k++)
        if (e[k] > e[best])
            best = k;
    return best;
}

static int peak_clear(const dtmf_rx_state *s, const float *e, int best, int from)
{
    for (int k = from; k < from + 4; k++)
        if (k != best && e[k] * s->relative_peak > e[best])
            return 0;
    return 1;
}

/* The strict test a window must pass to count towards starting digit (row, col). */
static int window_hit(dtmf_rx_state *s, const float *we, const float *gre, const float *gim, float win_energy,
                      int r, int c)
{
    int sub = s->sub_len;
    float e_new = s->sub_energy[0], e_old = s->sub_energy[1];
    if (e_new > e_old * s->balance_limit || e_old > e_new * s->balance_limit)
        return 0;
    if (we[r] < s->min_tone_energy || we[c] < s->min_tone_energy)
        return 0;
    if (!peak_clear(s, we, r, 0) || !peak_clear(s, we, c, 4))
        return 0;
    float corrected[2];
    int bins[2] = {r, c};
    for (int i = 0; i < 2; i++) {
        int k = bins[i];
        /* phase advance between the halves, less the bin's own: the tone's offset */
        float cre = gre[k] * s->prev_re[k] + gim[k] * s->prev_im[k];
        float cim = gim[k] * s->prev_re[k] - gre[k] * s->prev_im[k];
        float pre = cre * s->rot_re[k] - cim * s->rot_im[k];
        float pim = cre * s->rot_im[k] + cim * s->rot_re[k];
        float d = atan2f(pim, pre) / (float) sub;
        if (fabsf(d) > s->p.max_freq_dev * s->omega[k])
            return 0;
        corrected[i] = we[k] / offset_gain(d, 2 * sub);
    }
    float row = corrected[0], col = corrected[1];
    if (col > row * s->reverse_twist || row > col * s->normal_twist)
        return 0;
    if (row + col < s->p.min_tone_ratio * (float) sub * win_energy)
        return 0;
    if (harmonic_energy(s, c) > col * s->harmonic_limit)
        return 0;
    float harm_row_hz = 2.0f * FREQS[r];
    if (fabsf(harm_row_hz - FREQS[c]) >= HARMONIC_CLEARANCE_HZ && harm_row_hz < 0.5f * (float) s->sample_rate
        && harmonic_energy(s, r) > row * s->harmonic_limit)
        return 0;
    return 1;
}

/* The lenient test that keeps a started digit going (talk-over, noise, short breaks). */
static int window_continues(const dtmf_rx_state *s, const float *we, float win_energy, int r, int c)
{
    if (best_in(we, 0) != r || best_in(we, 4) != c)
        return 0;
    float floor_e = 0.5f * s->min_tone_energy;
    if (we[r] < floor_e || we[c] < floor_e)
        return 0;
    if (we[c] > we[r] * 2.0f * s->reverse_twist || we[r] > we[c] * 2.0f * s->normal_twist)
        return 0;
    return we[r] + we[c] >= s->p.min_cont_ratio * (float) s->sub_len * win_energy;
}

static void judge_window(dtmf_rx_state *s, const float *gre, const float *gim)
{
    float we[DTMF_BINS];
    for (int k = 0; k < DTMF_BINS; k++) {
        float wr = s->prev_re[k] + s->rot_re[k] * gre[k] - s->rot_im[k] * gim[k];
        float wi = s->prev_im[k] + s->rot_re[k] * gim[k] + s->rot_im[k] * gre[k];
        we[k] = wr * wr + wi * wi;
    }
    int sub = s->sub_len;
    float win_energy = s->sub_energy[0] + s->sub_energy[1];
    int64_t win_start = s->pos - 2 * sub;
    int r = best_in(we, 0), c = best_in(we, 4);
    int hit = window_hit(s, we, gre, gim, win_energy, r, c) ? (r * 4 + (c - 4)) : -1;

    if (s->cur_digit >= 0) {
        float e_new = s->sub_energy[0];
        if (e_new >= STRONG_FRACTION * s->ref_energy)
            s->ref_energy += REF_SMOOTHING * (e_new - s->ref_energy);
        if (e_new >= FULL_FRACTION * s->ref_energy) {
            s->strong_end = s->pos;
            s->tail = 0;
            s->after_strong = 0;
        } else if (!s->after_strong) {
            float f = e_new / s->ref_energy;
            s->tail = (int64_t) lrintf((float) sub * (f > 1.0f ? 1.0f : f));
            s->after_strong = 1;
        }
        int cr = s->cur_digit / 4, cc = 4 + s->cur_digit % 4;
        if (window_continues(s, we, win_energy, cr, cc)) {
            s->misses = 0;
        } else if (++s->misses >= s->p.end_windows) {
            emit(s, DTMF_EVENT_END, s->cur_digit, s->cur_start, s->strong_end + s->tail);
            s->cur_digit = -1;
        }
    }
    if (hit >= 0 && hit != s->cur_digit) {
        if (hit == s->cand_digit) {
            s->cand_count++;
        } else {
            float e_old = s->sub_energy[1], e_new = s->sub_energy[0];
            float ref = e_old > e_new ? e_old : e_new;
            float f_old = ref > 0.0f ? e_old / ref : 1.0f;
            int64_t start = win_start + (int64_t) lrintf((float) sub * (1.0f - f_old));
            if (f_old > 0.9f && s->subs_seen >= 3) {
                float f_before = s->sub_energy[2] / ref;
                start -= (int64_t) lrintf((float) sub * (f_before > 1.0f ? 1.0f : f_before));
            }
            s->cand_digit = hit;
            s->cand_count = 1;
            s->cand_start = start;
        }
        if (s->cand_count >= s->p.start_windows) {
            if (s->cur_digit >= 0) {
                int64_t end = s->strong_end + s->tail;
                emit(s, DTMF_EVENT_END, s->cur_digit, s->cur_start, end < s->cand_start ? end : s->cand_start);
            }
            s->cur_digit = s->cand_digit;
            s->cur_start = s->cand_start;
            s->misses = 0;
            s->ref_energy = s->sub_energy[0] > s->sub_energy[1] ? s->sub_energy[0] : s->sub_energy[1];
            s->strong_end = s->pos;
            s->tail = 0;
            s->after_strong = 0;
            s->cand_digit = -1;
            s->cand_count = 0;
            emit(s, DTMF_EVENT_START, s->cur_digit, s->cur_start, -1);
        }
    } else {
        s->cand_digit = -1;
        s->cand_count = 0;
    }
}

static void finish_sub_block(dtmf_rx_state *s)
{
    float gre[DTMF_BINS], gim[DTMF_BINS];
    for (int k = 0; k < DTMF_BINS; k++) {
        gre[k] = s->s1[k] - s->cos_w[k] * s->s2[k];
        gim[k] = s->sin_w[k] * s->s2[k];
        s->s1[k] = 0.0f;
        s->s2[k] = 0.0f;
    }
    s->sub_energy[3] = s->sub_energy[2];
    s->sub_energy[2] = s->sub_energy[1];
    s->sub_energy[1] = s->sub_energy[0];
    s->sub_energy[0] = s->energy;
    s->energy = 0.0f;
    s->subs_seen++;
    if (s->subs_seen >= 2)
        judge_window(s, gre, gim);
    memcpy(s->prev_re, gre, sizeof(gre));
    memcpy(s->prev_im, gim, sizeof(gim));
}

void dtmf_rx_feed(dtmf_rx_state *s, const int16_t *pcm, size_t n)
{
    int ring_len = 2 * s->sub_len;
    while (n > 0) {
        size_t m = (size_t) (s->sub_len - s->fill);
        if (m > n)
            m = n;
        float a1[DTMF_BINS], a2[DTMF_BINS], coef[DTMF_BINS];
        memcpy(a1, s->s1, sizeof(a1));
        memcpy(a2, s->s2, sizeof(a2));
        memcpy(coef, s->coef, sizeof(coef));
        float energy = s->energy;
        for (size_t j = 0; j < m; j++) {
            float x = (float) pcm[j];
            energy += x * x;
            for (int k = 0; k < DTMF_BINS; k++) {
                float a0 = coef[k] * a1[k] - a2[k] + x;
                a2[k] = a1[k];
                a1[k] = a0;
            }
        }
        memcpy(s->s1, a1, sizeof(a1));
        memcpy(s->s2, a2, sizeof(a2));
        s->energy = energy;
        for (size_t j = 0; j < m; j++) {
            s->ring[s->ring_pos++] = pcm[j];
            if (s->ring_pos >= ring_len)
                s->ring_pos = 0;
        }
        s->fill += (int32_t) m;
        s->pos += (int64_t) m;
        pcm += m;
        n -= m;
        if (s->fill == s->sub_len) {
            s->fill = 0;
            finish_sub_block(s);
        }
    }
}

void dtmf_rx_flush(dtmf_rx_state *s)
{
    if (s->cur_digit >= 0) {
        int64_t end = s->misses == 0 && !s->after_strong ? s->pos : s->strong_end + s->tail;
        emit(s, DTMF_EVENT_END, s->cur_digit, s->cur_start, end);
        s->cur_digit = -1;
    }
    s->cand_digit = -1;
    s->cand_count = 0;
}

int dtmf_rx_take_events(dtmf_rx_state *s, dtmf_event *out, int max)
{
    int n = s->n_events < max ? s->n_events : max;
    memcpy(out, s->events, (size_t) n * sizeof(dtmf_event));
    memmove(s->events, s->events + n, (size_t) (s->n_events - n) * sizeof(dtmf_event));
    s->n_events -= n;
    return n;
}
