/* Caller-ID FSK receiver (Bell 202 and V.23, 1200 baud, 8 or 16 kHz).
 *
 * Demodulation: for each tone a complex correlator over a sliding one-baud
 * window: float running sums (four lanes per demodulator, one SIMD vector),
 * re-summed exactly from the sample ring every RESYNC_PERIODS table periods
 * so they cannot drift however long the stream. The statistic
 * d = (|M|^2 - |S|^2) / (|M|^2 + |S|^2) is a ratio, so the decisions do not
 * depend on the signal level: there is no level threshold anywhere.
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
 * the mod-256 sum); or a Japanese JCLIP packet (DLE SOH ... DLE ETX, CRC-16,
 * see jclip_byte()). Only messages with a right checksum leave this file.
 *
 * The mark frequency is measured over the mark run before each message
 * (mean phase step of the mark correlator), so the caller can tell Bell 202
 * from V.23: each demodulator also decodes the other's signal.
 *
 * Speed: samples go through in blocks of BLOCK_LEN. A band gate (run())
 * skips the correlators on loud blocks with little energy at the four tones
 * (speech, noise) and, when it opens, demodulates the last GATE_REPLAY_BITS
 * again from the sample ring. The front end makes the correlator energies and
 * a mark/space bit mask per demodulator; a hunting demodulator with no start
 * edge in the block (noise, silence, a tone: nearly always) is advanced from
 * the bit mask in a few word operations, with the same result as the
 * per-sample path, and samples between bit centres are skipped. The mark
 * rotation is measured only for a candidate that decoded a message type.
 * Nothing is allocated after fsk_receiver_new(). */
#include "fsk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BAUD 1200.0
#define FSK_PI 3.14159265358979323846
#define RING_LEN 1024        /* sample ring: power of two > 24 + 11 bauds + a block at 16 kHz
                              * (the mark rotation is measured when the first character ends) */
#define RESYNC_PERIODS 16    /* table periods between exact re-sums (~0.16 s) */
#define QUIET_DBM0 (-65.0)   /* mean power under which a block is not demodulated */
#define SPACE_RUN_CAP (1 << 20) /* only ==0 and >= a few samples matter */
#define BLOCK_LEN 64         /* samples per front-end block */
#define ROT_BITS 24.0        /* mark run measured for the mark frequency, at most */
#define ROT_MAX_SAMPLES 400  /* > ROT_BITS bauds + a window at 16 kHz */
#define PHASE_LEN_MAX 160    /* lcm of the tone periods at 16 kHz */
#define MAX_CANDIDATES 4
#define MIN_LEAD_MARK_BITS 10.0   /* mark before a message type (spandsp: 10) */
#define MAX_GAP_BITS 40.0         /* mark allowed between two characters */
#define EDGE_BLEND_WINDOW 0.34    /* of a baud: measured edge averaged with prediction */
#define SPACE_RUN_FRACTION 0.5    /* of a baud of space resets the mark run */
#define ROT_MIN_RATIO 3.0f        /* energy ratio for a sample to count in a frequency estimate */
#define ONSET_BLOCK_S 0.002        /* the onset tracker works on 2 ms mean powers */
#define ONSET_FAST_S 0.003
#define ONSET_FLOOR_S 2.0
#define ONSET_FLOOR_DOWN_S 0.05
#define ONSET_FLOOR_PRESENT_S 30.0 /* while a signal is present the floor hardly moves */
#define ONSET_HISTORY 4           /* onsets remembered (power of two) */
#define ONSET_HANGOVER_S 0.03
#define ONSET_RATIO 4.0f          /* short-term power over the noise floor (6 dB) */
#define ONSET_MIN_POWER 1.0f      /* ~ -85 dBm0: digital silence is no signal */
#define ONSET_MAX_LEAD_S 1.5      /* seizure + mark are ~0.4 s; an older onset is not ours */
/* The band gate (see run()): the energy of the last GATE_LEN_S in four DFT bins
 * (the mark and space tones of both standards) over its whole energy. Speech
 * keeps its energy under 1 kHz and white noise spreads it over the band (ratio
 * ~0.13); a mark tone 3 dB over white noise gives 0.35-1.2 (+-50 Hz offsets
 * included). */
#define GATE_LEN_MAX 128          /* GATE_LEN_S at 16 kHz: two blocks */
/* A loud tone out of the band (mains hum, a 3 kHz whistle) fills the total
 * without being speech: the band is also compared with four Hann-windowed bins
 * where speech has its energy (450-900 Hz; the window keeps hum out of them).
 * White noise gives ~2.7 (1 / the window's power), a mark tone 3 dB over it
 * 25 or more (then also far over GATE_OPEN_RATIO of the total). The gate's
 * score is the larger of the two ratios, the second scaled so that
 * GATE_REF_OPEN maps onto GATE_OPEN_RATIO. */
#define GATE_REF_OPEN 40.0f
#define GATE_OPEN_RATIO 0.3f      /* this far in band opens the gate */
#define GATE_HOLD_RATIO 0.2f      /* ... and this far keeps it open */
#define GATE_HOLD_S 0.032         /* under GATE_HOLD_RATIO this long closes it */
#define GATE_REPLAY_BITS 40.0     /* demodulated again from the ring when it opens */

enum { MSG_HUNT = 0, MSG_LENGTH, MSG_DATA, MSG_JCLIP };

/* Japanese caller ID (NTT JCLIP): 7 data bits with even parity in bit 7, the
 * packet DLE SOH header DLE STX type length parameters DLE ETX, a DLE in the
 * data sent twice, then a CRC-16 (x^16+x^12+x^5+1, bit-reversed, initial 0, low
 * byte first) over everything after DLE SOH, parity bits included (spandsp
 * adsi.c). */
#define JCLIP_DLE 0x10
#define JCLIP_SOH 0x01
#define JCLIP_ETX 0x03
#define JCLIP_FIRST 0x90 /* DLE with its parity bit */
#define JCLIP_CRC_BYTES 2

typedef struct {
    int active;
    int bit;          /* next bit: 0 start, 1..8 data, 9 stop */
    double edge_t;    /* zero crossing of d at the start edge (statistic time) */
    double next_t;    /* statistic time of the next bit centre */
    unsigned value;
    double lead_bits; /* mark before this start bit */
    float mark_re, mark_im; /* mark rotation measured over the mark run before it */
} uart_t;

typedef struct {
    int modulation;
    double mark_hz;
    float em, es;                        /* correlator energies, this sample */
    float em_prev, es_prev;
    float em_last, es_last;              /* the previous block's last sample */
    int space_run;
    double mark_run_start;               /* statistic time */
    int msg_state;
    int n_candidates;
    uart_t cand[MAX_CANDIDATES];
    uart_t uart;
    double expect_edge_t;
    double last_stop_t;
    int flywheel_used;
    double first_edge_t;
    double first_lead_bits;
    float first_mark_re, first_mark_im;
    double last_edge_t;
    int len;
    int expected_len;
    int jclip_dle;      /* JCLIP: the last byte was an unpaired DLE */
    int jclip_crc_left; /* JCLIP: CRC bytes still to come after DLE ETX */
    uint8_t buf[FSK_MSG_MAX];
    long bad_checksums;
    int ready;
    fsk_message_t msg;
} demod_t;

/* GCC/clang vector extension: SSE on x86-64, NEON on the Pi's ARM. */
typedef float v4sf __attribute__((vector_size(16)));
typedef int32_t v4si __attribute__((vector_size(16)));
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define PAIR_SUMS(a, b) \
    (__builtin_shufflevector(a, b, 0, 2, 4, 6) + __builtin_shufflevector(a, b, 1, 3, 5, 7))
#else
#define PAIR_SUMS(a, b) \
    (__builtin_shuffle(a, b, (v4si){0, 2, 4, 6}) + __builtin_shuffle(a, b, (v4si){1, 3, 5, 7}))
#endif

struct fsk_receiver {
    /* per phase, per demodulator: mark cos, -sin, space cos, -sin; one period
     * and a block more, so that a block never wraps round it */
    v4sf table[PHASE_LEN_MAX + BLOCK_LEN][FSK_NUM_MODS];
    v4sf acc[FSK_NUM_MODS];
    int sample_rate;
    int window;          /* correlator length N (samples) */
    int phase_len;       /* table period L */
    double baud;         /* samples per bit T */
    double half_window;  /* (N-1)/2: delay from signal time to statistic time */
    int64_t n;           /* samples consumed */
    int phase;           /* n mod L */
    int phase_old;       /* (n - N) mod L */
    int resync_count;
    int32_t ring[RING_LEN];
    int space_run_samples;    /* SPACE_RUN_FRACTION of a baud */
    double min_lead_samples;  /* MIN_LEAD_MARK_BITS in samples */
    int32_t dc_x1;
    int64_t dc_q16;
    int dc_shift;
    int onset_block, onset_count;
    double block_sum;    /* sum of squares so far in this block (exact) */
    float prev_block_power, quiet_block_power;
    int block_quiet, acc_stale;
    /* band gate: DFT bins (mark and space of both standards) over a block */
    v4sf gate_cos[GATE_LEN_MAX], gate_sin[GATE_LEN_MAX];
    v4sf ref_cos[GATE_LEN_MAX], ref_sin[GATE_LEN_MAX]; /* the speech bins */
    int gate_len;         /* samples in the gate's DFT: 8 ms (125 Hz bins) */
    int gate_hold_blocks; /* GATE_HOLD_S in blocks */
    float last_block_sum; /* sum of squares of the block before the last one */
    int gate_enabled;     /* 0: every loud block is demodulated (the reference path) */
    int gate_open;        /* the previous block was demodulated */
    int gate_hold;        /* blocks left before an idle open gate closes */
    int gate_skipped;     /* a loud block was skipped since the gate last closed */
    int replay_blocks;    /* GATE_REPLAY_BITS in whole blocks */
    float gate_ratio;     /* of the last complete block */
    float p_fast, p_floor, a_fast, a_floor, a_floor_down, a_floor_present;
    int present;
    int64_t quiet_samples, hangover_samples;
    int64_t onsets[ONSET_HISTORY];
    unsigned n_onsets;
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
    case JCLIP_FIRST: /* JCLIP: the DLE of DLE SOH */
        return 1;
    default:
        return 0;
    }
}

static void fill_tables(fsk_receiver_t *rx)
{
    static const double gate_hz[4] = {1200.0, 1300.0, 2100.0, 2200.0};
    static const double ref_hz[4] = {450.0, 600.0, 750.0, 900.0};
    int k, m, t;
    for (k = 0; k < rx->gate_len; k++) {
        for (t = 0; t < 4; t++) {
            double ph = 2.0 * FSK_PI * gate_hz[t] * (double)k / (double)rx->sample_rate;
            double ph_ref = 2.0 * FSK_PI * ref_hz[t] * (double)k / (double)rx->sample_rate;
            double hann = 0.5 - 0.5 * cos(2.0 * FSK_PI * (double)k / (double)rx->gate_len);
            rx->gate_cos[k][t] = (float)cos(ph);
            rx->gate_sin[k][t] = (float)sin(ph);
            rx->ref_cos[k][t] = (float)(hann * cos(ph_ref));
            rx->ref_sin[k][t] = (float)(hann * sin(ph_ref));
        }
    }
    for (k = 0; k < rx->phase_len + BLOCK_LEN; k++) {
        for (m = 0; m < FSK_NUM_MODS; m++) {
            for (t = 0; t < 2; t++) {
                int kk = k % rx->phase_len;
                double ph = 2.0 * FSK_PI * MOD_FREQS[m][t] * (double)kk / (double)rx->sample_rate;
                /* e^{-j w k}: the imaginary part is -sin */
                rx->table[k][m][2 * t] = (float)cos(ph);
                rx->table[k][m][2 * t + 1] = (float)-sin(ph);
            }
        }
    }
}

static void demod_reset(demod_t *dm)
{
    long bad = dm->bad_checksums;
    int m = dm->modulation;
    memset(dm, 0, sizeof(*dm));
    dm->modulation = m;
    dm->mark_hz = MOD_FREQS[m][0];
    dm->bad_checksums = bad;
    dm->msg_state = MSG_HUNT;
}

void fsk_receiver_reset(fsk_receiver_t *rx)
{
    int m;
    rx->n = 0;
    rx->phase = 0;
    rx->phase_old = (rx->phase_len - rx->window) % rx->phase_len;
    rx->resync_count = 0;
    rx->block_sum = 0.0;
    rx->prev_block_power = 1e30f; /* the first block is never quiet */
    rx->block_quiet = 0;
    rx->acc_stale = 0;
    rx->gate_open = 1;
    rx->gate_hold = rx->gate_hold_blocks;
    rx->gate_skipped = 0;
    rx->gate_ratio = 0.0f;
    rx->last_block_sum = 0.0f;
    memset(rx->ring, 0, sizeof(rx->ring));
    memset(rx->acc, 0, sizeof(rx->acc));
    rx->dc_x1 = 0;
    rx->dc_q16 = 0;
    rx->onset_count = 0;
    rx->p_fast = rx->p_floor = 0.0f;
    rx->present = 0;
    rx->quiet_samples = 0;
    rx->n_onsets = 0;
    for (m = 0; m < FSK_NUM_MODS; m++) {
        rx->demod[m].modulation = m;
        rx->demod[m].bad_checksums = 0;
        demod_reset(&rx->demod[m]);
    }
}

fsk_receiver_t *fsk_receiver_new(int sample_rate)
{
    fsk_receiver_t *rx;
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
    rx->space_run_samples = (int)ceil(SPACE_RUN_FRACTION * rx->baud);
    rx->min_lead_samples = MIN_LEAD_MARK_BITS * rx->baud;
    rx->dc_shift = sample_rate == 8000 ? 6 : 7; /* pole 1 - 2^-shift: ~20 Hz */
    {
        double peak = 32767.0 * pow(10.0, (QUIET_DBM0 - 3.14) / 20.0);
        rx->quiet_block_power = (float)(peak * peak / 2.0); /* mean square of a sine */
    }
    rx->onset_block = (int)(ONSET_BLOCK_S * sample_rate);
    rx->a_fast = (float)(ONSET_BLOCK_S / ONSET_FAST_S);
    rx->a_floor = (float)(ONSET_BLOCK_S / ONSET_FLOOR_S);
    rx->a_floor_down = (float)(ONSET_BLOCK_S / ONSET_FLOOR_DOWN_S);
    rx->a_floor_present = (float)(ONSET_BLOCK_S / ONSET_FLOOR_PRESENT_S);
    rx->hangover_samples = (int64_t)(ONSET_HANGOVER_S * sample_rate);
    rx->replay_blocks = (int)ceil(GATE_REPLAY_BITS * rx->baud / BLOCK_LEN);
    rx->gate_len = sample_rate / 125;
    rx->gate_hold_blocks = (int)lrint(GATE_HOLD_S * sample_rate / BLOCK_LEN);
    rx->gate_enabled = 1;
    fill_tables(rx);
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

static float ratio(float em, float es)
{
    float tot = em + es;
    return tot > 0.0f ? (em - es) / tot : 0.0f;
}

/* d at statistic time t, with t in (n-1, n]. */
static float stat_at(const demod_t *dm, double t, double n)
{
    double frac = t - (n - 1.0);
    float d_prev = ratio(dm->em_prev, dm->es_prev);
    float d = ratio(dm->em, dm->es);
    if (frac < 0.0)
        frac = 0.0;
    if (frac > 1.0)
        frac = 1.0;
    return (float)(d_prev + (d - d_prev) * frac);
}

/* Frequency from a mean rotation of `re, im` per 1/rate seconds. */
static double estimate_hz(double nominal, double re, double im, double rate)
{
    if (re == 0.0 && im == 0.0)
        return NAN;
    return nominal + atan2(im, re) * rate / (2.0 * FSK_PI);
}

/* CRC-16/KERMIT (spandsp's crc_itu16_calc with an initial 0): 0 over a
 * packet followed by its own CRC, low byte first. */
static unsigned jclip_crc(const uint8_t *buf, int len)
{
    unsigned crc = 0;
    int i, k;
    for (i = 0; i < len; i++) {
        crc ^= buf[i];
        for (k = 0; k < 8; k++)
            crc = (crc & 1u) ? (crc >> 1) ^ 0x8408u : crc >> 1;
    }
    return crc;
}

static void finish_message(fsk_receiver_t *rx, demod_t *dm)
{
    int i;
    unsigned sum = 0;
    fsk_message_t *msg = &dm->msg;
    int64_t first_byte, fallback_start;

    int jclip = dm->msg_state == MSG_JCLIP;
    int64_t onset_bound;

    if (jclip) {
        sum = jclip_crc(dm->buf + 2, dm->len - 2);
    } else {
        for (i = 0; i < dm->len; i++)
            sum += dm->buf[i];
        sum &= 0xFF;
    }
    dm->msg_state = MSG_HUNT;
    if (sum != 0) {
        dm->bad_checksums++;
        return;
    }
    first_byte = (int64_t)llround(dm->first_edge_t - rx->half_window);
    fallback_start = first_byte - (int64_t)llround(dm->first_lead_bits * rx->baud);
    if (fallback_start < 0)
        fallback_start = 0;
    msg->modulation = dm->modulation;
    msg->first_byte_sample = first_byte;
    msg->start_sample = fallback_start;
    /* the latest signal onset before the mark run, if it is recent enough (JCLIP
     * has no seizure: silence before its mark run counts as mark, so the onset
     * may lie inside the measured run, before the mark bits the packet needs) */
    onset_bound = jclip ? first_byte - (int64_t)ceil(rx->min_lead_samples) : fallback_start;
    for (i = 0; i < ONSET_HISTORY && (unsigned)i < rx->n_onsets; i++) {
        int64_t onset = rx->onsets[(rx->n_onsets - 1 - (unsigned)i) & (ONSET_HISTORY - 1)];
        if (onset <= onset_bound) {
            if (first_byte - onset <= (int64_t)(ONSET_MAX_LEAD_S * rx->sample_rate))
                msg->start_sample = onset;
            break;
        }
    }
    msg->end_sample = (int64_t)llround(dm->last_edge_t - rx->half_window + 10.0 * rx->baud);
    /* The mark run before the message is a pure tone: its measurement is the
     * unbiased one (inside data the transitions pull both tones inwards). */
    msg->mark_hz = estimate_hz(dm->mark_hz, dm->first_mark_re, dm->first_mark_im,
                               (double)rx->sample_rate / rx->window);
    msg->len = dm->len;
    memcpy(msg->bytes, dm->buf, (size_t)dm->len);
    dm->ready = 1;
}

/* One JCLIP character (already stored): the packet ends two bytes after an
 * unpaired DLE ETX; anything but SOH after the first DLE is not a packet. */
static void jclip_byte(fsk_receiver_t *rx, demod_t *dm, unsigned byte)
{
    unsigned b = byte & 0x7Fu;
    if (dm->jclip_crc_left > 0) {
        if (--dm->jclip_crc_left == 0)
            finish_message(rx, dm);
        return;
    }
    if (dm->len > FSK_MSG_MAX - JCLIP_CRC_BYTES || (dm->len == 2 && b != JCLIP_SOH)) {
        dm->msg_state = MSG_HUNT; /* runaway or not a JCLIP packet */
        return;
    }
    if (dm->jclip_dle) {
        dm->jclip_dle = 0;
        if (b == JCLIP_ETX)
            dm->jclip_crc_left = JCLIP_CRC_BYTES;
    } else if (b == JCLIP_DLE) {
        dm->jclip_dle = 1;
    }
}

/* One character from the message-mode UART. */
static void message_byte(fsk_receiver_t *rx, demod_t *dm, unsigned byte, double edge_t)
{
    if (dm->len < FSK_MSG_MAX)
        dm->buf[dm->len++] = (uint8_t)byte;
    dm->last_edge_t = edge_t;
    if (dm->msg_state == MSG_JCLIP) {
        jclip_byte(rx, dm, byte);
        return;
    }
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
 * Returns 1 when a character completed (stop bit in *stop_ok), -1 on a
 * false start (or a bad stop bit when strict), 0 otherwise. */
static int uart_step(const demod_t *dm, uart_t *u, double n, double baud, int strict_stop,
                     int *stop_ok)
{
    float v;
    if (!u->active || u->next_t > n)
        return 0;
    v = stat_at(dm, u->next_t, n);
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

/* Mean phase step of the mark correlator over the mark run before a start
 * edge (weighted by energy, so the angle does not depend on the level). The
 * correlator is summed afresh from the sample ring (this runs once per start
 * candidate, not per sample). */
static void mark_rotation(const fsk_receiver_t *rx, const demod_t *dm, double edge_t,
                          double lead_bits, uart_t *u)
{
    float s_re[ROT_MAX_SAMPLES], s_im[ROT_MAX_SAMPLES];
    const int m = dm->modulation, w = rx->window;
    /* windows wholly inside the mark run: after the last space, before the start bit */
    int64_t last = (int64_t)edge_t - w;
    int64_t first = (int64_t)(edge_t - lead_bits * rx->baud) + 2 * w + 1;
    int64_t k, base;
    int count, i, ph, ph_old;
    float re = 0.0f, im = 0.0f, acc_re = 0.0f, acc_im = 0.0f;

    if (first < last - (int64_t)(ROT_BITS * rx->baud))
        first = last - (int64_t)(ROT_BITS * rx->baud);
    if (first < w + 1)
        first = w + 1;
    base = first - w; /* S(base) .. S(last) are needed */
    count = (int)(last - base + 1);
    if (count <= w || count > ROT_MAX_SAMPLES) {
        u->mark_re = u->mark_im = 0.0f;
        return;
    }
    /* S(base - 1) from scratch, then sliding */
    ph = (int)((base - 1) % rx->phase_len);
    for (i = 0; i < w; i++) {
        int64_t idx = base - 1 - i;
        int p = (int)(((ph - i) % rx->phase_len + rx->phase_len) % rx->phase_len);
        float y = (float)rx->ring[idx & (RING_LEN - 1)];
        acc_re += y * rx->table[p][m][0];
        acc_im += y * rx->table[p][m][1];
    }
    ph = (int)(base % rx->phase_len);
    ph_old = (int)((base - w) % rx->phase_len);
    for (i = 0; i < count; i++) {
        float y = (float)rx->ring[(base + i) & (RING_LEN - 1)];
        float y_old = (float)rx->ring[(base + i - w) & (RING_LEN - 1)];
        acc_re += y * rx->table[ph][m][0] - y_old * rx->table[ph_old][m][0];
        acc_im += y * rx->table[ph][m][1] - y_old * rx->table[ph_old][m][1];
        s_re[i] = acc_re;
        s_im[i] = acc_im;
        if (++ph == rx->phase_len)
            ph = 0;
        if (++ph_old == rx->phase_len)
            ph_old = 0;
    }
    /* the phase step over one window length: the image term's error shrinks by N */
    for (k = first; k <= last; k++) {
        int a = (int)(k - base), b = (int)(k - w - base);
        re += s_re[a] * s_re[b] + s_im[a] * s_im[b];
        im += s_im[a] * s_re[b] - s_re[a] * s_im[b];
    }
    u->mark_re = re;
    u->mark_im = im;
}

static void demod_hunt(fsk_receiver_t *rx, demod_t *dm, double n, int falling, double edge_t)
{
    int i, r;
    int stop_ok = 0;
    if (falling) {
        double lead = (edge_t - dm->mark_run_start) / rx->baud;
        if (lead >= MIN_LEAD_MARK_BITS) {
            for (i = 0; i < MAX_CANDIDATES; i++) {
                if (!dm->cand[i].active) {
                    start_uart(&dm->cand[i], edge_t, rx->baud, lead);
                    dm->n_candidates++;
                    break;
                }
            }
        }
    }
    if (dm->n_candidates == 0)
        return;
    for (i = 0; i < MAX_CANDIDATES; i++) {
        uart_t *u = &dm->cand[i];
        if (!u->active)
            continue;
        r = uart_step(dm, u, n, rx->baud, 1, &stop_ok);
        if (r == 0)
            continue;
        dm->n_candidates--;
        if (r == 1 && is_message_type(u->value)) {
            /* measured only now, from the ring: nearly every candidate in speech
             * or noise dies before this, and the measurement was most of their cost */
            mark_rotation(rx, dm, u->edge_t, u->lead_bits, u);
            dm->msg_state = u->value == JCLIP_FIRST ? MSG_JCLIP : MSG_LENGTH;
            dm->jclip_dle = 1;
            dm->jclip_crc_left = 0;
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
            dm->n_candidates = 0;
            return;
        }
    }
}

static void demod_message(fsk_receiver_t *rx, demod_t *dm, double n, int falling, double edge_t)
{
    uart_t *u = &dm->uart;
    int stop_ok = 0;
    double tol = EDGE_BLEND_WINDOW * rx->baud;

    if (!u->active) {
        if (falling && edge_t >= dm->expect_edge_t - tol) {
            if (edge_t <= dm->expect_edge_t + tol)
                edge_t = 0.5 * (edge_t + dm->expect_edge_t);
            start_uart(u, edge_t, rx->baud, 0.0);
        } else if (!dm->flywheel_used && n >= dm->expect_edge_t + rx->baud / 2.0) {
            /* The edge of a contiguous character may be lost in noise. */
            dm->flywheel_used = 1;
            if (stat_at(dm, dm->expect_edge_t + rx->baud / 2.0, n) < 0.0f) {
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
    if (uart_step(dm, u, n, rx->baud, 0, &stop_ok) == 1) {
        /* A bad stop bit is kept: the checksum judges the message. */
        dm->expect_edge_t = u->edge_t + 10.0 * rx->baud;
        dm->last_stop_t = n;
        dm->flywheel_used = 0;
        message_byte(rx, dm, u->value, u->edge_t);
    }
}

static void demod_in_message(fsk_receiver_t *rx, demod_t *dm, int64_t n, int falling);

/* Zero crossing of d between the previous sample and this one (statistic time). */
static double crossing_time(const demod_t *dm, int64_t n)
{
    float d_prev = ratio(dm->em_prev, dm->es_prev);
    float d = ratio(dm->em, dm->es);
    float denom = d_prev - d;
    return (double)(n - 1) + (denom > 0.0f ? (double)(d_prev / denom) : 1.0);
}

/* Loads sample i of the block into the fields the cold paths read. */
/* e: this demodulator's energies in the block, mark at e[4 i], space at e[4 i + 1] */
static void load_sample(demod_t *dm, const float *e, int i)
{
    dm->em_prev = i > 0 ? e[4 * (i - 1)] : dm->em_last;
    dm->es_prev = i > 0 ? e[4 * (i - 1) + 1] : dm->es_last;
    dm->em = e[4 * i];
    dm->es = e[4 * i + 1];
}

/* The earliest bit centre of the start-bit candidates (HUGE_VAL: none). */
static double candidates_due(const demod_t *dm)
{
    double due = HUGE_VAL;
    int i;
    if (dm->n_candidates == 0)
        return due;
    for (i = 0; i < MAX_CANDIDATES; i++) {
        if (dm->cand[i].active && dm->cand[i].next_t < due)
            due = dm->cand[i].next_t;
    }
    return due;
}

/* One demodulator over a block of correlator energies. The common path (no
 * message, no candidate) is branch-free on the noisy mark/space decisions (a
 * random sign would mispredict half the time) and keeps its state in locals. */
static void demod_block(fsk_receiver_t *rx, demod_t *dm, const float *e, int len,
                        int64_t n0)
{
    int space_run = dm->space_run;
    int64_t mark_run_start = (int64_t)dm->mark_run_start;
    const int space_run_samples = rx->space_run_samples;
    const int64_t min_lead = (int64_t)ceil(rx->min_lead_samples);
    const double gap = MAX_GAP_BITS * rx->baud, half_baud = rx->baud / 2.0;
    double due = candidates_due(dm);
    int i;

    for (i = 0; i < len; i++) {
        int64_t n = n0 + i;
        int is_space = e[4 * i] < e[4 * i + 1];
        int falling = is_space & (space_run == 0);
        space_run = (space_run + 1) & -is_space;
        /* mark_run_start = n when the space run is long enough, without a branch */
        mark_run_start += (n - mark_run_start) & -(int64_t)(space_run >= space_run_samples);
        if (dm->msg_state == MSG_HUNT) {
            /* Only a start edge after a long enough mark run can begin a
             * message; in noise the first test already fails. Between the
             * candidates' bit centres nothing happens. */
            int edge = (n - mark_run_start >= min_lead) & falling;
            if (!edge && (double)n < due)
                continue;
            dm->space_run = space_run;
            dm->mark_run_start = (double)mark_run_start;
            load_sample(dm, e, i);
            demod_hunt(rx, dm, (double)n, edge, edge ? crossing_time(dm, n) : 0.0);
            due = candidates_due(dm);
        } else {
            /* demod_message() changes nothing before the next bit centre, or,
             * between characters, before a start edge, the flywheel time or
             * the end of the gap allowed */
            const uart_t *u = &dm->uart;
            const double t = (double)n;
            if (u->active ? t < u->next_t
                          : !falling && (dm->flywheel_used || t < dm->expect_edge_t + half_baud)
                                && t <= dm->last_stop_t + gap)
                continue;
            dm->space_run = space_run;
            dm->mark_run_start = (double)mark_run_start;
            load_sample(dm, e, i);
            demod_in_message(rx, dm, n, falling);
            due = candidates_due(dm);
        }
    }
    dm->space_run = space_run > SPACE_RUN_CAP ? SPACE_RUN_CAP : space_run;
    dm->mark_run_start = (double)mark_run_start;
}

/* The same as demod_block for a hunting demodulator in a block where no start
 * edge can begin a message, on the block's mark/space bits (bit i: sample i
 * is space) - the common case, noise or silence or tone, in a few word
 * operations. Returns 0, changing nothing, when the block needs demod_block. */
static int demod_block_idle(const fsk_receiver_t *rx, demod_t *dm, uint64_t space, int len,
                            int64_t n0)
{
    const int thr = rx->space_run_samples;
    int64_t mark_run_start = (int64_t)dm->mark_run_start;
    int64_t min_lead = (int64_t)ceil(rx->min_lead_samples);
    uint64_t valid = len == 64 ? ~(uint64_t)0 : (((uint64_t)1 << len) - 1);
    uint64_t history, runs, falling, edges;
    int k, first_run, top_run;

#ifdef FSK_NO_IDLE_PATH /* tests/callerid/test_sanitizer.py: both paths must agree */
    return 0;
#endif
    if (dm->msg_state != MSG_HUNT || dm->n_candidates || min_lead <= BLOCK_LEN || thr < 2)
        return 0;
    /* the space run carried in from before the block, as ones at the top */
    history = dm->space_run >= 64 ? ~(uint64_t)0
              : dm->space_run == 0 ? 0 : ~(uint64_t)0 << (64 - dm->space_run);
    runs = space;
    for (k = 1; k < thr; k++)
        runs &= (space << k) | (history >> (64 - k));
    falling = space & ~((space << 1) | (history >> 63));
    /* an edge can only qualify before the first long space run of the block
     * (after one, the mark run is shorter than the block, so shorter than min_lead) */
    first_run = runs ? __builtin_ctzll(runs) : 64;
    edges = falling & (first_run == 64 ? valid : (((uint64_t)1 << first_run) - 1));
    if (edges) {
        int64_t p_min = min_lead - (n0 - mark_run_start);
        if (p_min < 64 && (p_min <= 0 || (edges >> p_min) != 0))
            return 0;
    }
    if (runs)
        mark_run_start = n0 + 63 - __builtin_clzll(runs);
    top_run = (~space & valid) ? 63 - __builtin_clzll(~space & valid) : -1; /* last mark */
    dm->space_run = top_run < 0 ? dm->space_run + len : len - 1 - top_run;
    if (dm->space_run > SPACE_RUN_CAP)
        dm->space_run = SPACE_RUN_CAP; /* a space tone for days must not overflow it */
    dm->mark_run_start = (double)mark_run_start;
    return 1;
}

static void demod_in_message(fsk_receiver_t *rx, demod_t *dm, int64_t n, int falling)
{
    demod_message(rx, dm, (double)n, falling, falling ? crossing_time(dm, n) : 0.0);
}

/* Signal onset (for the message's start time): 2 ms mean power against a
 * slowly rising noise floor. Relative, so it works at any level. */
static void track_onset(fsk_receiver_t *rx, float p, int64_t block_start)
{
    if (block_start == 0)
        rx->p_fast = rx->p_floor = p; /* a stream that starts with noise has that floor */
    rx->p_fast += (p - rx->p_fast) * rx->a_fast;
    /* the floor falls in tens of ms and rises in seconds: it follows the noise,
     * not its dips (a floor at the dips would make every noise peak an onset) */
    if (rx->p_fast < rx->p_floor)
        rx->p_floor += (rx->p_fast - rx->p_floor) * rx->a_floor_down;
    else
        rx->p_floor += (rx->p_fast - rx->p_floor) * (rx->present ? rx->a_floor_present : rx->a_floor);
    if (rx->p_fast > ONSET_RATIO * rx->p_floor + ONSET_MIN_POWER) {
        if (!rx->present) {
            rx->onsets[rx->n_onsets++ & (ONSET_HISTORY - 1)] = block_start;
        }
        rx->present = 1;
        rx->quiet_samples = 0;
    } else if (rx->present && (rx->quiet_samples += rx->onset_block) > rx->hangover_samples) {
        rx->present = 0;
    }
}

/* The onset tracker's mean power over the onset block ending at sample `last`,
 * summed exactly (|y| < 2^23: the squares and their sums are exact doubles, in
 * any order); the sum also goes into the block's power. */
static void onset_block(fsk_receiver_t *rx, int64_t last)
{
    /* onset blocks divide BLOCK_LEN and are aligned: contiguous in the ring */
    const int32_t *y = &rx->ring[(last + 1 - rx->onset_block) & (RING_LEN - 1)];
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, sum;
    int k;
    for (k = 0; k < rx->onset_block; k += 4) {
        s0 += (double)y[k] * y[k];
        s1 += (double)y[k + 1] * y[k + 1];
        s2 += (double)y[k + 2] * y[k + 2];
        s3 += (double)y[k + 3] * y[k + 3];
    }
    sum = (s0 + s1) + (s2 + s3);
    rx->block_sum += sum;
    track_onset(rx, (float)(sum / rx->onset_block), last + 1 - rx->onset_block);
}

/* Re-sums the correlators from the ring: float running sums would drift. */
static void resync_sums(fsk_receiver_t *rx, int64_t n_end, int phase_end)
{
    int m, k, lane;
    for (m = 0; m < FSK_NUM_MODS; m++) {
        double sum[4] = {0.0, 0.0, 0.0, 0.0};
        int ph = phase_end;
        for (k = 0; k < rx->window; k++) {
            double y = (double)rx->ring[(n_end - k) & (RING_LEN - 1)];
            for (lane = 0; lane < 4; lane++)
                sum[lane] += y * (double)rx->table[ph][m][lane];
            if (--ph < 0)
                ph = rx->phase_len - 1;
        }
        for (lane = 0; lane < 4; lane++)
            rx->acc[m][lane] = (float)sum[lane];
    }
}

/* Front end over one block: DC blocker, correlators (kept in locals, written
 * back at the end), history, onset; the energies go to em/es per demodulator. */
/* Moves the table phases on by len samples (len <= one period), counting the
 * period starts (samples at phase 0) for the exact re-sum as the per-sample
 * code does. */
static void advance_phase(fsk_receiver_t *rx, int len)
{
    int first_zero = (rx->phase_len - rx->phase) % rx->phase_len; /* index of phase 0 */
    if (first_zero < len && ++rx->resync_count == RESYNC_PERIODS)
        rx->resync_count = 0;
    rx->phase = (rx->phase + len) % rx->phase_len;
    rx->phase_old = (rx->phase - rx->window + rx->phase_len) % rx->phase_len;
}

/* The signal power and onset bookkeeping of the samples just put in the ring
 * (kept out of the sample loops, whose speed is all that matters). */
static void block_power_and_onset(fsk_receiver_t *rx, int64_t n0, int len)
{
    int i, count = rx->onset_count;
    for (i = rx->onset_block - count - 1; i < len; i += rx->onset_block)
        onset_block(rx, n0 + i);
    rx->onset_count = (count + len) % rx->onset_block;
}

static void front_end(fsk_receiver_t *rx, const int16_t *pcm, int len, v4sf *energy,
                      uint64_t *space_bits)
{
    uint64_t bits0 = 0, bits1 = 0;
    v4sf acc0 = rx->acc[0], acc1 = rx->acc[1];
    int64_t dc = rx->dc_q16;
    int32_t x1 = rx->dc_x1;
    const int64_t n0 = rx->n;
    const int dc_shift = rx->dc_shift, window = rx->window, phase_len = rx->phase_len;
    /* the extended table runs a block past the period: no wrap inside a block */
    const v4sf(*tp)[FSK_NUM_MODS] = &rx->table[rx->phase];
    const v4sf(*tq)[FSK_NUM_MODS] = &rx->table[rx->phase_old];
    const int resync_at = rx->resync_count == RESYNC_PERIODS - 1
                              ? (phase_len - rx->phase) % phase_len : -1; /* where phase is 0 */
    int i;

    for (i = 0; i < len; i++) {
        int32_t x = pcm[i], y;
        float fy, fy_old;
        v4sf sq0, sq1, e;
        /* DC blocker in Q16 (no dead band); int64: adversarial input cannot overflow it */
        dc = ((int64_t)(x - x1) * 65536) + dc - (dc >> dc_shift);
        x1 = x;
        /* |y| < 2^23 even for hostile input: exact as a float, no clipping needed */
        y = (int32_t)((dc + 32768) >> 16);
        fy = (float)y;
        fy_old = (float)rx->ring[(n0 + i - window) & (RING_LEN - 1)];
        rx->ring[(n0 + i) & (RING_LEN - 1)] = y;
        if (i == resync_at) {
            resync_sums(rx, n0 + i, 0);
            acc0 = rx->acc[0];
            acc1 = rx->acc[1];
        } else {
            acc0 += fy * tp[i][0] - fy_old * tq[i][0];
            acc1 += fy * tp[i][1] - fy_old * tq[i][1];
        }
        sq0 = acc0 * acc0;
        sq1 = acc1 * acc1;
        /* [mark 0, space 0, mark 1, space 1] energies: re^2 + im^2 pairwise */
        e = PAIR_SUMS(sq0, sq1);
        energy[i] = e;
    }
    rx->acc[0] = acc0;
    rx->acc[1] = acc1;
    rx->dc_q16 = dc;
    rx->dc_x1 = x1;
    advance_phase(rx, len);
    /* the mark/space masks in a loop of their own: in the one above they would
     * not stay in registers */
    for (i = 0; i < len; i++) {
        bits0 |= (uint64_t)(energy[i][0] < energy[i][1]) << i;
        bits1 |= (uint64_t)(energy[i][2] < energy[i][3]) << i;
    }
    space_bits[0] = bits0;
    space_bits[1] = bits1;
    block_power_and_onset(rx, n0, len);
}

/* Front end of a quiet block (see run()): the DC blocker, the sample ring and
 * the onset tracker run, the correlators do not (they are re-summed from the
 * ring when the signal comes back). */
static void quiet_front_end(fsk_receiver_t *rx, const int16_t *pcm, int len)
{
    int64_t dc = rx->dc_q16;
    int32_t x1 = rx->dc_x1;
    int32_t *ring = &rx->ring[rx->n & (RING_LEN - 1)]; /* a block never wraps the ring */
    const int dc_shift = rx->dc_shift;
    int i;

    for (i = 0; i < len; i++) {
        int32_t x = pcm[i];
        dc = ((int64_t)(x - x1) * 65536) + dc - (dc >> dc_shift);
        x1 = x;
        /* |y| < 2^23 even for hostile input: exact as a float, no clipping needed */
        ring[i] = (int32_t)((dc + 32768) >> 16);
    }
    rx->dc_q16 = dc;
    rx->dc_x1 = x1;
    advance_phase(rx, len);
    block_power_and_onset(rx, rx->n, len);
    rx->acc_stale = 1;
}

/* Both demodulators over a block of front-end output. */
static void demodulate(fsk_receiver_t *rx, const v4sf *energy, const uint64_t *space_bits,
                       int len, int64_t n0)
{
    const float *e0 = (const float *)energy, *e1 = e0 + 2;
    if (!demod_block_idle(rx, &rx->demod[0], space_bits[0], len, n0))
        demod_block(rx, &rx->demod[0], e0, len, n0);
    if (!demod_block_idle(rx, &rx->demod[1], space_bits[1], len, n0))
        demod_block(rx, &rx->demod[1], e1, len, n0);
    rx->demod[0].em_last = energy[len - 1][0];
    rx->demod[0].es_last = energy[len - 1][1];
    rx->demod[1].em_last = energy[len - 1][2];
    rx->demod[1].es_last = energy[len - 1][3];
}

/* The correlators over a whole block already in the ring (the replay). */
static void ring_front_end(fsk_receiver_t *rx, int64_t n0, v4sf *energy, uint64_t *space_bits)
{
    uint64_t bits0 = 0, bits1 = 0;
    v4sf acc0 = rx->acc[0], acc1 = rx->acc[1];
    const int window = rx->window, phase_len = rx->phase_len;
    const v4sf(*tp)[FSK_NUM_MODS] = &rx->table[n0 % phase_len];
    const v4sf(*tq)[FSK_NUM_MODS] =
        &rx->table[((n0 - window) % phase_len + phase_len) % phase_len];
    int i;
    for (i = 0; i < BLOCK_LEN; i++) {
        float fy = (float)rx->ring[(n0 + i) & (RING_LEN - 1)];
        float fy_old = (float)rx->ring[(n0 + i - window) & (RING_LEN - 1)];
        v4sf sq0, sq1;
        acc0 += fy * tp[i][0] - fy_old * tq[i][0];
        acc1 += fy * tp[i][1] - fy_old * tq[i][1];
        sq0 = acc0 * acc0;
        sq1 = acc1 * acc1;
        energy[i] = PAIR_SUMS(sq0, sq1);
    }
    rx->acc[0] = acc0;
    rx->acc[1] = acc1;
    for (i = 0; i < BLOCK_LEN; i++) {
        bits0 |= (uint64_t)(energy[i][0] < energy[i][1]) << i;
        bits1 |= (uint64_t)(energy[i][2] < energy[i][3]) << i;
    }
    space_bits[0] = bits0;
    space_bits[1] = bits1;
}

/* The gate opens at block n0: the demodulators start afresh GATE_REPLAY_BITS
 * back, on the samples the gate skipped (still in the ring), so a message whose
 * mark run began before the gate opened is seen from its start. */
static void replay(fsk_receiver_t *rx, int64_t n0, v4sf *energy, uint64_t *space_bits)
{
    int64_t start = n0 - (int64_t)rx->replay_blocks * BLOCK_LEN, b;
    int m;
    if (start < 0)
        start = 0;
    for (m = 0; m < FSK_NUM_MODS; m++) {
        demod_t *dm = &rx->demod[m];
        dm->space_run = 0;
        dm->em_last = dm->es_last = 0.0f;
        dm->mark_run_start = (double)start; /* the skipped samples are no mark run */
    }
    resync_sums(rx, start - 1, (int)(((start - 1) % rx->phase_len + rx->phase_len) % rx->phase_len));
    for (b = start; b < n0; b += BLOCK_LEN) {
        ring_front_end(rx, b, energy, space_bits);
        demodulate(rx, energy, space_bits, BLOCK_LEN, b);
    }
}

/* The energy of the gate_len samples before n_end in the gate's DFT bins over
 * their whole energy (block_sum: of the last block; the one before is kept). */
static float band_ratio(const fsk_receiver_t *rx, int64_t n_end, float block_sum)
{
    const int len = rx->gate_len;
    const int64_t start = n_end - len;
    v4sf re = {0.0f, 0.0f, 0.0f, 0.0f}, im = re, e;
    float power = len > BLOCK_LEN ? block_sum + rx->last_block_sum : block_sum;
    v4sf rre = re, rim = re, er;
    float band, ref, score;
    int b, i;
    for (b = 0; b < len; b += BLOCK_LEN) {
        /* whole aligned blocks: contiguous in the ring */
        const int32_t *y = &rx->ring[(start + b) & (RING_LEN - 1)];
        const v4sf *c = &rx->gate_cos[b], *sn = &rx->gate_sin[b];
        const v4sf *rc = &rx->ref_cos[b], *rs = &rx->ref_sin[b];
        for (i = 0; i < BLOCK_LEN; i++) {
            float v = (float)y[i];
            re += v * c[i];
            im += v * sn[i];
            rre += v * rc[i];
            rim += v * rs[i];
        }
    }
    e = re * re + im * im;
    er = rre * rre + rim * rim;
    band = e[0] + e[1] + e[2] + e[3];
    ref = er[0] + er[1] + er[2] + er[3];
    if (!(power > 0.0f))
        return 0.0f;
    /* a sine of mean square p over len samples gives |X|^2 = p * len^2 / 2 */
    score = band * (2.0f / (float)len) / power;
    if (band * GATE_OPEN_RATIO > GATE_REF_OPEN * score * ref)
        score = band * GATE_OPEN_RATIO / (GATE_REF_OPEN * ref);
    return score;
}

/* Blocks through the front end and both demodulators. Blocks are aligned to
 * multiples of BLOCK_LEN samples from the stream start (a block cut by the end
 * of a call is finished by the next call), so everything decided per block is
 * decided the same way however the stream is chunked. A block after one whose
 * mean power was below QUIET_DBM0 is quiet when both demodulators are hunting:
 * no correlators, no decisions (nothing there could be decoded; the bound is
 * 25 dB under the quietest caller ID we must decode). The band gate does the
 * same to loud blocks with little energy in the caller-ID band (speech, noise:
 * band_ratio()) unless the previous block had some: it opens on one block
 * over GATE_OPEN_RATIO, stays open while a demodulator is busy or the band
 * holds GATE_HOLD_RATIO, and closes after GATE_HOLD_BLOCKS blocks without;
 * when it opens after skipping loud blocks, the last GATE_REPLAY_BITS are
 * demodulated again from the ring first (replay()). Stops after a block in
 * which a message completed (at most one per demodulator: a message lasts
 * longer than a block), unless tracing, which records d for one demodulator
 * and drops messages. */
static size_t run(fsk_receiver_t *rx, const int16_t *pcm, size_t count, int trace_mod,
                  float *stat_out)
{
    v4sf energy[BLOCK_LEN];
    uint64_t space_bits[FSK_NUM_MODS];
    size_t done = 0;
    /* the trace records d on every sample: no gate */
    const int gated = rx->gate_enabled && stat_out == NULL;
    while (done < count) {
        int64_t n0 = rx->n;
        int pos = (int)(n0 & (BLOCK_LEN - 1));
        int len = count - done < (size_t)(BLOCK_LEN - pos) ? (int)(count - done) : BLOCK_LEN - pos;
        int i, m;
        if (pos == 0) {
            int busy = 0, loud = rx->prev_block_power >= rx->quiet_block_power;
            for (m = 0; m < FSK_NUM_MODS; m++)
                busy |= rx->demod[m].msg_state != MSG_HUNT || rx->demod[m].n_candidates;
            if (!gated || busy
                || rx->gate_ratio >= (rx->gate_open ? GATE_HOLD_RATIO : GATE_OPEN_RATIO)) {
                rx->gate_open = 1;
                rx->gate_hold = rx->gate_hold_blocks;
            } else if (rx->gate_open && --rx->gate_hold <= 0) {
                rx->gate_open = 0;
            }
            rx->block_quiet = !busy && (!loud || !rx->gate_open);
            if (rx->block_quiet) {
                rx->gate_skipped |= loud;
            } else if (rx->gate_skipped) {
                replay(rx, n0, energy, space_bits);
                rx->gate_skipped = 0;
                rx->acc_stale = 0;
            } else if (rx->acc_stale) {
                resync_sums(rx, n0 - 1, rx->phase == 0 ? rx->phase_len - 1 : rx->phase - 1);
                rx->acc_stale = 0;
            }
        }
        if (rx->block_quiet) {
            quiet_front_end(rx, pcm + done, len);
            for (m = 0; m < FSK_NUM_MODS; m++) {
                rx->demod[m].space_run = 0;
                rx->demod[m].em_last = rx->demod[m].es_last = 0.0f;
            }
            if (stat_out != NULL)
                memset(stat_out + done, 0, (size_t)len * sizeof(float));
        } else {
            front_end(rx, pcm + done, len, energy, space_bits);
            demodulate(rx, energy, space_bits, len, n0);
            if (stat_out != NULL) {
                for (i = 0; i < len; i++)
                    stat_out[done + (size_t)i] =
                        ratio(energy[i][2 * trace_mod], energy[i][2 * trace_mod + 1]);
            }
        }
        rx->n = n0 + len;
        done += (size_t)len;
        if (((n0 + len) & (BLOCK_LEN - 1)) == 0) {
            float block_sum = (float)rx->block_sum;
            /* a quiet block closes the next one anyway: no need to measure it */
            if (gated)
                rx->gate_ratio = block_sum / BLOCK_LEN >= rx->quiet_block_power
                                     ? band_ratio(rx, n0 + len, block_sum) : 0.0f;
            rx->last_block_sum = block_sum;
            rx->prev_block_power = block_sum / BLOCK_LEN;
            rx->block_sum = 0.0;
        }
        if (stat_out != NULL)
            rx->demod[0].ready = rx->demod[1].ready = 0;
        else if (rx->demod[0].ready | rx->demod[1].ready)
            break;
    }
    return done;
}

void fsk_receiver_set_gate(fsk_receiver_t *rx, int enabled)
{
    rx->gate_enabled = enabled != 0;
}

size_t fsk_receiver_process(fsk_receiver_t *rx, const int16_t *pcm, size_t n, int *ready)
{
    size_t done = run(rx, pcm, n, 0, NULL);
    *ready = rx->demod[0].ready | rx->demod[1].ready;
    return done;
}

size_t fsk_receiver_process_le(fsk_receiver_t *rx, const char *pcm_le, size_t n, int *ready)
{
    /* little-endian bytes straight from a WAV file or a Python bytes object:
     * no alignment or byte-order assumption, converted a block at a time */
    const unsigned char *p = (const unsigned char *)pcm_le;
    int16_t block[BLOCK_LEN];
    size_t done = 0;
    *ready = 0;
    while (done < n && !*ready) {
        size_t len = n - done < BLOCK_LEN ? n - done : BLOCK_LEN;
        size_t i;
        for (i = 0; i < len; i++) {
            const unsigned char *b = p + 2 * (done + i);
            block[i] = (int16_t)(uint16_t)(b[0] | (b[1] << 8));
        }
        done += fsk_receiver_process(rx, block, len, ready);
    }
    return done;
}

int fsk_receiver_take(fsk_receiver_t *rx, fsk_message_t *out)
{
    demod_t *a = &rx->demod[0], *b = &rx->demod[1];
    demod_t *first = a->ready ? a : b;
    if (a->ready && b->ready && b->msg.end_sample < a->msg.end_sample)
        first = b;
    if (!first->ready)
        return 0;
    first->ready = 0;
    *out = first->msg;
    return 1;
}

void fsk_receiver_trace(fsk_receiver_t *rx, const int16_t *pcm, size_t n, int modulation,
                        float *stat_out)
{
    run(rx, pcm, n, modulation == FSK_MOD_V23 ? FSK_MOD_V23 : FSK_MOD_BELL202, stat_out);
}
