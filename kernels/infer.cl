/* infer.cl: batched inference (fann_run over many patterns) for fully
 * connected LAYER networks, the whole network in one launch.
 *
 * A work-item takes INFER_ROWS patterns at a time, straight from the
 * (patterns x inputs) array the caller passes, and computes each layer as
 * vectors over NEURONS: the host hands in every layer's weights transposed,
 * (sources x width), width the layer's size rounded up to whole vectors, the
 * padding columns zero. A pattern's source value is broadcast and multiplied
 * into INFER_TILE neuron vectors, so a neuron's sum runs over its sources in
 * FANN's order (first to last, one fused multiply-add each, the bias weight
 * added last), whatever the batch, the pattern's place in it or the tile that
 * computed it: a row's outputs do not depend on its batch, bit for bit.
 * Layer values go to a small scratch area per work-item (in cache); only the
 * outputs are written to the result. Uses dense.cl's vector types.
 *
 * The activation runs on each vector of eight (four) neurons at once where
 * the vector's neurons share one function with a vector form and steepnesses
 * whose +-150/s clamp is a plain range (vids >= 0, decided on the host, which
 * also computes each 150/s, correctly rounded as a C division):
 * value8 for floats, as the dense training path; for doubles the sigmoids
 * and linear with the device's exp. Other vectors go lane by lane through
 * FANN's scalar code (activation_value), as the per-pattern kernels do.
 */
#pragma OPENCL FP_CONTRACT ON

#define INFER_ROWS 3 /* patterns a work-item computes together */
#define INFER_TILE 4 /* neuron vectors per tile (12 accumulators) */

/* the per-layer table the host packs (backend.py INFER_* has the same) */
#define IL_SIZE 0    /* neurons, bias excluded */
#define IL_SOURCES 1 /* sources, bias excluded: the previous layer's neurons */
#define IL_WIDTH 2   /* neurons rounded up to whole vectors: the row length of wt */
#define IL_WEIGHTS 3 /* where the layer's (sources + 1) x width weights start in wt */
#define IL_NEURONS 4 /* where the layer's width neurons start in steep and ids */
#define IL_VECTORS 5 /* where the layer's width / VW vector ids start in vids */
#define IL_COUNT 8

/* Aligned vector i of a row (weights and scratch rows are whole vectors). */
#define VLOADA(i, p) (((const global REALV *)(p))[i])
#define VSTOREA(x, i, p) (((global REALV *)(p))[i] = (x))

/* s * sum clamped to +-150/s (limit: 150/s, computed on the host), then the
 * value, for one vector of neurons. The two sigmoids are written out here
 * (value8's formulas, inlined: PoCL calls value8's switch as a function that
 * also computes the derivative). */
inline REALV infer_value(REALV acc, int vid, const global REAL *steep,
                         const global REAL *limits, const global int *ids)
{
    REALV s = VLOADA(0, steep);
    REALV t = s * acc;
    if (vid >= 0) {
        REALV limit = VLOADA(0, limits);
        t = t > limit ? limit : t;
        t = t < -limit ? -limit : t;
#ifdef REAL_IS_DOUBLE
        if (vid == A_SIGMOID)
            return (REALV)1 / ((REALV)1 + exp((REALV)-2 * t));
        if (vid == A_SIGMOID_SYMMETRIC)
            return (REALV)2 / ((REALV)1 + exp((REALV)-2 * t)) - (REALV)1;
        return t; /* A_LINEAR */
#else
        if (vid == A_SIGMOID_SYMMETRIC)
            return (V)2.0f / (vexp(t * -2.0f) + 1.0f) - 1.0f;
        if (vid == A_SIGMOID)
            return (V)1.0f / (vexp(t * -2.0f) + 1.0f);
        return value8(vid, t);
#endif
    }
    REAL lanes[VW];
    REAL steeps[VW];
    PVSTORE(acc, 0, lanes);
    PVSTORE(s, 0, steeps);
    for (int l = 0; l < VW; l++) {
        REAL tl = steeps[l] * lanes[l];
        REAL limit = limits[l];
        if (tl > limit)
            tl = limit;
        else if (tl < -limit)
            tl = -limit;
        lanes[l] = activation_value(ids[l], tl);
    }
    return PVLOAD(0, lanes);
}

#define INF_ZERO(v) REALV a0##v = (REALV)0, a1##v = (REALV)0, a2##v = (REALV)0;
#define INF_STEP(v)                                                                 \
    w = VLOADA(v, wk);                                                              \
    a0##v = MULADD(x0, w, a0##v);                                                   \
    a1##v = MULADD(x1, w, a1##v);                                                   \
    a2##v = MULADD(x2, w, a2##v);
#define INF_BIAS(v)                                                                 \
    w = VLOADA(v, wk);                                                              \
    a0##v = a0##v + w;                                                              \
    a1##v = a1##v + w;                                                              \
    a2##v = a2##v + w;
#define INF_OUT(v)                                                                  \
    {                                                                               \
        int vec = v0 + v;                                                           \
        const global REAL *sv = steep + vec * VW;                                   \
        const global REAL *lv = limits + vec * VW;                                  \
        const global int *iv = ids + vec * VW;                                      \
        int vid = vids[vec];                                                        \
        VSTOREA(infer_value(a0##v, vid, sv, lv, iv), vec, d0);                      \
        VSTOREA(infer_value(a1##v, vid, sv, lv, iv), vec, d1);                      \
        VSTOREA(infer_value(a2##v, vid, sv, lv, iv), vec, d2);                      \
    }

/* One layer for three patterns: sources s0..s2 (n_src values each, the bias
 * implied), values into d0..d2 (width each). */
inline void infer_layer(int n_src, int width, const global REAL *wt, const global REAL *steep,
                        const global REAL *limits, const global int *ids, const global int *vids, const global REAL *s0,
                        const global REAL *s1, const global REAL *s2, global REAL *d0,
                        global REAL *d1, global REAL *d2)
{
    int vectors = width / VW;
    int v0 = 0;
    for (; v0 + INFER_TILE <= vectors; v0 += INFER_TILE) {
        const global REAL *wv = wt + v0 * VW;
        INF_ZERO(0) INF_ZERO(1) INF_ZERO(2) INF_ZERO(3)
        REALV w;
        for (int k = 0; k < n_src; k++) {
            const global REAL *wk = wv + (size_t)k * width;
            REALV x0 = (REALV)s0[k], x1 = (REALV)s1[k], x2 = (REALV)s2[k];
            INF_STEP(0) INF_STEP(1) INF_STEP(2) INF_STEP(3)
        }
        const global REAL *wk = wv + (size_t)n_src * width;
        INF_BIAS(0) INF_BIAS(1) INF_BIAS(2) INF_BIAS(3)
        INF_OUT(0) INF_OUT(1) INF_OUT(2) INF_OUT(3)
    }
    for (; v0 < vectors; v0++) {
        const global REAL *wv = wt + v0 * VW;
        INF_ZERO(0)
        REALV w;
        for (int k = 0; k < n_src; k++) {
            const global REAL *wk = wv + (size_t)k * width;
            REALV x0 = (REALV)s0[k], x1 = (REALV)s1[k], x2 = (REALV)s2[k];
            INF_STEP(0)
        }
        const global REAL *wk = wv + (size_t)n_src * width;
        INF_BIAS(0)
        INF_OUT(0)
    }
}

/* Outputs out[p][o] of patterns [item * rows, (item + 1) * rows) (the last
 * item's short tail repeats its last pattern and stores nothing for it).
 * scratch: per work-item 2 x INFER_ROWS rows of `stride` values (stride a
 * whole number of vectors, at least every layer's width); limits: 150/s per
 * neuron, padded as steep. dim 0 items. */
kernel void dense_infer(int P, int rows, int n_layers, int n_in, int n_out, int stride,
                        const global int *table, const global REAL *wt,
                        const global REAL *steep, const global REAL *limits,
                        const global int *ids, const global int *vids,
                        const global REAL *inputs, global REAL *out,
                        global REAL *scratch)
{
    int item = get_global_id(0);
    int first = item * rows;
    if (first >= P)
        return;
    int end = min(P, first + rows);
    global REAL *here = scratch + (size_t)item * 2 * INFER_ROWS * stride;
    for (int p0 = first; p0 < end; p0 += INFER_ROWS) {
        int last = end - 1;
        const global REAL *s0 = inputs + (size_t)p0 * n_in;
        const global REAL *s1 = inputs + (size_t)min(p0 + 1, last) * n_in;
        const global REAL *s2 = inputs + (size_t)min(p0 + 2, last) * n_in;
        global REAL *d = here;
        for (int layer = 0; layer < n_layers; layer++) {
            const global int *row = table + layer * IL_COUNT;
            infer_layer(row[IL_SOURCES], row[IL_WIDTH], wt + row[IL_WEIGHTS],
                        steep + row[IL_NEURONS], limits + row[IL_NEURONS], ids + row[IL_NEURONS],
                        vids + row[IL_VECTORS],
                        s0, s1, s2, d, d + stride, d + 2 * stride);
            s0 = d;
            s1 = d + stride;
            s2 = d + 2 * stride;
            d = d == here ? here + INFER_ROWS * stride : here;
        }
        for (int r = 0; r < INFER_ROWS && p0 + r < end; r++) {
            const global REAL *y = r == 0 ? s0 : (r == 1 ? s1 : s2);
            global REAL *o = out + (size_t)(p0 + r) * n_out;
            for (int k = 0; k < n_out; k++)
                o[k] = y[k];
        }
    }
}
#pragma OPENCL FP_CONTRACT OFF
