/* layered.cl: the batch path for networks of any size. One work-item per
 * (pattern, network) runs the pattern forward and back; the slopes are then
 * summed over the patterns per connection, the errors per network, and the
 * update kernels of update.cl change the weights. Nothing leaves the device
 * between epochs.
 *
 * Neuron arrays are [network][neuron][pattern] (patterns adjacent, so
 * neighbouring work-items read neighbouring values).
 */

#define MODE_FORWARD 0
#define MODE_GRADIENT 1
#define MODE_OUTPUTS_ONLY 2

/* dim 0 patterns (padded), dim 1 networks. Forward mode writes the outputs
 * to out[network][pattern][output]; gradient modes fill the deltas and each
 * pattern's squared error and bit-fail count. */
kernel void pattern_pass(int P, int mode, const global int *lay, const global int *acts_id,
                         const global REAL *steeps, const global REAL *weights,
                         const global REAL *inputs, const global REAL *targets,
                         global REAL *values, global REAL *sums, global REAL *deltas,
                         global float *pattern_terms, global int *pattern_bits, global REAL *out,
                         const global REAL *hparams, const global int *iparams,
                         const global int *istate)
{
    int p = get_global_id(0);
    int n = get_global_id(1);
    if (p >= P)
        return;
    if (istate != 0 && istate[n * IS_COUNT + IS_STATUS] != ST_RUNNING)
        return;
    int T = lay[L_T];
    int W = lay[L_W];
    int n_in = lay[L_NIN];
    int n_out = lay[L_NOUT];
    size_t nbase = (size_t)n * T * P;
    const global int *act = acts_id + n * T;
    const global REAL *steep = steeps + n * T;
    const global REAL *w = weights + (size_t)n * W;
    global REAL *a = values + nbase + p;
    global REAL *t = sums + nbase + p;
    forward_pattern(lay, act, steep, w, inputs + (size_t)p * n_in, 1, a, t, P);
    if (mode == MODE_FORWARD) {
        int out_first = lay[L_OUT_FIRST];
        global REAL *o = out + ((size_t)n * P + p) * n_out;
        for (int k = 0; k < n_out; k++)
            o[k] = a[(out_first + k) * P];
        return;
    }
    const global REAL *hp = hparams + n * HP_COUNT;
    const global int *ip = iparams + n * IP_COUNT;
    float sse = 0;
    int bits = 0;
    backward_pattern(lay, act, steep, w, targets + (size_t)p * n_out, 1, a, t,
                     deltas + nbase + p, P, hp[HP_BIT_FAIL_LIMIT], ip[IP_ERROR_FUNCTION],
                     mode == MODE_OUTPUTS_ONLY, &sse,
                     pattern_terms + ((size_t)n * P + p) * n_out, &bits);
    pattern_bits[(size_t)n * P + p] = bits;
}

/* slopes[c] += sum over patterns of delta[owner] * value[source], in pattern
 * order (FANN adds them one pattern at a time). dim 0 connections, dim 1
 * networks; first_con: the first connection to touch (cascade's outputs). */
kernel void accumulate_slopes(int P, int first_con, const global int *lay,
                              const global REAL *values, const global REAL *deltas,
                              global REAL *slopes, const global int *istate)
{
    int c = get_global_id(0) + first_con;
    int n = get_global_id(1);
    int W = lay[L_W];
    if (c >= W)
        return;
    if (istate != 0 && istate[n * IS_COUNT + IS_STATUS] != ST_RUNNING)
        return;
    int T = lay[L_T];
    const global int *src = lay + lay[L_OFF_SRC];
    const global int *owner = lay + lay[L_OFF_OWNER];
    size_t nbase = (size_t)n * T * P;
    const global REAL *d = deltas + nbase + (size_t)owner[c] * P;
    const global REAL *y = values + nbase + (size_t)src[c] * P;
    REAL g = slopes[(size_t)n * W + c];
    for (int p = 0; p < P; p++)
        g += d[p] * y[p];
    slopes[(size_t)n * W + c] = g;
}

/* The epoch's MSE and bit fail per network, the stop test, and whether the
 * update runs. One work-item per network. */
kernel void finish_epoch(int P, int n_out, const global float *pattern_terms,
                         const global int *pattern_bits, global ACC *nstate, global int *istate,
                         const global int *iparams, ACC desired_error)
{
    int n = get_global_id(0);
    global ACC *ns = nstate + n * NS_COUNT;
    global int *is = istate + n * IS_COUNT;
    const global int *ip = iparams + n * IP_COUNT;
    /* iRPROP+ remembers the error of the epoch its last update used */
    if (is[IS_UPDATE] && ip[IP_ALGORITHM] == ALG_RPROP && ip[IP_RPROP_VARIANT] != 0)
        ns[NS_PREV_ERROR] = ns[NS_MSE];
    is[IS_UPDATE] = 0;
    if (is[IS_STATUS] != ST_RUNNING)
        return;
    /* FANN's MSE_value: one float sum over (pattern, output) in order, divided in float */
    float sse = 0;
    const global float *terms = pattern_terms + (size_t)n * P * n_out;
    for (size_t i = 0; i < (size_t)P * n_out; i++)
        sse += terms[i];
    int bits = 0;
    for (int p = 0; p < P; p++)
        bits += pattern_bits[(size_t)n * P + p];
    float count = (float)(P * n_out);
    float mse = count > 0 ? fann_mse(sse, count) : 0.0f;
    ns[NS_SSE] = sse;
    ns[NS_MSE] = mse;
    is[IS_BIT_FAIL] = bits;
    int epochs = is[IS_EPOCHS];
    is[IS_EPOCHS] = epochs + 1;
    is[IS_UPDATE] = 1;
    int reached = ip[IP_STOP_FUNCTION] == 1 ? bits <= (int)desired_error : mse <= desired_error;
    if (reached)
        is[IS_STATUS] = ST_REACHED;
    else if (epochs + 1 >= is[IS_LIMIT])
        is[IS_STATUS] = ST_LIMIT;
}
