/* Shared by the Conv kernel and its gradient (ConvGrad): copies the chans
 * planes of x into xp with the zero border of the padding (padded spatial
 * dims pd), so the im2col loops need no bounds checks. */
#ifndef SSDC_RUNTIME_KERNELS_CONV_PAD_H
#define SSDC_RUNTIME_KERNELS_CONV_PAD_H

#include <stdint.h>
#include <string.h>

#include "graph/ops/window.h"

static inline void rt_conv_pad_input(const float *x, const graph_window3 *w, const int64_t pd[3],
                                     int64_t chans, float *xp)
{
    const int64_t ih_n = w->in[1], iw_n = w->in[2], pbw = w->pad_begin[2];
    for (int64_t c = 0; c < chans; c++) {
        const float *xc = x + c * w->in_size;
        float *pc = xp + c * pd[0] * pd[1] * pd[2];
        for (int64_t z = 0; z < pd[0]; z++)
            for (int64_t yy = 0; yy < pd[1]; yy++) {
                float *row = pc + (z * pd[1] + yy) * pd[2];
                int64_t id = z - w->pad_begin[0], ih = yy - w->pad_begin[1];
                if (id < 0 || id >= w->in[0] || ih < 0 || ih >= ih_n) {
                    memset(row, 0, (size_t)pd[2] * sizeof *row);
                    continue;
                }
                for (int64_t i = 0; i < pbw; i++)
                    row[i] = 0.0f;
                memcpy(row + pbw, xc + (id * ih_n + ih) * iw_n, (size_t)iw_n * sizeof *row);
                for (int64_t i = pbw + iw_n; i < pd[2]; i++)
                    row[i] = 0.0f;
            }
    }
}

#endif
