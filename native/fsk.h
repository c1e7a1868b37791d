/* Caller-ID FSK receiver: Bell 202 and V.23 demodulators, UART framing and
 * message delimiting (type, length, data, checksum), streaming over 16-bit PCM. */
#ifndef APPLIANCE_FSK_H
#define APPLIANCE_FSK_H

#include <stddef.h>
#include <stdint.h>

#define FSK_MOD_BELL202 0
#define FSK_MOD_V23 1
#define FSK_NUM_MODS 2
#define FSK_MSG_MAX 258 /* type + length + 255 data + checksum */

/* A message whose checksum was right, as it left the UART. */
typedef struct {
    int modulation;        /* the demodulator that decoded it (FSK_MOD_*) */
    int64_t start_sample;  /* onset of the FSK signal before the message */
    int64_t first_byte_sample; /* leading edge of the message-type byte's start bit */
    int64_t end_sample;    /* end of the checksum byte's stop bit */
    double mark_hz;        /* measured mark frequency (NaN when not measured) */
    int len;               /* bytes in `bytes`, checksum included */
    uint8_t bytes[FSK_MSG_MAX];
} fsk_message_t;

typedef struct fsk_receiver fsk_receiver_t;

/* Both demodulators on one stream. NULL for a rate other than 8000 or 16000. */
fsk_receiver_t *fsk_receiver_new(int sample_rate);
void fsk_receiver_free(fsk_receiver_t *rx);
void fsk_receiver_reset(fsk_receiver_t *rx);

/* Consumes samples, stopping early after the (64-sample, stream-aligned) block
 * in which a message completed; returns the number consumed. When *ready is
 * set, fetch the messages (at most one per demodulator, in end order) with
 * fsk_receiver_take() until it returns 0, before the next call. Signals under
 * -65 dBm0 are taken for an idle line and not demodulated. */
size_t fsk_receiver_process(fsk_receiver_t *rx, const int16_t *pcm, size_t n, int *ready);
/* The same over little-endian 16-bit PCM bytes (any alignment, any host). */
size_t fsk_receiver_process_le(fsk_receiver_t *rx, const char *pcm_le, size_t n, int *ready);
int fsk_receiver_take(fsk_receiver_t *rx, fsk_message_t *out);

int64_t fsk_receiver_samples(const fsk_receiver_t *rx);
/* The band gate (on by default) skips loud blocks with little energy in the
 * caller-ID band; off, every block over -65 dBm0 is demodulated (the reference
 * the gate is tested against). Set it before the first samples. */
void fsk_receiver_set_gate(fsk_receiver_t *rx, int enabled);
/* Messages dropped for a bad checksum by one demodulator. */
long fsk_receiver_bad_checksums(const fsk_receiver_t *rx, int modulation);

/* Test hook: the normalised mark-minus-space statistic per sample for one
 * demodulator (-1 = pure space, +1 = pure mark); advances the receiver. */
void fsk_receiver_trace(fsk_receiver_t *rx, const int16_t *pcm, size_t n, int modulation,
                        float *stat_out);

#endif
