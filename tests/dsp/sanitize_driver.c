/* Runs the line DSP detectors on adversarial audio; built with -fsanitize=address,undefined
 * by test_sanitizer.py. Exits non-zero on an internal inconsistency; the sanitizers abort
 * the process on memory or undefined-behaviour errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtmf.h"
#include "progress.h"
#include "tonegen.h"

#define SECONDS 20
#define MAX_RATE 16000

static uint32_t rng_state = 12345u;

static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static void fill(int16_t *x, size_t n, int kind, int rate)
{
    tonegen_state tg;
    double f[2] = {697.0, 1209.0}, lv[2] = {-10.0, -10.0};
    switch (kind) {
    case 0: memset(x, 0, n * sizeof(int16_t)); break;                            /* silence */
    case 1: for (size_t i = 0; i < n; i++) x[i] = (int16_t) (rnd() & 0xFFFF); break; /* full-scale noise */
    case 2: for (size_t i = 0; i < n; i++) x[i] = (i / 7) % 2 ? 32767 : -32768; break; /* clipped square */
    case 3: for (size_t i = 0; i < n; i++) x[i] = 32767; break;                  /* DC */
    case 4:                                                                        /* sweep */
        for (size_t i = 0; i < n; i++) {
            double t = (double) i / rate;
            x[i] = (int16_t) (20000.0 * __builtin_sin(6.283185 * (50.0 + 1000.0 * t) * t));
        }
        break;
    case 5:                                                                        /* DTMF, very loud */
        lv[0] = lv[1] = 6.0;
        tonegen_init(&tg, rate, 2, f, lv);
        tonegen_generate(&tg, x, n);
        break;
    default:                                                                       /* DTMF bursts in noise */
        tonegen_init(&tg, rate, 2, f, lv);
        tonegen_generate(&tg, x, n);
        for (size_t i = 0; i < n; i++) {
            int v = x[i] + (int) (rnd() % 2001) - 1000;
            if ((i / 400) % 2)
                v = (int) (rnd() % 200) - 100;
            x[i] = (int16_t) (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        break;
    }
}

int main(void)
{
    static int16_t audio[SECONDS * MAX_RATE];
    dtmf_event dev[DTMF_MAX_EVENTS];
    progress_segment pev[PROGRESS_MAX_EVENTS];
    int rates[2] = {8000, 16000};
    long events = 0;
    for (int ri = 0; ri < 2; ri++) {
        int rate = rates[ri];
        size_t n = (size_t) SECONDS * (size_t) rate;
        for (int kind = 0; kind < 7; kind++) {
            fill(audio, n, kind, rate);
            dtmf_rx_state *d = malloc(sizeof(dtmf_rx_state));
            progress_state *p = malloc(sizeof(progress_state));
            progress_params pp;
            progress_default_params(&pp);
            pp.n_freqs = 3;
            pp.freqs[0] = 425.0f;
            pp.freqs[1] = 350.0f;
            pp.freqs[2] = 440.0f;
            pp.n_sets = 2;
            pp.set_mask[0] = 1u;
            pp.set_mask[1] = 6u;
            if (!d || !p || dtmf_rx_init(d, rate, NULL) != 0 || progress_init(p, rate, &pp) != 0)
                return 2;
            size_t off = 0;
            while (off < n) {
                /* chunk sizes from 0 to huge, mixed */
                size_t m;
                switch (rnd() % 4) {
                case 0: m = rnd() % 5; break;
                case 1: m = rnd() % 200; break;
                case 2: m = rnd() % 5000; break;
                default: m = n; break;
                }
                if (m > n - off)
                    m = n - off;
                dtmf_rx_feed(d, audio + off, m);
                progress_feed(p, audio + off, m);
                off += m;
                events += dtmf_rx_take_events(d, dev, (int) (rnd() % (DTMF_MAX_EVENTS + 1)));
                events += progress_take_events(p, pev, (int) (rnd() % (PROGRESS_MAX_EVENTS + 1)));
            }
            dtmf_rx_flush(d);
            progress_flush(p);
            events += dtmf_rx_take_events(d, dev, DTMF_MAX_EVENTS);
            events += progress_take_events(p, pev, PROGRESS_MAX_EVENTS);
            for (int i = 0; i < DTMF_MAX_EVENTS && i < 1; i++)
                if (dev[i].start < 0)
                    return 3;
            free(d);
            free(p);
        }
        /* invalid configurations are refused, not crashed on */
        dtmf_rx_state *d = malloc(sizeof(dtmf_rx_state));
        if (dtmf_rx_init(d, 11025, NULL) == 0)
            return 4;
        free(d);
    }
    printf("ok %ld events\n", events);
    return 0;
}
