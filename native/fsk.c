/* Caller-ID FSK receiver (Bell 202 and V.23, 1200 baud, 8 or 16 kHz).
 *
 * Demodulation: for each tone a complex correlator over a sliding one-baud
 * window (exact integer running sums, so no drift however long the stream).
 * The statistic d = (|M|^2 - |S|^2) / (|M|^2 + |S|^2) is a ratio, so the
 * decisions do not depend on the signal level: there is no level threshold.
 *
 * Bit timing: a start bit is found at the zero crossing of d (interpolated to
 * a fraction of a sample) and every bit of the character is read at its
 * centre, one baud apart (d interpolated there too). Between the characters
 * of a message the next start edge is predicted; a measured edge near the
 * prediction is averaged with it (less noise jitter) and, when noise hides
 * the edge of a contiguous character, the predicted centre is used
 * ("flywheel"). Before a message several start-bit candidates run in
 * parallel, so a noise dip in the mark run cannot push the receiver out of
 * step with the message-type character.
 *
 * Message delimiting: at least MIN_LEAD_MARK_BITS of mark, then a known
 * message type, the length, the data and the checksum (two's complement of
 * the mod-256 sum). Only messages with a right checksum leave this file.
 *
 * The two demodulators also measure the mark and space frequencies (mean
 * phase rotation of the correlators), so the caller can tell Bell 202 from
 * V.23: each demodulator decodes the other's signal too. */
#include "fsk.h"

#include <math.h>
#ifdef FSK_DEBUG
#include <stdio.h>
#endif
#include <stdlib.h>
#include <string.h>

#define BAUD 1200.0
#define FSK_PI 3.14159265358979323846
#define RING_LEN 16          /* power of two >= the longest window (13) */
#define PHASE_LEN_MAX 160    /* lcm of the tone periods at 16 kHz */
#define TABLE_SCALE 16384.0
#define MAX_CANDIDATES 4
#define MIN_LEAD_MARK_BITS 10.0   /* mark before a message type (spandsp: 10) */
#define MAX_GAP_BITS 40.0         /* mark allowed between two characters */
#define EDGE_BLEND_WINDOW 0.34    /* of a baud: measured edge averaged with prediction */
#define SPACE_RUN_FRACTION 0.5    /* of a baud of space resets the mark run */
#define ROT_MIN_STAT 0.5f         /* |d| needed for a sample to count in the frequency estimate */
#define ROT_TIME_CONSTANT_S 0.05
#define ONSET_FAST_S 0.003
#define ONSET_FLOOR_S 2.0
#define ONSET_HANGOVER_S 0.03
#define ONSET_RATIO 3.0           /* short-term power over the noise floor */
#define ONSET_MIN_POWER 1.0       /* ~ -85 dBm0: digital silence is no signal */
#define ONSET_MAX_LEAD_S 1.5      /* seizure + mark are ~0.4 s; an older onset is not ours */

enum { MSG_HUNT = 0, MSG_LENGTH, MSG_DATA };

typedef struct {
    int active;
    int bit;          /* next bit: 0 start, 1..8 data, 9 stop */
    double edge_t;    /* zero crossing of d at the start edge (statistic time) */
    double next_t;    /* statistic time of the next bit centre */
    unsigned value;
    double lead_bits; /* mark before this start bit */
    double mark_re, mark_im; /* mark rotation measured over the mark run before it */
} uart_t;

typedef struct {
    int modulation;
    double mark_hz;
    double space_hz;
    int16_t mark_cos[PHASE_LEN_MAX], mark_sin[PHASE_LEN_MAX];
    int16_t space_cos[PHASE_LEN_MAX], space_sin[PHASE_LEN_MAX];
    int64_t m_re, m_im, s_re, s_im;
    double pm_re, pm_im, ps_re, ps_im;   /* previous sums, for the rotation */
    double rot_m_re, rot_m_im, rot_s_re, rot_s_im;
    float d_prev;
    int space_run;
    double mark_run_start;               /* statistic time */
    int msg_state;
    uart_t cand[MAX_CANDIDATES];
    uart_t uart;
    double expect_edge_t;
    double last_stop_t;
    int flywheel_used;
    double first_edge_t;
    double first_lead_bits;
    double first_mark_re, first_mark_im;
    double last_edge_t;
    int len;
    int expected_len;
    uint8_t buf[FSK_MSG_MAX];
    long bad_checksums;
    int ready;
    fsk_message_t msg;
} demod_t;

struct fsk_receiver {
    int sample_rate;
    int window;          /* correlator length N (samples) */
    int phase_len;       /* table period L */
    double baud;         /* samples per bit T */
    double half_window;  /* (N-1)/2: delay from signal time to statistic time */
    int64_t n;           /* samples consumed */
    int phase;           /* n mod L */
    int phase_old;       /* (n - N) mod L */
    int32_t ring[RING_LEN];
    float dc_x1, dc_y1, dc_r;
    double p_fast, p_floor, a_fast, a_floor;
    int present;
    int64_t quiet_samples, hangover_samples;
    int64_t onset_sample;
    double rot_decay;
    demod_t demod[FSK_NUM_MODS];
};

static const double MOD_FREQS[FSK_NUM_MODS][2] = {
    {1200.0, 2200.0}, /* Bell 202: mark, space */
    {1300.0, 2100.0}, /* V.23 channel 1 */
};

static int is_message_type(unsigned byte)
{
    switch (byte) {
    case 0x04: /* SDMF caller ID */
    case 0x06: /* SDMF message waiting */
    case 0x80: /* MDMF caller ID / ETSI call set-up */
    case 0x82: /* MDMF / ETSI message waiting */
    case 0x86: /* ETSI advice of charge */
    case 0x89: /* ETSI short message */
        return 1;
    default:
        return 0;
    }
}

static void fill_table(int16_t *cos_t, int16_t *sin_t, int len, double hz, int rate)
{
    int k;
    for (k = 0; k < len; k++) {
        double ph = 2.0 * FSK_PI * hz * (double)k / (double)rate;
        cos_t[k] = (int16_t)lrint(TABLE_SCALE * cos(ph));
        /* e^{-j w k}: the imaginary part is -sin */
        sin_t[k] = (int16_t)lrint(-TABLE_SCALE * sin(ph));
    }
}

static void demod_reset(demod_t *dm)
{
    dm->m_re = dm->m_im = dm->s_re = dm->s_im = 0;
    dm->pm_re = dm->pm_im = dm->ps_re = dm->ps_im = 0.0;
    dm->rot_m_re = dm->rot_m_im = dm->rot_s_re = dm->rot_s_im = 0.0;
    dm->d_prev = 0.0f;
    dm->space_run = 0;
    dm->mark_run_start = 0.0;
    dm->msg_state = MSG_HUNT;
    memset(dm->cand, 0, sizeof(dm->cand));
    memset(&dm->uart, 0, sizeof(dm->uart));
    dm->expect_edge_t = 0.0;
    dm->last_stop_t = 0.0;
    dm->flywheel_used = 0;
    dm->len = 0;
    dm->expected_len = 0;
    dm->ready = 0;
}

void fsk_receiver_reset(fsk_receiver_t *rx)
{
    int m;
    rx->n = 0;
    rx->phase = 0;
    rx->phase_old = (rx->phase_len - rx->window) % rx->phase_len;
    memset(rx->ring, 0, sizeof(rx->ring));
    rx->dc_x1 = rx->dc_y1 = 0.0f;
    rx->p_fast = rx->p_floor = 0.0;
    rx->present = 0;
    rx->quiet_samples = 0;
    rx->onset_sample = -1;
    for (m = 0; m < FSK_NUM_MODS; m++) {
        demod_reset(&rx->demod[m]);
        rx->demod[m].bad_checksums = 0;
    }
}

fsk_receiver_t *fsk_receiver_new(int sample_rate)
{
    fsk_receiver_t *rx;
    int m;
    if (sample_rate != 8000 && sample_rate != 16000)
        return NULL;
    rx = (fsk_receiver_t *)calloc(1, sizeof(*rx));
    if (rx == NULL)
        return NULL;
    rx->sample_rate = sample_rate;
    rx->baud = (double)sample_rate / BAUD;
    rx->window = (int)lrint(rx->baud);
    rx->half_window = (rx->window - 1) / 2.0;
    rx->phase_len = sample_rate / 100; /* every tone is a multiple of 100 Hz */
    rx->dc_r = sample_rate == 8000 ? 0.98f : 0.99f;
    rx->a_fast = 1.0 / (ONSET_FAST_S * sample_rate);
    rx->a_floor = 1.0 / (ONSET_FLOOR_S * sample_rate);
    rx->hangover_samples = (int64_t)(ONSET_HANGOVER_S * sample_rate);
    rx->rot_decay = 1.0 - 1.0 / (ROT_TIME_CONSTANT_S * sample_rate);
    for (m = 0; m < FSK_NUM_MODS; m++) {
        demod_t *dm = &rx->demod[m];
        dm->modulation = m;
        dm->mark_hz = MOD_FREQS[m][0];
        dm->space_hz = MOD_FREQS[m][1];
        fill_table(dm->mark_cos, dm->mark_sin, rx->phase_len, dm->mark_hz, sample_rate);
        fill_table(dm->space_cos, dm->space_sin, rx->phase_len, dm->space_hz, sample_rate);
    }
    fsk_receiver_reset(rx);
    return rx;
}

void fsk_receiver_free(fsk_receiver_t *rx)
{
    free(rx);
}

int64_t fsk_receiver_samples(const fsk_receiver_t *rx)
{
    return rx->n;
}

long fsk_receiver_bad_checksums(const fsk_receiver_t *rx, int modulation)
{
    if (modulation < 0 || modulation >= FSK_NUM_MODS)
        return -1;
    return rx->demod[modulation].bad_checksums;
}

/* d at statistic time t, with t in (n-1, n]. */
static float stat_at(double t, double n, float d_prev, float d)
{
    double frac = t - (n - 1.0);
    if (frac < 0.0)
        frac = 0.0;
    if (frac > 1.0)
        frac = 1.0;
    return (float)(d_prev + (d - d_prev) * frac);
}

static double estimate_hz(double nominal, double re, double im, int rate)
{
    if (re == 0.0 && im == 0.0)
        return NAN;
    return nominal + atan2(im, re) * (double)rate / (2.0 * FSK_PI);
}

static void finish_message(fsk_receiver_t *rx, demod_t *dm)
{
    int i;
    unsigned sum = 0;
    fsk_message_t *msg = &dm->msg;
    int64_t first_byte, fallback_start;

    for (i = 0; i < dm->len; i++)
        sum += dm->buf[i];
    dm->msg_state = MSG_HUNT;
    if ((sum & 0xFF) != 0) {
#ifdef FSK_DEBUG
        fprintf(stderr, "bad msg mod %d:", dm->modulation);
        for (i = 0; i < dm->len; i++)
            fprintf(stderr, " %02x", dm->buf[i]);
        fprintf(stderr, "\n");
#endif
        dm->bad_checksums++;
        return;
    }
    first_byte = (int64_t)llround(dm->first_edge_t - rx->half_window);
    fallback_start = first_byte - (int64_t)llround(dm->first_lead_bits * rx->baud);
    if (fallback_start < 0)
        fallback_start = 0;
    msg->modulation = dm->modulation;
    msg->first_byte_sample = first_byte;
    if (rx->onset_sample >= 0 && rx->onset_sample <= first_byte
        && first_byte - rx->onset_sample <= (int64_t)(ONSET_MAX_LEAD_S * rx->sample_rate))
        msg->start_sample = rx->onset_sample < fallback_start ? rx->onset_sample : fallback_start;
    else
        msg->start_sample = fallback_start;
    msg->end_sample = (int64_t)llround(dm->last_edge_t - rx->half_window + 10.0 * rx->baud);
    /* The mark run before the message is a pure tone: its measurement is the
     * unbiased one (inside data the transitions pull both tones inwards). */
    msg->mark_hz = estimate_hz(dm->mark_hz, dm->first_mark_re, dm->first_mark_im, rx->sample_rate);
    msg->space_hz = estimate_hz(dm->space_hz, dm->rot_s_re, dm->rot_s_im, rx->sample_rate);
    msg->len = dm->len;
    memcpy(msg->bytes, dm->buf, (size_t)dm->len);
    dm->ready = 1;
}

/* One character from the message-mode UART. */
static void message_byte(fsk_receiver_t *rx, demod_t *dm, unsigned byte, double edge_t)
{
    if (dm->len < FSK_MSG_MAX)
        dm->buf[dm->len++] = (uint8_t)byte;
    dm->last_edge_t = edge_t;
    if (dm->msg_state == MSG_LENGTH) {
        dm->expected_len = (int)byte + 3;
        dm->msg_state = MSG_DATA;
        return;
    }
    if (dm->len >= dm->expected_len)
        finish_message(rx, dm);
}

static void start_uart(uart_t *u, double edge_t, double baud, double lead_bits)
{
    u->active = 1;
    u->bit = 0;
    u->edge_t = edge_t;
    u->next_t = edge_t + baud / 2.0;
    u->value = 0;
    u->lead_bits = lead_bits;
}

/* Advances a UART by one bit if a bit centre fell in (n-1, n].
 * Returns 1 when a character completed with a good stop bit, -1 when the
 * character failed (false start, or a bad stop bit when strict), 0 otherwise. */
static int uart_step(uart_t *u, double n, float d_prev, float d, double baud, int strict_stop,
                     int *stop_ok)
{
    float v;
    if (!u->active || u->next_t > n)
        return 0;
    v = stat_at(u->next_t, n, d_prev, d);
    if (u->bit == 0) {
        if (v >= 0.0f) {
            u->active = 0;
            return -1;
        }
    } else if (u->bit <= 8) {
        if (v > 0.0f)
            u->value |= 1u << (u->bit - 1);
    } else {
        u->active = 0;
        *stop_ok = v > 0.0f;
        if (strict_stop && !*stop_ok)
            return -1;
        return 1;
    }
    u->bit++;
    u->next_t += baud;
    return 0;
}

static void demod_hunt(fsk_receiver_t *rx, demod_t *dm, double n, float d, int falling,
                       double edge_t)
{
    int i;
    int stop_ok = 0;
    if (falling) {
        double lead = (edge_t - dm->mark_run_start) / rx->baud;
        if (lead >= MIN_LEAD_MARK_BITS) {
            for (i = 0; i < MAX_CANDIDATES; i++) {
                if (!dm->cand[i].active) {
                    start_uart(&dm->cand[i], edge_t, rx->baud, lead);
                    dm->cand[i].mark_re = dm->rot_m_re;
                    dm->cand[i].mark_im = dm->rot_m_im;
                    break;
                }
            }
        }
    }
    for (i = 0; i < MAX_CANDIDATES; i++) {
        uart_t *u = &dm->cand[i];
        if (uart_step(u, n, dm->d_prev, d, rx->baud, 1, &stop_ok) == 1
            && is_message_type(u->value)) {
            dm->msg_state = MSG_LENGTH;
            dm->buf[0] = (uint8_t)u->value;
            dm->len = 1;
            dm->first_edge_t = u->edge_t;
            dm->last_edge_t = u->edge_t;
            dm->first_lead_bits = u->lead_bits;
            dm->first_mark_re = u->mark_re;
            dm->first_mark_im = u->mark_im;
            dm->expect_edge_t = u->edge_t + 10.0 * rx->baud;
            dm->last_stop_t = n;
            dm->flywheel_used = 0;
            memset(dm->cand, 0, sizeof(dm->cand));
            return;
        }
    }
}

static void demod_message(fsk_receiver_t *rx, demod_t *dm, double n, float d, int falling,
                          double edge_t)
{
    uart_t *u = &dm->uart;
    int stop_ok = 0;
    int r;
    double tol = EDGE_BLEND_WINDOW * rx->baud;

    if (!u->active) {
        if (falling && edge_t >= dm->expect_edge_t - tol) {
            if (edge_t <= dm->expect_edge_t + tol)
                edge_t = 0.5 * (edge_t + dm->expect_edge_t);
            start_uart(u, edge_t, rx->baud, 0.0);
        } else if (!dm->flywheel_used && n >= dm->expect_edge_t + rx->baud / 2.0) {
            /* The edge of a contiguous character may be lost in noise. */
            dm->flywheel_used = 1;
            if (stat_at(dm->expect_edge_t + rx->baud / 2.0, n, dm->d_prev, d) < 0.0f) {
                start_uart(u, dm->expect_edge_t, rx->baud, 0.0);
                u->bit = 1;
                u->next_t += rx->baud;
            }
        } else if (n > dm->last_stop_t + MAX_GAP_BITS * rx->baud) {
            dm->msg_state = MSG_HUNT; /* carrier gone mid-message */
            return;
        }
        if (!u->active)
            return;
    }
    r = uart_step(u, n, dm->d_prev, d, rx->baud, 0, &stop_ok);
    if (r == 1) {
        /* A bad stop bit is kept: the checksum judges the message. */
        dm->expect_edge_t = u->edge_t + 10.0 * rx->baud;
        dm->last_stop_t = n;
        dm->flywheel_used = 0;
        message_byte(rx, dm, u->value, u->edge_t);
    }
}

static void demod_sample(fsk_receiver_t *rx, demod_t *dm, int32_t y, int32_t y_old)
{
    int p = rx->phase, q = rx->phase_old;
    double mr, mi, sr, si, em, es, tot, n;
    float d;
    int falling;
    double edge_t = 0.0;

    dm->m_re += (int64_t)y * dm->mark_cos[p] - (int64_t)y_old * dm->mark_cos[q];
    dm->m_im += (int64_t)y * dm->mark_sin[p] - (int64_t)y_old * dm->mark_sin[q];
    dm->s_re += (int64_t)y * dm->space_cos[p] - (int64_t)y_old * dm->space_cos[q];
    dm->s_im += (int64_t)y * dm->space_sin[p] - (int64_t)y_old * dm->space_sin[q];
    mr = (double)dm->m_re;
    mi = (double)dm->m_im;
    sr = (double)dm->s_re;
    si = (double)dm->s_im;
    em = mr * mr + mi * mi;
    es = sr * sr + si * si;
    tot = em + es;
    d = tot > 0.0 ? (float)((em - es) / tot) : 0.0f;

    /* Frequency measurement: mean phase step of the winning correlator. */
    dm->rot_m_re *= rx->rot_decay;
    dm->rot_m_im *= rx->rot_decay;
    dm->rot_s_re *= rx->rot_decay;
    dm->rot_s_im *= rx->rot_decay;
    if (d > ROT_MIN_STAT) {
        double w = 1.0 / tot;
        dm->rot_m_re += w * (mr * dm->pm_re + mi * dm->pm_im);
        dm->rot_m_im += w * (mi * dm->pm_re - mr * dm->pm_im);
    } else if (d < -ROT_MIN_STAT) {
        double w = 1.0 / tot;
        dm->rot_s_re += w * (sr * dm->ps_re + si * dm->ps_im);
        dm->rot_s_im += w * (si * dm->ps_re - sr * dm->ps_im);
    }
    dm->pm_re = mr;
    dm->pm_im = mi;
    dm->ps_re = sr;
    dm->ps_im = si;

    n = (double)rx->n;
    if (d < 0.0f) {
        dm->space_run++;
        if (dm->space_run >= SPACE_RUN_FRACTION * rx->baud)
            dm->mark_run_start = n;
    } else {
        dm->space_run = 0;
    }
    falling = dm->d_prev >= 0.0f && d < 0.0f;
    if (falling) {
        double denom = (double)dm->d_prev - (double)d;
        edge_t = (n - 1.0) + (denom > 0.0 ? (double)dm->d_prev / denom : 1.0);
    }
    if (dm->msg_state == MSG_HUNT)
        demod_hunt(rx, dm, n, d, falling, edge_t);
    else
        demod_message(rx, dm, n, d, falling, edge_t);
    dm->d_prev = d;
}

static void track_onset(fsk_receiver_t *rx, float y)
{
    double p = (double)y * (double)y;
    rx->p_fast += (p - rx->p_fast) * rx->a_fast;
    if (rx->p_fast < rx->p_floor)
        rx->p_floor = rx->p_fast;
    else
        rx->p_floor += (rx->p_fast - rx->p_floor) * rx->a_floor;
    if (rx->p_fast > ONSET_RATIO * rx->p_floor + ONSET_MIN_POWER) {
        if (!rx->present)
            rx->onset_sample = rx->n;
        rx->present = 1;
        rx->quiet_samples = 0;
    } else if (rx->present && ++rx->quiet_samples > rx->hangover_samples) {
        rx->present = 0;
    }
}

static void receiver_sample(fsk_receiver_t *rx, int16_t x)
{
    float yf = (float)x - rx->dc_x1 + rx->dc_r * rx->dc_y1;
    int32_t y, y_old;
    int m;
    rx->dc_x1 = (float)x;
    rx->dc_y1 = yf;
    y = (int32_t)lrintf(yf);
    track_onset(rx, yf);
    y_old = rx->ring[(rx->n - rx->window) & (RING_LEN - 1)];
    rx->ring[rx->n & (RING_LEN - 1)] = y;
    for (m = 0; m < FSK_NUM_MODS; m++)
        demod_sample(rx, &rx->demod[m], y, y_old);
    rx->n++;
    if (++rx->phase == rx->phase_len)
        rx->phase = 0;
    if (++rx->phase_old == rx->phase_len)
        rx->phase_old = 0;
}

size_t fsk_receiver_process(fsk_receiver_t *rx, const int16_t *pcm, size_t n, int *ready)
{
    size_t i;
    *ready = 0;
    for (i = 0; i < n; i++) {
        receiver_sample(rx, pcm[i]);
        if (rx->demod[0].ready || rx->demod[1].ready) {
            *ready = 1;
            return i + 1;
        }
    }
    return n;
}

int fsk_receiver_take(fsk_receiver_t *rx, fsk_message_t *out)
{
    int m;
    for (m = 0; m < FSK_NUM_MODS; m++) {
        if (rx->demod[m].ready) {
            rx->demod[m].ready = 0;
            *out = rx->demod[m].msg;
            return 1;
        }
    }
    return 0;
}

void fsk_receiver_trace(fsk_receiver_t *rx, const int16_t *pcm, size_t n, int modulation,
                        float *stat_out)
{
    size_t i;
    int m = modulation == FSK_MOD_V23 ? FSK_MOD_V23 : FSK_MOD_BELL202;
    for (i = 0; i < n; i++) {
        receiver_sample(rx, pcm[i]);
        stat_out[i] = rx->demod[m].d_prev;
        rx->demod[0].ready = rx->demod[1].ready = 0;
    }
}
