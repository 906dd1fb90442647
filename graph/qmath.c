/* Scalar helpers of graph/qmath.h that are not per-element fixed-point code. */
#include "graph/qmath.h"

#include <math.h>

int qmath_quantize_multiplier(double r, int32_t *m, int *shift)
{
    *m = 0;
    *shift = 0;
    if (!(r >= 0) || !isfinite(r))
        return -1;
    if (r == 0)
        return 0;
    int e;
    double f = frexp(r, &e); /* r = f * 2^e, f in [0.5, 1) */
    int64_t q = (int64_t)llround(f * (double)(INT64_C(1) << 31));
    if (q == (INT64_C(1) << 31)) {
        q /= 2;
        e++;
    }
    if (e < -31)
        return 0; /* below 2^-32: flushed to zero, as TFLM does */
    if (e > 30)
        return -1;
    *m = (int32_t)q;
    *shift = e;
    return 0;
}

int32_t qmath_quantize(float v, float scale, int32_t zp, int32_t qmin, int32_t qmax)
{
    float x = v / scale;
    if (isnan(x))
        return qmath_clamp(zp, qmin, qmax);
    /* Round half to even, independent of the FP environment. */
    double d = (double)x;
    if (d > 4e9)
        return qmax;
    if (d < -4e9)
        return qmin;
    double fl = floor(d);
    double diff = d - fl;
    double r = fl;
    if (diff > 0.5 || (diff == 0.5 && fmod(fl, 2.0) != 0))
        r = fl + 1;
    int64_t q = (int64_t)r + zp;
    if (q < qmin)
        q = qmin;
    if (q > qmax)
        q = qmax;
    return (int32_t)q;
}
