/* candidates.cl: the elementwise part of a cascade candidate epoch, fused.
 *
 * cascade.py computes every candidate's scaled sums t = s x sum (candidates x
 * patterns) with one matrix product; this kernel then does, in one pass over
 * that block, what numpy needs a dozen passes for: clamp t to +-150 (FANN's
 * clamp of the sum to +-150/s), the candidate's activation value a and FANN's
 * derivative d at the unscaled sum, and per pattern, as FANN's
 * fann_update_candidate_slopes does,
 *     diff_o = a v_o - e_o,  err = sum_o diff_o v_o,
 *     score  += sum_o diff_o^2,  outslope_o += diff_o a,
 * writing err x d back over t (the input slopes are then one more product).
 *
 * Float networks only (float32, FANN's float build). One work-item per
 * candidate, eight patterns at a time: this is a CPU-shaped kernel (PoCL runs
 * a work-item's loop on one core with 8-wide vectors). The activations are
 * the core's vector forms (activations.cl: value_and_unscaled_derivative8),
 * all but the stepwise sigmoids (cascade.py keeps such pools on numpy).
 * dim 1 is the network: N cascades' pools in one launch, each with its own
 * t, errors, weights and results (fannctl launches N = 1).
 *
 * Built after common.cl and activations.cl, with -DOUTPUTS=O (the network's
 * outputs, at most 16).
 */
#pragma OPENCL FP_CONTRACT ON

/* rows need not start on a 32-byte boundary: unaligned 8-wide access */
typedef float8 __attribute__((aligned(4))) VU;
#define LANES 8
/* vector i of a row, as dense.cl's (vload8's argument order) */
#define VLOAD(i, p) (((const global VU *)(p))[i])
#define VSTORE(x, i, p) (((global VU *)(p))[i] = (x))

/* One group of eight patterns at vector index i of the row; a's lanes past
 * the patterns are zeroed (MASK) so they add nothing. */
#define STEP(ID, T, E_AT, STORE, MASK)                                             \
    {                                                                              \
        V tt = VCLAMP(T, -150.0f, 150.0f);                                         \
        V a, d;                                                                    \
        value_and_unscaled_derivative8(ID, s, tt, &a, &d);                                   \
        MASK;                                                                      \
        V err = (V)0.0f;                                                           \
        _Pragma("unroll") for (int o = 0; o < OUTPUTS; o++)                       \
        {                                                                          \
            V diff = a * v[o] - E_AT(o);                                           \
            slope[o] += diff * a;                                                  \
            err += diff * v[o];                                                    \
            sq += diff * diff;                                                     \
        }                                                                          \
        STORE(err * d);                                                            \
    }

#define FULL_E(o) VLOAD(i, e + (size_t)(o) * P)
#define FULL_STORE(x) VSTORE(x, i, row)
#define TAIL_E(o) tail_e[o]
#define TAIL_STORE(x) (tail_out = (x))
#define NO_MASK
#define TAIL_MASK a = lane < tail ? a : (V)0.0f

/* The whole row for one function: full vectors, then the tail (P % 8
 * patterns, read and written lane by lane so nothing past the row is touched). */
#define ROW(ID)                                                                    \
    for (int i = 0; i < full; i++)                                                 \
        STEP(ID, VLOAD(i, row), FULL_E, FULL_STORE, NO_MASK)                       \
    if (tail) {                                                                    \
        STEP(ID, tail_t, TAIL_E, TAIL_STORE, TAIL_MASK)                            \
        for (int j = 0; j < tail; j++)                                             \
            row[full * LANES + j] = ((float *)&tail_out)[j];                       \
    }                                                                              \
    break;

/* Per network n: t (C, P) scaled sums, overwritten with err x d; ids and
 * steepness (C); e (OUTPUTS, P) output errors; weights (C, OUTPUTS) output
 * weights; result (C, 1 + OUTPUTS): the sum of squared diffs, then
 * 2 sum_p diff_o a per output. dim 0 candidates, dim 1 networks. */
kernel void candidate_errors(int C, int P, global float *t, const global int *ids,
                             const global float *steepness, const global float *e,
                             const global float *weights, global float *result)
{
    int c = get_global_id(0);
    int n = get_global_id(1);
    if (c >= C)
        return;
    t += (size_t)n * C * P;
    ids += n * C;
    steepness += n * C;
    e += (size_t)n * OUTPUTS * P;
    weights += (size_t)n * C * OUTPUTS;
    result += (size_t)n * C * (1 + OUTPUTS);
    int id = ids[c];
    float s = steepness[c];
    global float *row = t + (size_t)c * P;
    int full = P / LANES, tail = P % LANES;
    float v[OUTPUTS];
    V slope[OUTPUTS];
    for (int o = 0; o < OUTPUTS; o++) {
        v[o] = weights[c * OUTPUTS + o];
        slope[o] = (V)0.0f;
    }
    V sq = (V)0.0f;
    VI lane = (VI)(0, 1, 2, 3, 4, 5, 6, 7);
    V tail_t = (V)0.0f, tail_out;
    V tail_e[OUTPUTS];
    for (int o = 0; o < OUTPUTS; o++)
        tail_e[o] = (V)0.0f;
    for (int j = 0; j < tail; j++) {
        ((float *)&tail_t)[j] = row[full * LANES + j];
        for (int o = 0; o < OUTPUTS; o++)
            ((float *)&tail_e[o])[j] = e[(size_t)o * P + full * LANES + j];
    }
    switch (id) {
    /* a case per function, so each row's loop is specialised to it */
    case A_SIGMOID: ROW(A_SIGMOID)
    case A_SIGMOID_SYMMETRIC: ROW(A_SIGMOID_SYMMETRIC)
    case A_GAUSSIAN: ROW(A_GAUSSIAN)
    case A_GAUSSIAN_SYMMETRIC: ROW(A_GAUSSIAN_SYMMETRIC)
    case A_ELLIOT: ROW(A_ELLIOT)
    case A_ELLIOT_SYMMETRIC: ROW(A_ELLIOT_SYMMETRIC)
    case A_SIN_SYMMETRIC: ROW(A_SIN_SYMMETRIC)
    case A_COS_SYMMETRIC: ROW(A_COS_SYMMETRIC)
    case A_SIN: ROW(A_SIN)
    case A_COS: ROW(A_COS)
    default: ROW(id)
    }
    global float *out = result + (size_t)c * (1 + OUTPUTS);
    out[0] = HSUM8(sq);
    for (int o = 0; o < OUTPUTS; o++) {
        out[1 + o] = 2.0f * HSUM8(slope[o]);
    }
}
