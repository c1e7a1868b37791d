/* Call-progress tone detector: see progress.h. */
#include "progress.h"

#include <math.h>
#include <string.h>

#define DBM0_FULL_SCALE_SINE 3.14f
#define PI_F 3.14159265358979f
#define SUB_BLOCK_SECONDS 0.020f   /* 160 or 320 samples: a multiple of four */
#define MIN_GAIN 0.3f         /* the most an off-nominal tone's energy is made up for */

void progress_default_params(progress_params *p)
{
    memset(p, 0, sizeof(*p));
    p->min_level_dbm0 = -44.0f;
    p->min_ratio = 0.75f;
    p->max_twist_db = 12.0f;
    p->max_dev_hz = 13.0f;
    p->max_balance_db = 3.0f;
    p->end_windows = 2;
}

int progress_init(progress_state *s, int sample_rate, const progress_params *p)
{
    if (sample_rate != 8000 && sample_rate != 16000)
        return -1;
    if (p->n_freqs < 1 || p->n_freqs > PROGRESS_MAX_FREQS || p->n_sets < 0 || p->n_sets > PROGRESS_MAX_SETS
        || p->end_windows < 1)
        return -1;
    memset(s, 0, sizeof(*s));
    s->p = *p;
    s->sample_rate = sample_rate;
    s->sub_len = (int32_t) lrintf(SUB_BLOCK_SECONDS * (float) sample_rate);
    s->n_bins = p->n_freqs <= 8 ? 8 : PROGRESS_MAX_FREQS;
    for (int k = 0; k < p->n_freqs; k++) {
        float f = p->freqs[k];
        if (!(f > 0.0f && f < 0.5f * (float) sample_rate))
            return -1;
        float w = 2.0f * PI_F * f / (float) sample_rate;
        s->coef[k] = 2.0f * cosf(w);
        s->cos_w[k] = cosf(w);
        s->sin_w[k] = sinf(w);
        s->rot_re[k] = cosf(w * (float) s->sub_len);
        s->rot_im[k] = -sinf(w * (float) s->sub_len);
    }
    goertzel_bank_init(&s->bank, s->coef, s->n_bins);
    for (int i = 0; i < p->n_sets; i++)
        if (p->set_mask[i] == 0 || (p->set_mask[i] >> p->n_freqs) != 0)
            return -1;
    float amp = 32767.0f * powf(10.0f, (p->min_level_dbm0 - DBM0_FULL_SCALE_SINE) / 20.0f);
    s->min_energy = (amp * (float) s->sub_len) * (amp * (float) s->sub_len);
    s->twist = powf(10.0f, p->max_twist_db / 10.0f);
    s->balance = powf(10.0f, p->max_balance_db / 10.0f);
    s->cur_set = -1;
    return 0;
}

static void emit(progress_state *s, int set, int64_t start, int64_t end)
{
    if (s->n_events >= PROGRESS_MAX_EVENTS) {
        s->dropped++;
        return;
    }
    progress_segment *e = &s->events[s->n_events++];
    e->set = set;
    e->reserved = 0;
    e->start = start < 0 ? 0 : start;
    e->end = end;
}

/* Window gain of a tone d rad/sample off its bin (rectangular window of n samples). */
static float offset_gain(float d, int n)
{
    float half = 0.5f * d;
    if (fabsf(half) < 1e-6f)
        return 1.0f;
    float g = sinf(half * (float) n) / ((float) n * sinf(half));
    g *= g;
    return g < MIN_GAIN ? MIN_GAIN : g;
}

static int classify(const progress_state *s, const float *we, const float *gre, const float *gim, float win_energy)
{
    float e_new = s->sub_energy[0], e_old = s->sub_energy[1];
    if (e_new > e_old * s->balance || e_old > e_new * s->balance)
        return -1;
    float max_d = 2.0f * PI_F * s->p.max_dev_hz / (float) s->sample_rate;
    /* each bin's tone offset from its phase advance between the halves; the energy
     * then gets back what the window lost on an off-nominal tone */
    float corrected[PROGRESS_MAX_FREQS];
    int on_freq[PROGRESS_MAX_FREQS];
    for (int k = 0; k < s->p.n_freqs; k++) {
        on_freq[k] = 0;
        corrected[k] = we[k];
        if (we[k] < s->min_energy)
            continue;
        float cre = gre[k] * s->prev_re[k] + gim[k] * s->prev_im[k];
        float cim = gim[k] * s->prev_re[k] - gre[k] * s->prev_im[k];
        float pre = cre * s->rot_re[k] - cim * s->rot_im[k];
        float pim = cre * s->rot_im[k] + cim * s->rot_re[k];
        float d = atan2f(pim, pre) / (float) s->sub_len;
        if (fabsf(d) > max_d)
            continue;
        on_freq[k] = 1;
        corrected[k] = we[k] / offset_gain(d, 2 * s->sub_len);
    }
    int best = -1;
    float best_sum = 0.0f;
    float limit = s->p.min_ratio * (float) s->sub_len * win_energy;
    for (int i = 0; i < s->p.n_sets; i++) {
        uint32_t mask = s->p.set_mask[i];
        float sum = 0.0f, lo = 3.4e38f, hi = 0.0f;
        int ok = 1;
        for (int k = 0; k < s->p.n_freqs; k++) {
            if (!(mask & (1u << k)))
                continue;
            ok &= on_freq[k];
            sum += corrected[k];
            lo = corrected[k] < lo ? corrected[k] : lo;
            hi = corrected[k] > hi ? corrected[k] : hi;
        }
        if (!ok || lo < s->min_energy || hi > lo * s->twist || sum < limit || sum <= best_sum)
            continue;
        best = i;
        best_sum = sum;
    }
    return best;
}

static void end_segment(progress_state *s)
{
    emit(s, s->cur_set, s->cur_start, tone_end_at(&s->end));
    s->cur_set = -1;
}

static void judge_window(progress_state *s, const float *gre, const float *gim)
{
    float we[PROGRESS_MAX_FREQS];
    for (int k = 0; k < s->p.n_freqs; k++) {
        float wr = s->prev_re[k] + s->rot_re[k] * gre[k] - s->rot_im[k] * gim[k];
        float wi = s->prev_im[k] + s->rot_re[k] * gim[k] + s->rot_im[k] * gre[k];
        we[k] = wr * wr + wi * wi;
    }
    int sub = s->sub_len;
    float win_energy = s->sub_energy[0] + s->sub_energy[1];
    int set = classify(s, we, gre, gim, win_energy);
    if (s->cur_set >= 0) {
        float e_new = s->sub_energy[0];
        tone_end_update(&s->end, e_new, s->pos, sub);
        if (set == s->cur_set) {
            s->misses = 0;
            return;
        }
        if (set < 0 && ++s->misses < s->p.end_windows)
            return;
        if (set >= 0) {
            /* another set took over straight away: the old one ended where the new began */
            s->end.strong_end = s->pos - 2 * sub;
            s->end.tail = 0;
        }
        end_segment(s);
    }
    if (set >= 0) {
        float e_old = s->sub_energy[1], e_new = s->sub_energy[0];
        float ref = e_old > e_new ? e_old : e_new;
        float f_old = ref > 0.0f ? e_old / ref : 1.0f;
        int64_t start = s->pos - 2 * sub + (int64_t) lrintf((float) sub * (1.0f - f_old));
        if (f_old > 0.9f && s->subs_seen >= 3) {
            float f_before = s->sub_energy[2] / ref;
            start -= (int64_t) lrintf((float) sub * (f_before > 1.0f ? 1.0f : f_before));
        }
        s->cur_set = set;
        s->cur_start = start;
        s->misses = 0;
        tone_end_begin(&s->end, s->sub_energy[0] > s->sub_energy[1] ? s->sub_energy[0] : s->sub_energy[1],
                       s->pos);
    }
}

static void finish_sub_block(progress_state *s)
{
    float gre[PROGRESS_MAX_FREQS], gim[PROGRESS_MAX_FREQS];
    for (int k = 0; k < s->p.n_freqs; k++) {
        gre[k] = s->s1[k] - s->cos_w[k] * s->s2[k];
        gim[k] = s->sin_w[k] * s->s2[k];
    }
    memset(s->s1, 0, sizeof(s->s1));
    memset(s->s2, 0, sizeof(s->s2));
    s->sub_energy[2] = s->sub_energy[1];
    s->sub_energy[1] = s->sub_energy[0];
    s->sub_energy[0] = goertzel_energy_take(s->energy);
    s->subs_seen++;
    if (s->subs_seen >= 2)
        judge_window(s, gre, gim);
    memcpy(s->prev_re, gre, sizeof(float) * (size_t) s->p.n_freqs);
    memcpy(s->prev_im, gim, sizeof(float) * (size_t) s->p.n_freqs);
}

GOERTZEL_CLONES void progress_feed(progress_state *s, const int16_t *pcm, size_t n)
{
    /* sub-blocks are multiples of four samples long; a group split across calls waits in pending */
    while (n > 0) {
        const int16_t *group = pcm;
        int groups;
        if (s->n_pending > 0 || n < 4) {
            if (!goertzel_collect_group(s->pending, &s->n_pending, &pcm, &n, &s->pos))
                return;
            group = s->pending;
            groups = 1;
        } else {
            size_t g = (size_t) (s->sub_len - s->fill) / 4;
            if (g > n / 4)
                g = n / 4;
            groups = (int) g;
            pcm += 4 * g;
            n -= 4 * g;
            s->pos += (int64_t) (4 * g);
        }
        if (s->n_bins == 8)
            goertzel_bank_run4(&s->bank, 1, s->s1, s->s2, group, groups, s->energy);
        else
            goertzel_bank_run4(&s->bank, 2, s->s1, s->s2, group, groups, s->energy);
        s->fill += 4 * groups;
        if (s->fill == s->sub_len) {
            s->fill = 0;
            finish_sub_block(s);
        }
    }
}

void progress_flush(progress_state *s)
{
    if (s->cur_set >= 0) {
        if (s->misses == 0 && !s->end.after_strong) {
            s->end.strong_end = s->pos;
            s->end.tail = 0;
        }
        end_segment(s);
    }
}

int progress_take_events(progress_state *s, progress_segment *out, int max)
{
    int n = s->n_events < max ? s->n_events : max;
    memcpy(out, s->events, (size_t) n * sizeof(progress_segment));
    memmove(s->events, s->events + n, (size_t) (s->n_events - n) * sizeof(progress_segment));
    s->n_events -= n;
    return n;
}
