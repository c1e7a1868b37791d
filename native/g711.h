/* G.711 mu-law and A-law codecs (ITU-T G.711), bit-exact with the reference tables. */
#ifndef APPLIANCE_G711_H
#define APPLIANCE_G711_H

#include <stddef.h>
#include <stdint.h>

uint8_t g711_linear_to_ulaw(int16_t pcm);
int16_t g711_ulaw_to_linear(uint8_t code);
uint8_t g711_linear_to_alaw(int16_t pcm);
int16_t g711_alaw_to_linear(uint8_t code);

void g711_ulaw_encode(const int16_t *pcm, uint8_t *out, size_t n);
void g711_ulaw_decode(const uint8_t *codes, int16_t *out, size_t n);
void g711_alaw_encode(const int16_t *pcm, uint8_t *out, size_t n);
void g711_alaw_decode(const uint8_t *codes, int16_t *out, size_t n);

#endif
