/* Decodes a raw 16-bit little-endian PCM file with the line DSP's C code (DTMF receiver,
 * call-progress detector for 425 Hz and 350+440 Hz, FSK caller-ID receiver) and prints every
 * event with its sample positions. Built for the host and for aarch64 by tests/field/test_arm64.py,
 * which compares the two outputs: they must be identical. The samples are assembled from bytes
 * (no fread into int16_t), so the driver reads the file the same on any byte order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dtmf.h"
#include "fsk.h"
#include "progress.h"

#define CHUNK 160

int main(int argc, char **argv)
{
    FILE *f;
    long size;
    size_t n, i, off;
    unsigned char *bytes;
    int16_t *pcm;
    int rate, ready = 0;
    static dtmf_rx_state d;
    static progress_state p;
    progress_params pp;
    dtmf_event dev[DTMF_MAX_EVENTS];
    progress_segment pev[PROGRESS_MAX_EVENTS];
    fsk_message_t msg;
    fsk_receiver_t *rx;

    if (argc != 3)
        return 2;
    rate = atoi(argv[1]);
    f = fopen(argv[2], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
        return 2;
    rewind(f);
    n = (size_t)size / 2;
    bytes = malloc(n * 2 + 1);
    pcm = malloc(n * sizeof(int16_t) + 1);
    if (bytes == NULL || pcm == NULL || fread(bytes, 1, n * 2, f) != n * 2)
        return 2;
    fclose(f);
    for (i = 0; i < n; i++)
        pcm[i] = (int16_t)(uint16_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8));

    progress_default_params(&pp);
    pp.n_freqs = 3;
    pp.freqs[0] = 425.0f;
    pp.freqs[1] = 350.0f;
    pp.freqs[2] = 440.0f;
    pp.n_sets = 2;
    pp.set_mask[0] = 1u;
    pp.set_mask[1] = 6u;
    rx = fsk_receiver_new(rate);
    if (dtmf_rx_init(&d, rate, NULL) != 0 || progress_init(&p, rate, &pp) != 0 || rx == NULL)
        return 3;
    for (off = 0; off < n; off += CHUNK) {
        size_t m = n - off < CHUNK ? n - off : CHUNK, done = 0;
        int k, got;
        dtmf_rx_feed(&d, pcm + off, m);
        progress_feed(&p, pcm + off, m);
        while (done < m) {
            done += fsk_receiver_process(rx, pcm + off + done, m - done, &ready);
            while (ready && fsk_receiver_take(rx, &msg)) {
                printf("fsk %d", msg.modulation);
                for (k = 0; k < msg.len; k++)
                    printf(" %02x", msg.bytes[k]);
                printf(" @%lld-%lld mark %.3f\n", (long long)msg.start_sample, (long long)msg.end_sample,
                       msg.mark_hz);
            }
        }
        got = dtmf_rx_take_events(&d, dev, DTMF_MAX_EVENTS);
        for (k = 0; k < got; k++)
            printf("dtmf %s %c @%lld-%lld\n", dev[k].kind == DTMF_EVENT_START ? "start" : "end",
                   (char)dev[k].digit, (long long)dev[k].start, (long long)dev[k].end);
        got = progress_take_events(&p, pev, PROGRESS_MAX_EVENTS);
        for (k = 0; k < got; k++)
            printf("tone set %d @%lld-%lld\n", pev[k].set, (long long)pev[k].start, (long long)pev[k].end);
    }
    dtmf_rx_flush(&d);
    progress_flush(&p);
    {
        int k, got = dtmf_rx_take_events(&d, dev, DTMF_MAX_EVENTS);
        for (k = 0; k < got; k++)
            printf("dtmf %s %c @%lld-%lld\n", dev[k].kind == DTMF_EVENT_START ? "start" : "end",
                   (char)dev[k].digit, (long long)dev[k].start, (long long)dev[k].end);
        got = progress_take_events(&p, pev, PROGRESS_MAX_EVENTS);
        for (k = 0; k < got; k++)
            printf("tone set %d @%lld-%lld\n", pev[k].set, (long long)pev[k].start, (long long)pev[k].end);
    }
    printf("samples %lld\n", (long long)fsk_receiver_samples(rx));
    fsk_receiver_free(rx);
    free(bytes);
    free(pcm);
    return 0;
}
