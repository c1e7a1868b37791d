/* Where a tone ends, to the sample, from sub-block energies: the end of the last
 * sub-block at full strength plus the share of the next one that still carried the
 * tone. Shared by the DTMF receiver and the call-progress tone detector. */
#ifndef APPLIANCE_TONE_END_H
#define APPLIANCE_TONE_END_H
#include <math.h>
#include <stdint.h>

#define TONE_END_STRONG_FRACTION 0.5f /* a sub-block this loud (vs the reference) still updates it */
#define TONE_END_FULL_FRACTION 0.9f   /* a sub-block this loud (vs the reference) is all tone */
#define TONE_END_REF_SMOOTHING 0.125f /* how fast the reference level follows a steady tone */

typedef struct tone_end {
    float ref_energy;   /* the tone's steady sub-block energy */
    int64_t strong_end; /* sample after the last full-strength sub-block */
    int64_t tail;       /* samples of the following sub-block still carrying the tone */
    int32_t after_strong;
} tone_end;

static inline void tone_end_begin(tone_end *t, float energy, int64_t pos)
{
    t->ref_energy = energy;
    t->strong_end = pos;
    t->tail = 0;
    t->after_strong = 0;
}

/* One more sub-block of `sub` samples ending at `pos`, with energy `e_new`. */
static inline void tone_end_update(tone_end *t, float e_new, int64_t pos, int sub)
{
    if (e_new >= TONE_END_STRONG_FRACTION * t->ref_energy)
        t->ref_energy += TONE_END_REF_SMOOTHING * (e_new - t->ref_energy);
    if (e_new >= TONE_END_FULL_FRACTION * t->ref_energy) {
        t->strong_end = pos;
        t->tail = 0;
        t->after_strong = 0;
    } else if (!t->after_strong) {
        float f = e_new / t->ref_energy;
        t->tail = (int64_t) lrintf((float) sub * (f > 1.0f ? 1.0f : f));
        t->after_strong = 1;
    }
}

static inline int64_t tone_end_at(const tone_end *t)
{
    return t->strong_end + t->tail;
}

#endif
