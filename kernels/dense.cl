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
#define HSUM(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))
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
#define FORWARD_TILE 8 /* neurons per work-item */
#define SLOPE_TILE 6   /* sources per work-item */

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

/* One layer forward: neurons [first, first + size), each reading the
 * src_count value rows from src_start. dim 0 pattern blocks, dim 1 neuron
 * tiles, dim 2 networks. */
kernel void dense_forward(int PS, int first, int size, int src_start, int src_count,
                          int con_start, const global int *lay, const global int *acts_id,
                          const global REAL *steeps, const global REAL *weights,
                          global REAL *values, global REAL *sums, const global int *istate)
{
    int pb = get_global_id(0);
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
    /* constant trip counts keep the accumulators in registers; the rows past
     * the layer's end repeat its last neuron and are not stored */
    const global REAL *wq[FORWARD_TILE];
    for (int q = 0; q < FORWARD_TILE; q++)
        wq[q] = w + (size_t)(j0 + min(q, count - 1)) * src_count;
    REALV acc[FORWARD_TILE];
    for (int q = 0; q < FORWARD_TILE; q++)
        acc[q] = (REALV)0;
    for (int k = 0; k < src_count; k++) {
        REALV a = VLOAD(pb, src + (size_t)k * PS);
        for (int q = 0; q < FORWARD_TILE; q++)
            acc[q] = MULADD((REALV)wq[q][k], a, acc[q]);
    }
    const global int *act = acts_id + n * T;
    const global REAL *steep = steeps + n * T;
    for (int q = 0; q < FORWARD_TILE; q++) {
        if (q >= count)
            break;
        int j = first + j0 + q;
        REAL s = steep[j];
        REAL limit = (REAL)150 / s;
        int id = act[j];
        if (id == A_SIGMOID || id == A_SIGMOID_SYMMETRIC || id == A_LINEAR) {
            /* the common ones as vectors (the device's vector exp) */
            REALV t = clamp((REALV)s * acc[q], (REALV)-limit, (REALV)limit);
            REALV y = t;
            if (id == A_SIGMOID)
                y = (REALV)1 / ((REALV)1 + exp((REALV)-2 * t));
            else if (id == A_SIGMOID_SYMMETRIC)
                y = (REALV)2 / ((REALV)1 + exp((REALV)-2 * t)) - (REALV)1;
            VSTORE(t, pb, sums + nbase + (size_t)j * PS);
            VSTORE(y, pb, values + nbase + (size_t)j * PS);
            continue;
        }
        REAL lanes[VW];
        REAL outs[VW];
        PVSTORE(acc[q], 0, lanes);
        for (int l = 0; l < VW; l++) {
            REAL t = s * lanes[l];
            if (t > limit)
                t = limit;
            else if (t < -limit)
                t = -limit;
            lanes[l] = t;
            outs[l] = activation_value(id, t);
        }
        VSTORE(PVLOAD(0, lanes), pb, sums + nbase + (size_t)j * PS);
        VSTORE(PVLOAD(0, outs), pb, values + nbase + (size_t)j * PS);
    }
}

/* Output errors, MSE counters and output deltas, one pattern per work-item.
 * dim 0 patterns (PS), dim 1 networks. */
kernel void dense_output_delta(int P, int PS, const global int *lay, const global int *acts_id,
                               const global REAL *steeps, const global REAL *targets,
                               const global REAL *values, const global REAL *sums,
                               global REAL *deltas, global ACC *pattern_sse,
                               global int *pattern_bits, const global REAL *hparams,
                               const global int *iparams, const global int *istate)
{
    int p = get_global_id(0);
    int n = get_global_id(1);
    if (p >= PS)
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
    ACC sse = 0;
    int bits = 0;
    for (int o = 0; o < n_out; o++) {
        int j = out_first + o;
        size_t at = nbase + (size_t)j * PS + p;
        if (p >= P) {
            deltas[at] = (REAL)0;
            continue;
        }
        REAL y = values[at];
        REAL e = targets[(size_t)p * n_out + o] - y;
        if (is_symmetric(act[j]))
            e /= (REAL)2;
        sse += (ACC)e * (ACC)e;
        if (fabs(e) >= limit)
            bits += 1;
        e = error_function(e, error_fn);
        deltas[at] = activation_derivative(act[j], steep[j], y, sums[at]) * e;
    }
    if (p < P) {
        pattern_sse[(size_t)n * P + p] = sse;
        pattern_bits[(size_t)n * P + p] = bits;
    }
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
    REAL lanes[VW];
    PVSTORE(acc, 0, lanes);
    const global REAL *y = values + nbase + (size_t)j * PS + pb * VW;
    const global REAL *t = sums + nbase + (size_t)j * PS + pb * VW;
    int id = acts_id[n * T + j];
    REAL s = steeps[n * T + j];
    for (int l = 0; l < VW; l++)
        lanes[l] *= activation_derivative(id, s, y[l], t[l]);
    VSTORE(PVLOAD(0, lanes), pb, deltas + nbase + (size_t)j * PS);
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
    /* constant trip counts keep the accumulators in registers; sources past
     * the end repeat the last one and are not stored */
    const global REAL *a[SLOPE_TILE];
    for (int r = 0; r < SLOPE_TILE; r++)
        a[r] = values + nbase + (size_t)(src_start + k0 + min(r, count - 1)) * PS;
    REALV acc0[SLOPE_TILE];
    REALV acc1[SLOPE_TILE];
    for (int r = 0; r < SLOPE_TILE; r++)
        acc0[r] = acc1[r] = (REALV)0;
    int blocks = PS / VW;
    for (int pb = 0; pb < blocks; pb++) {
        REALV e0 = VLOAD(pb, d0);
        REALV e1 = VLOAD(pb, d1);
        for (int r = 0; r < SLOPE_TILE; r++) {
            REALV v = VLOAD(pb, a[r]);
            acc0[r] = MULADD(e0, v, acc0[r]);
            acc1[r] = MULADD(e1, v, acc1[r]);
        }
    }
    global REAL *g = slopes + (size_t)n * W + con_start + (size_t)q0 * src_count + k0;
    for (int r = 0; r < SLOPE_TILE; r++) {
        if (r < count) {
            g[r] += HSUM(acc0[r]);
            if (pair == 2)
                g[src_count + r] += HSUM(acc1[r]);
        }
    }
}
#pragma OPENCL FP_CONTRACT OFF
