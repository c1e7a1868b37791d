/* G.711 codecs. Segment search as in the ITU-T/Sun reference code, so the
 * results are bit-exact with every other reference-derived implementation
 * (Python's audioop, spandsp, sox). */
#include "g711.h"

#define SIGN_BIT 0x80
#define QUANT_MASK 0x0F
#define SEG_SHIFT 4
#define SEG_MASK 0x70
#define ULAW_BIAS 0x84
#define ULAW_CLIP 8159

static const int16_t seg_uend[8] = {0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF};
static const int16_t seg_aend[8] = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};

static int segment_of(int value, const int16_t *table)
{
    int i;
    for (i = 0; i < 8; i++) {
        if (value <= table[i])
            return i;
    }
    return 8;
}

uint8_t g711_linear_to_ulaw(int16_t pcm)
{
    int value = pcm >> 2; /* 14-bit magnitude domain */
    int mask;
    int seg;
    if (value < 0) {
        value = -value;
        mask = 0x7F;
    } else {
        mask = 0xFF;
    }
    if (value > ULAW_CLIP)
        value = ULAW_CLIP;
    value += ULAW_BIAS >> 2;
    seg = segment_of(value, seg_uend);
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((value >> (seg + 1)) & 0xF)) ^ mask);
}

int16_t g711_ulaw_to_linear(uint8_t code)
{
    int u = (uint8_t)~code;
    int t = ((u & QUANT_MASK) << 3) + ULAW_BIAS;
    t <<= (u & SEG_MASK) >> SEG_SHIFT;
    return (int16_t)((u & SIGN_BIT) ? (ULAW_BIAS - t) : (t - ULAW_BIAS));
}

uint8_t g711_linear_to_alaw(int16_t pcm)
{
    int value = pcm >> 3; /* 13-bit domain */
    int mask;
    int seg;
    int aval;
    if (value >= 0) {
        mask = 0xD5;
    } else {
        mask = 0x55;
        value = -value - 1;
    }
    seg = segment_of(value, seg_aend);
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    aval = seg << SEG_SHIFT;
    aval |= (seg < 2) ? ((value >> 1) & QUANT_MASK) : ((value >> seg) & QUANT_MASK);
    return (uint8_t)(aval ^ mask);
}

int16_t g711_alaw_to_linear(uint8_t code)
{
    int a = code ^ 0x55;
    int t = (a & QUANT_MASK) << 4;
    int seg = (a & SEG_MASK) >> SEG_SHIFT;
    switch (seg) {
    case 0:
        t += 8;
        break;
    case 1:
        t += 0x108;
        break;
    default:
        t += 0x108;
        t <<= seg - 1;
    }
    return (int16_t)((a & SIGN_BIT) ? t : -t);
}

void g711_ulaw_encode(const int16_t *pcm, uint8_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        out[i] = g711_linear_to_ulaw(pcm[i]);
}

void g711_ulaw_decode(const uint8_t *codes, int16_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        out[i] = g711_ulaw_to_linear(codes[i]);
}

void g711_alaw_encode(const int16_t *pcm, uint8_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        out[i] = g711_linear_to_alaw(pcm[i]);
}

void g711_alaw_decode(const uint8_t *codes, int16_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        out[i] = g711_alaw_to_linear(codes[i]);
}
