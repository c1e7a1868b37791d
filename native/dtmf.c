/* DTMF receiver: see dtmf.h for the method and docs/DSP.md for the figures. */
#include "dtmf.h"

#include <complex.h>
#include <math.h>
#include <string.h>

#define DBM0_FULL_SCALE_SINE 3.14f
#define PI_F 3.14159265358979f
#define SUB_BLOCK_SECONDS 0.006375f
#define HARMONIC_CLEARANCE_HZ 100.0f
#define MIN_GAIN 0.2f
#define IN_SPEC_DEV 0.015f
#define PRECHECK 0.4f
/* Music: an octave (see note_below_octave()) */
#define OCTAVE_MIN_RATIO 1.96f
#define OCTAVE_MAX_RATIO 2.04f
#define OCTAVE_LOCK_HZ 8.0     /* |f_col - 2 f_row| under this over a candidate: phase-locked */
#define SUBHARMONIC_DB (-25.0f)

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
    p->min_tone_ratio = 0.85f;
    p->min_cont_ratio = 0.55f;
    p->max_freq_dev = 0.022f;
    p->max_harmonic_db = 10.0f;
    p->max_balance_db = 3.0f;
    p->max_dev_spread = 0.02f;
    p->max_level_spread_db = 3.0f;
    p->start_windows = 4;
    p->start_gaps = 1;
    p->end_windows = 4;
}

/* kern[i][k]: what a unit tone at bin i gives at bin k over n samples, relative to
 * what it gives at its own bin (the rectangular window's Dirichlet kernel). */
static void kernel(float *kern, float *inv_det, const float *omega, int n)
{
    for (int i = 0; i < DTMF_BINS; i++) {
        for (int k = 0; k < DTMF_BINS; k++) {
            double d = (double) omega[i] - (double) omega[k];
            double re = 1.0, im = 0.0;
            if (i != k) {
                double mag = sin(0.5 * d * n) / ((double) n * sin(0.5 * d));
                re = mag * cos(0.5 * d * (n - 1));
                im = mag * sin(0.5 * d * (n - 1));
            }
            kern[2 * (i * DTMF_BINS + k)] = (float) re;
            kern[2 * (i * DTMF_BINS + k) + 1] = (float) im;
        }
    }
    /* 1 / (1 - kern[k][i] kern[i][k]) for every pair, the 2x2 solve's determinant */
    for (int i = 0; i < DTMF_BINS; i++) {
        for (int k = 0; k < DTMF_BINS; k++) {
            double ar = kern[2 * (k * DTMF_BINS + i)], ai = kern[2 * (k * DTMF_BINS + i) + 1];
            double br = kern[2 * (i * DTMF_BINS + k)], bi = kern[2 * (i * DTMF_BINS + k) + 1];
            double dr = 1.0 - (ar * br - ai * bi), di = -(ar * bi + ai * br);
            double m = dr * dr + di * di;
            inv_det[2 * (i * DTMF_BINS + k)] = (float) (dr / m);
            inv_det[2 * (i * DTMF_BINS + k) + 1] = (float) (-di / m);
        }
    }
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
    if (s->p.start_windows < 1 || s->p.end_windows < 1 || s->p.start_gaps < 0)
        return -1;
    int sub = (int) lrintf(SUB_BLOCK_SECONDS * (float) sample_rate);
    s->sub_len = sub;
    for (int k = 0; k < DTMF_BINS; k++) {
        float w = 2.0f * PI_F * FREQS[k] / (float) sample_rate;
        s->omega[k] = w;
        s->coef[k] = 2.0f * cosf(w);
        s->cos_w[k] = cosf(w);
        s->sin_w[k] = sinf(w);
        s->rot[2 * k] = cosf(w * (float) sub);
        s->rot[2 * k + 1] = -sinf(w * (float) sub);
        s->to_start[2 * k] = cosf(w * (float) (sub - 1));
        s->to_start[2 * k + 1] = -sinf(w * (float) (sub - 1));
        s->harm_coef[k] = 2.0f * cosf(2.0f * w);
    }
    goertzel_bank_init(&s->bank, s->coef, DTMF_BINS);
    kernel(s->kern_win, s->inv_det_win, s->omega, 2 * sub);
    kernel(s->kern_sub, s->inv_det_sub, s->omega, sub);
    s->groups_len = sub - sub % 4;
    float amp = 32767.0f * powf(10.0f, (s->p.min_level_dbm0 - DBM0_FULL_SCALE_SINE) / 20.0f);
    s->min_tone_energy = (amp * (float) sub) * (amp * (float) sub);
    s->normal_twist = db_to_power(s->p.normal_twist_db);
    s->reverse_twist = db_to_power(s->p.reverse_twist_db);
    s->relative_peak = db_to_power(s->p.relative_peak_db);
    s->harmonic_limit = db_to_power(-s->p.max_harmonic_db);
    s->balance_limit = db_to_power(s->p.max_balance_db);
    s->level_spread = db_to_power(s->p.max_level_spread_db);
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

/* Hann-windowed DFT energy of the last two sub-blocks at w rad/sample (the
 * window keeps a tone an octave away out of the bin: its rectangular sidelobe
 * there is only ~25 dB down). Phasors by recurrence, in double: this runs only
 * for a window that passed every other test. */
static double hann_energy(const dtmf_rx_state *s, double w)
{
    int n = 2 * s->sub_len;
    double complex z = 1.0, step = cexp(I * -w);
    double complex h = 1.0, h_step = cexp(I * (2.0 * (double) PI_F / (double) (n + 1)));
    double complex acc = 0.0;
    for (int i = 0; i < n; i++) {
        int idx = s->ring_pos + i;
        if (idx >= n)
            idx -= n;
        h *= h_step;   /* Hann weights 0.5 - 0.5 cos(2 pi (i + 1) / (n + 1)), never zero */
        acc += (0.5 - 0.5 * creal(h)) * (double) s->ring[idx] * z;
        z *= step;
    }
    return creal(acc) * creal(acc) + cimag(acc) * cimag(acc);
}

/* Music, not a key: two partials of one note an octave apart. The second and
 * fourth harmonics of a note near 415 Hz (G#4) fall on 852 and 1633 Hz within
 * the frequency tolerance, and the row tone's own harmonic test cannot see it
 * (its second harmonic is the column tone). Three DTMF pairs are 4 % short of an
 * octave; in spec (1.5 % each way) they measure at most 1.976, and they have
 * nothing at half the row frequency, where such a note has its fundamental. */
static int note_below_octave(const dtmf_rx_state *s, int r, int c, const float *meas)
{
    double fr = (double) FREQS[r] * (1.0 + (double) meas[0]);
    double ratio = (double) FREQS[c] * (1.0 + (double) meas[1]) / fr;
    if (ratio < OCTAVE_MIN_RATIO || ratio > OCTAVE_MAX_RATIO)
        return 0;
    double w = 2.0 * (double) PI_F * fr / (double) s->sample_rate;
    return hann_energy(s, 0.5 * w) > hann_energy(s, w) * pow(10.0, SUBHARMONIC_DB / 10.0);
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

/* The complex amplitudes of tones r and c with each one's leakage into the other's
 * bin taken out (a 2x2 solve with the window's own kernel). */
static void unmix(const float complex *kern, const float complex *inv_det, const float complex *w, int r, int c,
                  float complex *ur, float complex *uc)
{
    float complex a = kern[c * DTMF_BINS + r], b = kern[r * DTMF_BINS + c];
    float complex inv = inv_det[r * DTMF_BINS + c];
    *ur = (w[r] - a * w[c]) * inv;
    *uc = (w[c] - b * w[r]) * inv;
}

/* Every other bin of the group stays clear of the tone once both tones' leakage is removed. */
static int peak_clear(const dtmf_rx_state *s, const float complex *w, float complex ur, float complex uc, int r,
                      int c, int best, int from, float best_energy)
{
    const float complex *kern = (const float complex *) s->kern_win;
    for (int k = from; k < from + 4; k++) {
        if (k == best)
            continue;
        float complex rest = w[k] - ur * kern[r * DTMF_BINS + k] - uc * kern[c * DTMF_BINS + k];
        float e = crealf(rest) * crealf(rest) + cimagf(rest) * cimagf(rest);
        if (e * s->relative_peak > best_energy)
            return 0;
    }
    return 1;
}

static float energy_of(float complex z)
{
    return crealf(z) * crealf(z) + cimagf(z) * cimagf(z);
}

/* The strict test a window must pass to count towards starting digit (row, col). */
static int window_hit(dtmf_rx_state *s, const float complex *ya, const float complex *yb, const float complex *w,
                      const float *we, float win_energy, int r, int c, float *meas, float complex *psi)
{
    int sub = s->sub_len;
    float e_new = s->sub_energy[0], e_old = s->sub_energy[1];
    if (e_new > e_old * s->balance_limit || e_old > e_new * s->balance_limit)
        return 0;
    if (we[r] < s->min_tone_energy || we[c] < s->min_tone_energy)
        return 0;
    /* cheap early exit for most speech: even after every correction below the two
     * tones could not reach the ratio (corrections gain less than 1 / PRECHECK) */
    if (we[r] + we[c] < PRECHECK * s->p.min_tone_ratio * (float) sub * win_energy)
        return 0;
    const float complex *kern_win = (const float complex *) s->kern_win;
    const float complex *kern_sub = (const float complex *) s->kern_sub;
    const float complex *rot = (const float complex *) s->rot;
    float complex ur, uc, ar, ac, br, bc;
    unmix(kern_win, (const float complex *) s->inv_det_win, w, r, c, &ur, &uc);
    float row = energy_of(ur), col = energy_of(uc);
    if (!peak_clear(s, w, ur, uc, r, c, r, 0, row) || !peak_clear(s, w, ur, uc, r, c, c, 4, col))
        return 0;
    /* each tone's frequency from its phase advance between the halves */
    const float complex *inv_sub = (const float complex *) s->inv_det_sub;
    unmix(kern_sub, inv_sub, ya, r, c, &ar, &ac);
    unmix(kern_sub, inv_sub, yb, r, c, &br, &bc);
    *psi = bc * conjf(br) * conjf(br);
    float complex adv[2] = {br * conjf(ar) * rot[r], bc * conjf(ac) * rot[c]};
    int bins[2] = {r, c};
    float corrected[2] = {row, col};
    for (int i = 0; i < 2; i++) {
        int k = bins[i];
        float d = cargf(adv[i]) / (float) sub;
        if (fabsf(d) > s->p.max_freq_dev * s->omega[k])
            return 0;
        /* make up for the window's loss on a tone off its bin, but no more than an
         * in-spec (1.5 %) tone needs: a larger offset is not a DTMF tone to favour */
        float limit = IN_SPEC_DEV * s->omega[k];
        corrected[i] /= offset_gain(fabsf(d) < limit ? d : limit, 2 * sub);
        meas[i] = d / s->omega[k];
    }
    meas[2] = corrected[0];
    meas[3] = corrected[1];
    row = corrected[0];
    col = corrected[1];
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
    if (note_below_octave(s, r, c, meas))
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

/* Music, not a key: the column tone phase-locked an octave above the row tone (a
 * note and its own second harmonic, or two harmonics of a lower note) over the
 * candidate's windows. Only the pairs 697/1336, 770/1477 and 852/1633 come near an
 * octave; in spec their f_col - 2 f_row is -17 Hz or further from 0, for a locked
 * octave it is 0. The phase of col * conj(row)^2 turns by 2 pi (f_col - 2 f_row) per
 * second: measured from the candidate's first window to its last (~20-25 ms, so a
 * window's phase error weighs a quarter as much as in one window's estimate), the
 * turns counted from the windows' own frequency estimates. */
static int candidate_octave(const dtmf_rx_state *s, float complex psi_now)
{
    int r = s->cand_digit / 4, c = 4 + s->cand_digit % 4;
    int k = s->subs_seen - s->cand_psi_sub;
    if (c - 4 != r + 1 || r > 2 || k <= 0)
        return 0;
    double two_pi = 2.0 * (double) PI_F, rate = (double) s->sample_rate;
    double span = (double) s->sub_len * (double) k;   /* samples */
    double dr = 0.5 * ((double) s->cand_min[0] + (double) s->cand_max[0]);
    double dc = 0.5 * ((double) s->cand_min[1] + (double) s->cand_max[1]);
    double coarse_hz = (double) FREQS[c] * (1.0 + dc) - 2.0 * (double) FREQS[r] * (1.0 + dr);
    double predicted = two_pi * coarse_hz * span / rate;
    float complex start = s->cand_psi[0] + I * s->cand_psi[1];
    double fine = (double) cargf(psi_now * conjf(start));
    double turns = nearbyint((predicted - fine) / two_pi);
    double hz = (fine + two_pi * turns) * rate / (two_pi * span);
    return fabs(hz) < OCTAVE_LOCK_HZ;
}

/* The candidate's tones held their frequency and level over its windows. */
static int candidate_steady(const dtmf_rx_state *s)
{
    for (int i = 0; i < 2; i++)
        if (s->cand_max[i] - s->cand_min[i] > s->p.max_dev_spread)
            return 0;
    for (int i = 2; i < 4; i++)
        if (s->cand_max[i] > s->cand_min[i] * s->level_spread)
            return 0;
    return 1;
}

static void judge_window(dtmf_rx_state *s, const float complex *yb)
{
    const float complex *ya = (const float complex *) s->prev;
    const float complex *rot = (const float complex *) s->rot;
    float complex w[DTMF_BINS];
    float we[DTMF_BINS];
    for (int k = 0; k < DTMF_BINS; k++) {
        w[k] = ya[k] + rot[k] * yb[k];
        we[k] = energy_of(w[k]);
    }
    int sub = s->sub_len;
    float win_energy = s->sub_energy[0] + s->sub_energy[1];
    int64_t win_start = s->pos - 2 * sub;
    int r = best_in(we, 0), c = best_in(we, 4);
    float meas[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    float complex psi = 0.0f;
    int hit = window_hit(s, ya, yb, w, we, win_energy, r, c, meas, &psi) ? (r * 4 + (c - 4)) : -1;

    if (s->cur_digit >= 0) {
        float e_new = s->sub_energy[0];
        tone_end_update(&s->end, e_new, s->pos, sub);
        int cr = s->cur_digit / 4, cc = 4 + s->cur_digit % 4;
        if (window_continues(s, we, win_energy, cr, cc)) {
            s->misses = 0;
        } else if (++s->misses >= s->p.end_windows) {
            emit(s, DTMF_EVENT_END, s->cur_digit, s->cur_start, tone_end_at(&s->end));
            s->cur_digit = -1;
        }
    }
    if (hit >= 0 && hit != s->cur_digit) {
        if (hit == s->cand_digit && s->cand_count < s->p.start_windows) {
            s->cand_count++;
            for (int i = 0; i < 4; i++) {
                s->cand_min[i] = meas[i] < s->cand_min[i] ? meas[i] : s->cand_min[i];
                s->cand_max[i] = meas[i] > s->cand_max[i] ? meas[i] : s->cand_max[i];
            }
            if (s->cand_count == s->p.start_windows && (!candidate_steady(s) || candidate_octave(s, psi)))
                s->cand_count = 0;   /* a wandering pitch or level, or a note and its octave: not a key */
        }
        if (hit != s->cand_digit || s->cand_count == 0) {
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
            s->cand_gaps = 0;
            s->cand_start = start;
            memcpy(s->cand_min, meas, sizeof(meas));
            memcpy(s->cand_max, meas, sizeof(meas));
            s->cand_psi[0] = crealf(psi);
            s->cand_psi[1] = cimagf(psi);
            s->cand_psi_sub = s->subs_seen;
        }
        if (s->cand_count >= s->p.start_windows) {
            if (s->cur_digit >= 0) {
                int64_t end = tone_end_at(&s->end);
                emit(s, DTMF_EVENT_END, s->cur_digit, s->cur_start, end < s->cand_start ? end : s->cand_start);
            }
            s->cur_digit = s->cand_digit;
            s->cur_start = s->cand_start;
            s->misses = 0;
            tone_end_begin(&s->end, s->sub_energy[0] > s->sub_energy[1] ? s->sub_energy[0] : s->sub_energy[1],
                           s->pos);
            s->cand_digit = -1;
            s->cand_count = 0;
            emit(s, DTMF_EVENT_START, s->cur_digit, s->cur_start, -1);
        }
    } else if (hit < 0 && s->cand_count > 0 && s->cand_gaps < s->p.start_gaps) {
        s->cand_gaps++;   /* ride over a window spoilt by noise */
    } else {
        s->cand_digit = -1;
        s->cand_count = 0;
    }
}

static void finish_sub_block(dtmf_rx_state *s)
{
    /* the Goertzel output is the DFT times e^{jw(S-1)}: put every bin on the
     * sub-block's start so that bins can be combined with each other */
    float complex y[DTMF_BINS];
    const float complex *to_start = (const float complex *) s->to_start;
    for (int k = 0; k < DTMF_BINS; k++) {
        y[k] = (s->s1[k] - s->cos_w[k] * s->s2[k] + I * (s->sin_w[k] * s->s2[k])) * to_start[k];
        s->s1[k] = 0.0f;
        s->s2[k] = 0.0f;
    }
    s->sub_energy[3] = s->sub_energy[2];
    s->sub_energy[2] = s->sub_energy[1];
    s->sub_energy[1] = s->sub_energy[0];
    s->sub_energy[0] = goertzel_energy_take(s->energy);
    s->subs_seen++;
    if (s->subs_seen >= 2)
        judge_window(s, y);
    memcpy(s->prev, y, sizeof(y));
}

static void to_ring(dtmf_rx_state *s, const int16_t *pcm, int n)
{
    int ring_len = 2 * s->sub_len;
    while (n > 0) {
        int m = ring_len - s->ring_pos;
        if (m > n)
            m = n;
        memcpy(s->ring + s->ring_pos, pcm, sizeof(int16_t) * (size_t) m);
        s->ring_pos += m;
        if (s->ring_pos == ring_len)
            s->ring_pos = 0;
        pcm += m;
        n -= m;
    }
}

GOERTZEL_CLONES void dtmf_rx_feed(dtmf_rx_state *s, const int16_t *pcm, size_t n)
{
    while (n > 0) {
        if (s->fill < s->groups_len) {
            if (s->n_pending > 0 || n < 4) {
                /* a four-sample group split across calls: collect it first */
                if (!goertzel_collect_group(s->pending, &s->n_pending, &pcm, &n, &s->pos))
                    return;
                goertzel_bank_run4(&s->bank, 1, s->s1, s->s2, s->pending, 1, s->energy);
                to_ring(s, s->pending, 4);
                s->fill += 4;
            } else {
                size_t groups = (size_t) (s->groups_len - s->fill) / 4;
                if (groups > n / 4)
                    groups = n / 4;
                int m = (int) (4 * groups);
                goertzel_bank_run4(&s->bank, 1, s->s1, s->s2, pcm, (int) groups, s->energy);
                to_ring(s, pcm, m);
                s->fill += m;
                s->pos += m;
                pcm += m;
                n -= (size_t) m;
            }
        } else {
            size_t m = (size_t) (s->sub_len - s->fill);
            if (m > n)
                m = n;
            goertzel_bank_run1(&s->bank, 1, s->s1, s->s2, pcm, (int) m, s->energy);
            to_ring(s, pcm, (int) m);
            s->fill += (int32_t) m;
            s->pos += (int64_t) m;
            pcm += m;
            n -= m;
        }
        if (s->fill == s->sub_len) {
            s->fill = 0;
            finish_sub_block(s);
        }
    }
}

void dtmf_rx_flush(dtmf_rx_state *s)
{
    if (s->cur_digit >= 0) {
        int64_t end = s->misses == 0 && !s->end.after_strong ? s->pos : tone_end_at(&s->end);
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
