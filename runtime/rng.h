/* Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel
 * Random Numbers: As Easy as 1, 2, 3", SC11; the Random123 reference).
 *
 * Every number is a pure function of (seed, stream, index): there is no
 * state, so a value never depends on thread count, call order or how a
 * range is split into chunks.
 *
 * Layout: key = seed (low word, high word); counter = (index / 4 low word,
 * index / 4 high word, stream low word, stream high word); the number with
 * index i is word i % 4 of that block. */
#ifndef SSDC_RUNTIME_RNG_H
#define SSDC_RUNTIME_RNG_H

#include <stdint.h>

/* One Philox4x32-10 block: out = philox(ctr, key).  out may alias ctr. */
void rng_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* 32 random bits number `index` of (seed, stream). */
uint32_t rng_u32(uint64_t seed, uint64_t stream, uint64_t index);

/* Uniform in [0, 1): the top 24 bits of rng_u32 times 2^-24 (exact floats). */
float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);

/* Block versions: out[j] = rng_u32 / rng_uniform(seed, stream, first + j)
 * for j < n, four numbers per Philox call. */
void rng_fill_u32(uint64_t seed, uint64_t stream, uint64_t first, uint32_t *out, int64_t n);
void rng_fill_uniform(uint64_t seed, uint64_t stream, uint64_t first, float *out, int64_t n);

/* Dropout keep decisions: a counter-based hash, cheaper than Philox per
 * bit.  For (seed, stream): key = mix(seed ^ mix(stream + 1)); 64-bit word w
 * = mix(key + (w + 1) * 0x9E3779B97F4A7C15) (mix: the SplitMix64 finaliser,
 * so the words are SplitMix64's output sequence for that key); element i
 * uses the 16 bits (i % 4) * 16 .. +15 of word i / 4 and is kept iff they
 * are >= threshold = rng_dropout_threshold(ratio) = round(ratio * 65536).
 * keep[j] is 1 or 0 for element first + j, j < n. */
uint32_t rng_dropout_threshold(double ratio);
uint64_t rng_dropout_key(uint64_t seed, uint64_t stream);
void rng_fill_keep16(uint64_t seed, uint64_t stream, uint64_t first, uint32_t threshold,
                     uint8_t *keep, int64_t n);
int rng_keep16(uint64_t seed, uint64_t stream, uint64_t i, uint32_t threshold);
/* rng_fill_keep16 with key = rng_dropout_key(seed, stream) computed by the
 * caller (once for many short ranges of the same stream). */
void rng_fill_keep16_key(uint64_t key, uint64_t first, uint32_t threshold, uint8_t *keep,
                         int64_t n);
/* The same decisions as floats: keep[j] = on if kept, else 0.0f (a Dropout's
 * scaled mask in one pass). */
void rng_fill_keep16_scaled(uint64_t key, uint64_t first, uint32_t threshold, float on,
                            float *keep, int64_t n);

/* Stream id for a per-step, per-node draw (e.g. a Dropout mask):
 * step in the high 32 bits, id in the low 32 bits. */
static inline uint64_t rng_stream_id(uint64_t step, uint32_t id)
{
    return (step << 32) | (uint64_t)id;
}

#endif
