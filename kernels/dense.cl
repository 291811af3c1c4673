/* dense.cl: the batch path for large fully connected networks (LAYER or
 * SHORTCUT), a layer at a time, with explicit vectors over patterns: each
 * work-item computes VW patterns at once, so CPU devices get SIMD and GPUs
 * coalesced loads. Neuron arrays are [network][neuron][pattern stride PS]
 * (PS = patterns rounded up to 8; the padding patterns have zero deltas).
 *
 * Sums here run in pattern-parallel order with fma, like numpy's BLAS, not in
 * FANN's unrolled order; the per-pattern kernels (pattern.cl) keep FANN's.
 */
#ifdef REAL_IS_DOUBLE /* four doubles or eight floats: one 256-bit register */
#define VW 4
typedef double4 REALV;
typedef double4 __attribute__((aligned(8))) REALV_U;
#define PVLOAD vload4
#define PVSTORE vstore4
#define HSUM(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3))
#else
#define VW 8
typedef float8 REALV;
typedef float8 __attribute__((aligned(4))) REALV_U;
#define PVLOAD vload8
#define PVSTORE vstore8
#define HSUM HSUM8
#endif
/* Vector i of a global row, as a plain (unaligned) vector access: PoCL's
 * vload/vstore builtins are calls that do not inline, one per vector, which
 * cost more than the arithmetic in the inner loops. Private arrays keep the
 * builtins (PVLOAD/PVSTORE), off the hot paths. */
#define VLOAD(i, p) (((const global REALV_U *)(p))[i])
#define VSTORE(x, i, p) (((global REALV_U *)(p))[i] = (x))
/* a*b+c contracted to one fused multiply-add where the device has it (BLAS does the same) */
#pragma OPENCL FP_CONTRACT ON
#define MULADD(a, b, c) ((a) * (b) + (c))
/* Register tiles as named variables, not arrays: PoCL keeps an array of
 * vectors in memory, which made these kernels 2-3x slower. */
#define FORWARD_TILE 6 /* neurons per work-item, two pattern vectors each */
#define SLOPE_TILE 6   /* sources per work-item, two neurons each */

/* Inputs (patterns x inputs) into the value rows, bias rows to 1, once per run.
 * dim 0 patterns (PS), dim 1 networks. */
kernel void dense_init(int P, int PS, const global int *lay, const global REAL *inputs,
                       global REAL *values)
{
    int p = get_global_id(0);
    int n = get_global_id(1);
    if (p >= PS)
        return;
    int T = lay[L_T];
    int n_in = lay[L_NIN];
    const global int *num_con = lay + lay[L_OFF_NUM_CON];
    global REAL *v = values + (size_t)n * T * PS + p;
    for (int i = 0; i < n_in; i++)
        v[(size_t)i * PS] = p < P ? inputs[(size_t)p * n_in + i] : (REAL)0;
    for (int j = n_in; j < T; j++)
        if (num_con[j] == 0)
            v[(size_t)j * PS] = (REAL)1;
}

/* The stored sum and value of neuron j for one vector of patterns: t =
 * s * acc clamped to +-150/s, then the activation: for float networks every
 * function with a vector form through value8 (activations.cl), for double
 * networks the common ones as vectors (the device's exp), the rest lane by
 * lane through the scalar code. */
inline void dense_activate(REALV acc, int pb, int j, REAL s, int id, global REAL *sums,
                           global REAL *values, size_t row)
{
    REAL limit = (REAL)150 / s;
#ifdef REAL_IS_DOUBLE
    if (id == A_SIGMOID || id == A_SIGMOID_SYMMETRIC || id == A_LINEAR) {
        REALV t = clamp((REALV)s * acc, (REALV)-limit, (REALV)limit);
        REALV y = t;
        if (id == A_SIGMOID)
            y = (REALV)1 / ((REALV)1 + exp((REALV)-2 * t));
        else if (id == A_SIGMOID_SYMMETRIC)
            y = (REALV)2 / ((REALV)1 + exp((REALV)-2 * t)) - (REALV)1;
        VSTORE(t, pb, sums + row);
        VSTORE(y, pb, values + row);
        return;
    }
#else
    if (has_vector_form(id) && limit >= 0) {
        REALV t = (REALV)s * acc;
        t = t > (REALV)limit ? (REALV)limit : t;
        t = t < (REALV)-limit ? (REALV)-limit : t;
        VSTORE(t, pb, sums + row);
        VSTORE(value8(id, t), pb, values + row);
        return;
    }
#endif
    REAL lanes[VW];
    REAL outs[VW];
    PVSTORE(acc, 0, lanes);
    for (int l = 0; l < VW; l++) {
        REAL t = s * lanes[l];
        if (t > limit)
            t = limit;
        else if (t < -limit)
            t = -limit;
        lanes[l] = t;
        outs[l] = activation_value(id, t);
    }
    VSTORE(PVLOAD(0, lanes), pb, sums + row);
    VSTORE(PVLOAD(0, outs), pb, values + row);
}

#define FWD_ROW(r)                                                                  \
    const global REAL *w##r = w + (size_t)(j0 + min(r, count - 1)) * src_count;    \
    REALV x##r = (REALV)0, y##r = (REALV)0;
#define FWD_STEP(r)                                                                 \
    c = (REALV)w##r[k];                                                             \
    x##r = MULADD(c, a, x##r);                                                      \
    y##r = MULADD(c, b, y##r);
#define FWD_OUT(r)                                                                  \
    if (r < count) {                                                                \
        int j = first + j0 + r;                                                     \
        size_t row = nbase + (size_t)j * PS;                                        \
        dense_activate(x##r, pb, j, steep[j], act[j], sums, values, row);           \
        dense_activate(y##r, pb + 1, j, steep[j], act[j], sums, values, row);       \
    }

/* One layer forward: neurons [first, first + size), each reading the
 * src_count value rows from src_start. A work-item takes two pattern vectors
 * (PS is a multiple of 2 VW) of FORWARD_TILE neurons. dim 0 pattern block
 * pairs, dim 1 neuron tiles, dim 2 networks. */
kernel void dense_forward(int PS, int first, int size, int src_start, int src_count,
                          int con_start, const global int *lay, const global int *acts_id,
                          const global REAL *steeps, const global REAL *weights,
                          global REAL *values, global REAL *sums, const global int *istate)
{
    int pb = get_global_id(0) * 2;
    int tile = get_global_id(1);
    int n = get_global_id(2);
    if (pb * VW >= PS || tile * FORWARD_TILE >= size)
        return;
    if (istate != 0 && istate[n * IS_COUNT + IS_STATUS] != ST_RUNNING)
        return;
    int T = lay[L_T];
    int W = lay[L_W];
    size_t nbase = (size_t)n * T * PS;
    const global REAL *w = weights + (size_t)n * W + con_start;
    const global REAL *src = values + nbase + (size_t)src_start * PS;
    int j0 = tile * FORWARD_TILE;
    int count = min(FORWARD_TILE, size - j0);
    /* rows past the layer's end repeat its last neuron and are not stored */
    FWD_ROW(0) FWD_ROW(1) FWD_ROW(2) FWD_ROW(3) FWD_ROW(4) FWD_ROW(5)
    for (int k = 0; k < src_count; k++) {
        const global REAL *row = src + (size_t)k * PS;
        REALV a = VLOAD(pb, row);
        REALV b = VLOAD(pb + 1, row);
        REALV c;
        FWD_STEP(0) FWD_STEP(1) FWD_STEP(2) FWD_STEP(3) FWD_STEP(4) FWD_STEP(5)
    }
    const global int *act = acts_id + n * T;
    const global REAL *steep = steeps + n * T;
    FWD_OUT(0) FWD_OUT(1) FWD_OUT(2) FWD_OUT(3) FWD_OUT(4) FWD_OUT(5)
}

/* FANN's training derivative for one vector of patterns: the common
 * functions as vectors (their clamps as compare-and-select, since the clamp
 * builtin is a call in PoCL), the rest lane by lane. */
inline REALV dense_derivative(int id, REAL s, REALV y, REALV t)
{
    REALV c;
    if (id == A_SIGMOID || id == A_SIGMOID_STEPWISE) {
        c = y < (REALV)(REAL)0.01f ? (REALV)(REAL)0.01f : y;
        c = c > (REALV)(REAL)0.99f ? (REALV)(REAL)0.99f : c;
        return (REALV)((REAL)2 * s) * c * ((REALV)1 - c);
    }
    if (id == A_SIGMOID_SYMMETRIC || id == A_SIGMOID_SYMMETRIC_STEPWISE) {
        c = y < (REALV)(REAL)-0.98f ? (REALV)(REAL)-0.98f : y;
        c = c > (REALV)(REAL)0.98f ? (REALV)(REAL)0.98f : c;
        return (REALV)s * ((REALV)1 - c * c);
    }
    if (id == A_LINEAR || id == A_LINEAR_PIECE || id == A_LINEAR_PIECE_SYMMETRIC)
        return (REALV)s;
    REAL ys[VW], ts[VW];
    PVSTORE(y, 0, ys);
    PVSTORE(t, 0, ts);
    for (int l = 0; l < VW; l++)
        ys[l] = activation_derivative(id, s, ys[l], ts[l]);
    return PVLOAD(0, ys);
}


/* FANN's tanh error function of one vector of output errors, log((1+e)/(1-e)),
 * +-17 beyond +-0.9999999. Floats take it as log1p(2e/(1-e)), accurate to a
 * few ulps for every e (the ratio itself, rounded to float, loses e's low
 * bits when e is small): u = 1 + x, log(u) + (x - (u - 1))/u. */
inline REALV dense_error_tanh(REALV e)
{
#ifdef REAL_IS_DOUBLE
    REALV r = log(((REALV)1 + e) / ((REALV)1 - e));
#else
    REALV x = (e + e) / ((REALV)1 - e);
    REALV u = (REALV)1 + x;
    REALV r = vlog(u) + (x - (u - (REALV)1)) / u;
#endif
    r = e < (REALV)(REAL)-0.9999999 ? (REALV)-17 : r;
    return e > (REALV)(REAL)0.9999999 ? (REALV)17 : r;
}

/* Output errors, MSE counters and output deltas for VW patterns at a time;
 * targets_t is (outputs, PS), zero past P. dim 0 pattern blocks, dim 1
 * networks. */
kernel void dense_output_delta(int P, int PS, const global int *lay, const global int *acts_id,
                               const global REAL *steeps, const global REAL *targets_t,
                               const global REAL *values, const global REAL *sums,
                               global REAL *deltas, global float *pattern_terms,
                               global int *pattern_bits, const global REAL *hparams,
                               const global int *iparams, const global int *istate)
{
    int pb = get_global_id(0);
    int n = get_global_id(1);
    if (pb * VW >= PS)
        return;
    if (istate != 0 && istate[n * IS_COUNT + IS_STATUS] != ST_RUNNING)
        return;
    int T = lay[L_T];
    int n_out = lay[L_NOUT];
    int out_first = lay[L_OUT_FIRST];
    size_t nbase = (size_t)n * T * PS;
    const global int *act = acts_id + n * T;
    const global REAL *steep = steeps + n * T;
    REAL limit = hparams[n * HP_COUNT + HP_BIT_FAIL_LIMIT];
    int error_fn = iparams[n * IP_COUNT + IP_ERROR_FUNCTION];
    int p0 = pb * VW;
    int bits[VW];
    for (int l = 0; l < VW; l++)
        bits[l] = 0;
    global float *terms = pattern_terms + ((size_t)n * P + p0) * n_out;
    for (int o = 0; o < n_out; o++) {
        int j = out_first + o;
        size_t row = nbase + (size_t)j * PS;
        REALV y = VLOAD(pb, values + row);
        REALV e = VLOAD(pb, targets_t + (size_t)o * PS) - y;
        if (is_symmetric(act[j]))
            e = e / (REAL)2;
        REAL lanes[VW];
        PVSTORE(e, 0, lanes);
        for (int l = 0; l < VW; l++) {
            if (p0 + l < P) {
                terms[l * n_out + o] = (float)(lanes[l] * lanes[l]); /* FANN's float term */
                bits[l] += lanes[l] >= limit || lanes[l] <= -limit;
            } else {
                lanes[l] = (REAL)0; /* padding patterns: no delta */
            }
        }
        e = PVLOAD(0, lanes);
        if (error_fn == 1)
            e = dense_error_tanh(e);
        VSTORE(dense_derivative(act[j], steep[j], y, VLOAD(pb, sums + row)) * e, pb,
               deltas + row);
    }
    for (int l = 0; l < VW && p0 + l < P; l++)
        pattern_bits[(size_t)n * P + p0 + l] = bits[l];
}

/* Hidden deltas of neurons [first, first + size): the weighted deltas of the
 * later neurons [k_first, k_last) (whose sources start at src_start), times
 * the derivative. dim 0 pattern blocks, dim 1 neurons, dim 2 networks. */
kernel void dense_backprop(int PS, int first, int size, int k_first, int k_last, int src_start,
                           const global int *lay, const global int *acts_id,
                           const global REAL *steeps, const global REAL *weights,
                           const global REAL *values, const global REAL *sums,
                           global REAL *deltas, const global int *istate)
{
    int pb = get_global_id(0);
    int q = get_global_id(1);
    int n = get_global_id(2);
    if (pb * VW >= PS || q >= size)
        return;
    if (istate != 0 && istate[n * IS_COUNT + IS_STATUS] != ST_RUNNING)
        return;
    int T = lay[L_T];
    int W = lay[L_W];
    const global int *first_con = lay + lay[L_OFF_FIRST_CON];
    size_t nbase = (size_t)n * T * PS;
    const global REAL *w = weights + (size_t)n * W;
    int j = first + q;
    REALV acc = (REALV)0;
    for (int k = k_first; k < k_last; k++)
        acc = MULADD((REALV)w[first_con[k] + j - src_start],
                  VLOAD(pb, deltas + nbase + (size_t)k * PS), acc);
    size_t row = nbase + (size_t)j * PS;
    REALV y = VLOAD(pb, values + row);
    REALV t = VLOAD(pb, sums + row);
    VSTORE(acc * dense_derivative(acts_id[n * T + j], steeps[n * T + j], y, t), pb, deltas + row);
}

#define SLP_ROW(r)                                                                  \
    const global REAL *v##r = values + nbase + (size_t)(src_start + k0 + min(r, count - 1)) * PS; \
    REALV u##r = (REALV)0, z##r = (REALV)0;
#define SLP_STEP(r)                                                                 \
    v = VLOAD(pb, v##r);                                                            \
    u##r = MULADD(e0, v, u##r);                                                     \
    z##r = MULADD(e1, v, z##r);
#define SLP_OUT(r)                                                                  \
    if (r < count) {                                                                \
        g[r] += HSUM(u##r);                                                         \
        if (pair == 2)                                                              \
            g[src_count + r] += HSUM(z##r);                                         \
    }

/* Slopes of one layer: slopes[con_start + q * src_count + k] += sum over
 * patterns of delta[first + q] * value[src_start + k]. Each work-item takes
 * SLOPE_TILE sources of two neurons. dim 0 source tiles, dim 1 neuron pairs,
 * dim 2 networks. */
kernel void dense_slopes(int PS, int first, int size, int src_start, int src_count,
                         int con_start, const global int *lay, const global REAL *values,
                         const global REAL *deltas, global REAL *slopes,
                         const global int *istate)
{
    int tile = get_global_id(0);
    int q0 = get_global_id(1) * 2;
    int n = get_global_id(2);
    if (tile * SLOPE_TILE >= src_count || q0 >= size)
        return;
    if (istate != 0 && istate[n * IS_COUNT + IS_STATUS] != ST_RUNNING)
        return;
    int T = lay[L_T];
    int W = lay[L_W];
    size_t nbase = (size_t)n * T * PS;
    int pair = min(2, size - q0);
    const global REAL *d0 = deltas + nbase + (size_t)(first + q0) * PS;
    const global REAL *d1 = pair == 2 ? d0 + PS : d0;
    int k0 = tile * SLOPE_TILE;
    int count = min(SLOPE_TILE, src_count - k0);
    /* sources past the end repeat the last one and are not stored */
    SLP_ROW(0) SLP_ROW(1) SLP_ROW(2) SLP_ROW(3) SLP_ROW(4) SLP_ROW(5)
    int blocks = PS / VW;
    for (int pb = 0; pb < blocks; pb++) {
        REALV e0 = VLOAD(pb, d0);
        REALV e1 = VLOAD(pb, d1);
        REALV v;
        SLP_STEP(0) SLP_STEP(1) SLP_STEP(2) SLP_STEP(3) SLP_STEP(4) SLP_STEP(5)
    }
    global REAL *g = slopes + (size_t)n * W + con_start + (size_t)q0 * src_count + k0;
    SLP_OUT(0) SLP_OUT(1) SLP_OUT(2) SLP_OUT(3) SLP_OUT(4) SLP_OUT(5)
}
#pragma OPENCL FP_CONTRACT OFF
