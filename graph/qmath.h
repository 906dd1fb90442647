/* Fixed-point arithmetic of int8 execution, shared by the runtime's integer
 * kernels and (as text, codegen/emit_quant.c) the generated C.  The scheme
 * and the rounding are those of TFLite Micro's reference kernels and
 * CMSIS-NN (gemmlowp's SaturatingRoundingDoublingHighMul and
 * RoundingDivideByPOT), so results can be compared with theirs bit for bit:
 *
 *   real multiplier r > 0  ==  m * 2^(shift - 31),  m in [2^30, 2^31)
 *   qmath_mul(x, m, shift) == round(x * r)
 *
 * with the rounding of those two steps: the doubling high multiply rounds
 * halves up (toward +infinity: gemmlowp's nudge), the final right shift rounds
 * half away from zero
 * (with a left shift first when shift > 0).  Pure integer code: no float
 * in the per-element path.  See docs/int8.md. */
#ifndef SSDC_GRAPH_QMATH_H
#define SSDC_GRAPH_QMATH_H

#include <stdint.h>

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31) (halves
 * toward +infinity), the
 * single overflow case (INT32_MIN * INT32_MIN) saturating to INT32_MAX. */
static inline int32_t qmath_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30));
    int64_t r = ab + nudge;
    /* Division truncating toward zero, as gemmlowp (not an arithmetic shift). */
    return (int32_t)(r / (INT64_C(1) << 31));
}

/* gemmlowp RoundingDivideByPOT: round(x / 2^exponent), halves away from
 * zero; 0 <= exponent <= 31. */
static inline int32_t qmath_rdivpot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)((INT64_C(1) << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier: x * m * 2^(shift - 31), rounded as
 * above; shift in [-31, 30].  A left shift (shift > 0) of a value that does
 * not fit saturates in the high multiply's input, as TFLM's does not: callers
 * keep |x| * 2^shift < 2^31 (true for every multiplier the quantizer makes
 * from a real multiplier below 2^shift with int32 accumulators it bounds). */
static inline int32_t qmath_mul(int32_t x, int32_t m, int shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    int64_t xl = (int64_t)x * (INT64_C(1) << left);
    if (xl > INT32_MAX)
        xl = INT32_MAX;
    if (xl < INT32_MIN)
        xl = INT32_MIN;
    return qmath_rdivpot(qmath_srdhm((int32_t)xl, m), right);
}

static inline int32_t qmath_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* TFLM QuantizeMultiplier: the (m, shift) of a real multiplier r >= 0 with
 * r == m * 2^(shift - 31) to 31 bits; r == 0 gives m = 0, shift = 0.
 * Returns -1 when r is negative, not finite, or outside what qmath_mul
 * represents (shift beyond [-31, 30]); 0 on success.  (graph/qmath.c) */
int qmath_quantize_multiplier(double r, int32_t *m, int *shift);

/* Quantizes a real value: saturate(round_half_even(v / scale) + zp) into
 * [qmin, qmax], the rule of ONNX QuantizeLinear (NaN gives zp). */
int32_t qmath_quantize(float v, float scale, int32_t zp, int32_t qmin, int32_t qmax);

#endif
