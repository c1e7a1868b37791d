/* Drives native/fsk.c, built with -fsanitize=address,undefined, over a PCM file:
 * every chunk size from 0 samples to the whole stream, message taking, reset,
 * the trace hook. Prints "ok <messages per pass>", then one line per message of
 * the last pass (bytes, start, end, mark Hz); any sanitizer report aborts. */
#include "fsk.h"

#include <stdio.h>
#include <stdlib.h>

static long run_pass(fsk_receiver_t *rx, const int16_t *pcm, size_t n, size_t chunk, int print)
{
    size_t pos = 0;
    long messages = 0;
    fsk_message_t msg;
    fsk_receiver_reset(rx);
    while (pos < n) {
        size_t len = chunk == 0 ? 0 : (n - pos < chunk ? n - pos : chunk);
        size_t done = 0;
        int ready = 0;
        if (len == 0) {
            fsk_receiver_process(rx, pcm + pos, 0, &ready); /* an empty call is harmless */
            chunk = 1;
            continue;
        }
        while (done < len) {
            done += fsk_receiver_process(rx, pcm + pos + done, len - done, &ready);
            while (ready && fsk_receiver_take(rx, &msg)) {
                if (msg.len < 3 || msg.len > FSK_MSG_MAX)
                    abort();
                messages++;
                if (print) {
                    int k;
                    printf("msg %d ", msg.modulation);
                    for (k = 0; k < msg.len; k++)
                        printf("%02x", msg.bytes[k]);
                    printf(" %lld %lld %.1f\n", (long long)msg.start_sample, (long long)msg.end_sample,
                           msg.mark_hz);
                }
            }
        }
        pos += len;
    }
    return messages;
}

int main(int argc, char **argv)
{
    static const size_t chunks[] = {0, 1, 2, 3, 7, 63, 64, 65, 160, 4001, (size_t)-1};
    FILE *f;
    long size;
    size_t n, i;
    int16_t *pcm;
    float *trace;
    long first = -1;
    fsk_receiver_t *rx;
    int rate;

    if (argc != 3)
        return 2;
    rate = atoi(argv[1]);
    f = fopen(argv[2], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
        return 2;
    rewind(f);
    n = (size_t)size / 2;
    pcm = malloc(n * sizeof(int16_t) + 1);
    trace = malloc(n * sizeof(float) + 1);
    if (pcm == NULL || trace == NULL || fread(pcm, sizeof(int16_t), n, f) != n)
        return 2;
    fclose(f);
    if (fsk_receiver_new(11025) != NULL)
        return 3;
    rx = fsk_receiver_new(rate);
    if (rx == NULL)
        return 3;
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        long got = run_pass(rx, pcm, n, chunks[i] == (size_t)-1 ? n : chunks[i], 0);
        if (first < 0)
            first = got;
        else if (got != first)
            return 4; /* results must not depend on chunking */
    }
    printf("ok %ld\n", first);
    run_pass(rx, pcm, n, 160, 1);
    fsk_receiver_reset(rx);
    fsk_receiver_trace(rx, pcm, n, FSK_MOD_V23, trace);
    fsk_receiver_trace(rx, pcm, 0, FSK_MOD_BELL202, trace);
    if (fsk_receiver_bad_checksums(rx, 7) != -1)
        return 5;
    fsk_receiver_free(rx);
    free(pcm);
    free(trace);
    return 0;
}
