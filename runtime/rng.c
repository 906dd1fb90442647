#include "runtime/rng.h"

#include <stdbool.h>
#include <string.h>

#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)
#define PHILOX_ROUNDS 10

void rng_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        if (r > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

static void rng_block(uint64_t seed, uint64_t stream, uint64_t block, uint32_t out[4])
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream,
                             (uint32_t)(stream >> 32)};
    rng_philox4x32(ctr, key, out);
}

static inline float rng_bits_to_uniform(uint32_t x)
{
    return (float)(x >> 8) * (1.0f / 16777216.0f);
}

uint32_t rng_u32(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint32_t r[4];
    rng_block(seed, stream, index >> 2, r);
    return r[index & 3];
}

float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    return rng_bits_to_uniform(rng_u32(seed, stream, index));
}

void rng_fill_u32(uint64_t seed, uint64_t stream, uint64_t first, uint32_t *out, int64_t n)
{
    if (n <= 0)
        return;
    uint64_t block = first >> 2;
    int lane = (int)(first & 3);
    int64_t j = 0;
    uint32_t r[4];
    if (lane != 0) {
        rng_block(seed, stream, block++, r);
        for (; lane < 4 && j < n; lane++)
            out[j++] = r[lane];
    }
    for (; j + 4 <= n; j += 4) {
        rng_block(seed, stream, block++, r);
        out[j] = r[0];
        out[j + 1] = r[1];
        out[j + 2] = r[2];
        out[j + 3] = r[3];
    }
    if (j < n) {
        rng_block(seed, stream, block, r);
        for (int k = 0; j < n; k++)
            out[j++] = r[k];
    }
}

void rng_fill_uniform(uint64_t seed, uint64_t stream, uint64_t first, float *out, int64_t n)
{
    uint32_t buf[256];
    for (int64_t done = 0; done < n;) {
        int64_t m = n - done < 256 ? n - done : 256;
        rng_fill_u32(seed, stream, first + (uint64_t)done, buf, m);
        for (int64_t j = 0; j < m; j++)
            out[done + j] = rng_bits_to_uniform(buf[j]);
        done += m;
    }
}

uint32_t rng_dropout_threshold(double ratio)
{
    if (!(ratio > 0))
        return 0;
    if (ratio >= 1)
        return 65536u;
    return (uint32_t)(ratio * 65536.0 + 0.5);
}

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define RNG_GOLDEN 0x9e3779b97f4a7c15ull

uint64_t rng_dropout_key(uint64_t seed, uint64_t stream)
{
    return mix64(seed ^ mix64(stream + 1));
}

int rng_keep16(uint64_t seed, uint64_t stream, uint64_t i, uint32_t threshold)
{
    uint64_t w = mix64(rng_dropout_key(seed, stream) + ((i >> 2) + 1) * RNG_GOLDEN);
    return (uint32_t)((w >> ((i & 3) * 16)) & 0xffffu) >= threshold;
}

void rng_fill_keep16(uint64_t seed, uint64_t stream, uint64_t first, uint32_t threshold,
                     uint8_t *keep, int64_t n)
{
    rng_fill_keep16_key(rng_dropout_key(seed, stream), first, threshold, keep, n);
}

/* The keep decisions of elements first .. first + n - 1 of the stream with
 * this key, written as bytes 0/1 (kb) or as floats on/0.0f (kf; kb NULL).
 * Inlined into each public variant, so the branch on kf folds away. */
static inline __attribute__((always_inline)) void keep16_fill(uint64_t key, uint64_t first,
                                                               uint32_t threshold, uint8_t *kb,
                                                               float *kf, float on, int64_t n)
{
#define KEEP16_PUT(idx, bits)                                                                 \
    do {                                                                                      \
        bool keep_ = (uint32_t)(bits) >= threshold;                                           \
        if (kf)                                                                               \
            kf[idx] = keep_ ? on : 0.0f;                                                      \
        else                                                                                  \
            kb[idx] = keep_;                                                                  \
    } while (0)
    int64_t j = 0;
    /* head: up to the next multiple of 4 */
    while (j < n && ((first + (uint64_t)j) & 3) != 0) {
        uint64_t e = first + (uint64_t)j;
        uint64_t w = mix64(key + ((e >> 2) + 1) * RNG_GOLDEN);
        KEEP16_PUT(j, (w >> ((e & 3) * 16)) & 0xffffu);
        j++;
    }
    /* whole words: 4 elements each */
    uint64_t w0 = ((first + (uint64_t)j) >> 2) + 1;
    int64_t words = (n - j) / 4;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* two loops the compiler vectorises: a block of words, then its 16-bit
     * lanes compared (lane q of word k is bits q*16.. on little-endian
     * machines); twice as fast as extracting the lanes word by word */
    enum { BLOCK = 64 };
    union { /* the words and their 16-bit lanes (C11 6.5.2.3: reading another member) */
        uint64_t w[BLOCK];
        uint16_t h[4 * BLOCK];
    } u;
    for (int64_t k0 = 0; k0 < words; k0 += BLOCK) {
        int m = words - k0 < BLOCK ? (int)(words - k0) : BLOCK;
        for (int k = 0; k < m; k++)
            u.w[k] = mix64(key + (w0 + (uint64_t)(k0 + k)) * RNG_GOLDEN);
        int64_t base = j + 4 * k0;
        for (int i = 0; i < 4 * m; i++)
            KEEP16_PUT(base + i, u.h[i]);
    }
#else
    for (int64_t k = 0; k < words; k++) {
        uint64_t w = mix64(key + (w0 + (uint64_t)k) * RNG_GOLDEN);
        int64_t base = j + 4 * k;
        for (int q = 0; q < 4; q++)
            KEEP16_PUT(base + q, (w >> (16 * q)) & 0xffffu);
    }
#endif
    j += 4 * words;
    for (; j < n; j++) {
        uint64_t e = first + (uint64_t)j;
        uint64_t w = mix64(key + ((e >> 2) + 1) * RNG_GOLDEN);
        KEEP16_PUT(j, (w >> ((e & 3) * 16)) & 0xffffu);
    }
#undef KEEP16_PUT
}

void rng_fill_keep16_key(uint64_t key, uint64_t first, uint32_t threshold, uint8_t *keep,
                         int64_t n)
{
    keep16_fill(key, first, threshold, keep, NULL, 0.0f, n);
}

void rng_fill_keep16_scaled(uint64_t key, uint64_t first, uint32_t threshold, float on,
                            float *keep, int64_t n)
{
    keep16_fill(key, first, threshold, NULL, keep, on, n);
}
