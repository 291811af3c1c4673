/* fused.cl: whole training runs in one launch, for networks that fit a
 * work-group: every epoch (all patterns forward and back, the update, the
 * stop test) runs inside the kernel, one work-group per network.
 *
 * The kernel stops a network early when it reaches the desired error, or
 * before an epoch when SARPROP might run out of noise draws (the host then
 * refills them and launches again).
 */

/* FANN's incremental update after one pattern (fann_update_weights). */
inline void incremental_update(const global int *lay, global REAL *w, global REAL *prev_deltas,
                               const global REAL *acts, const global REAL *deltas, REAL rate,
                               REAL momentum)
{
    const global int *first_con = lay + lay[L_OFF_FIRST_CON];
    const global int *num_con = lay + lay[L_OFF_NUM_CON];
    const global int *upd_src = lay + lay[L_OFF_UPD_SRC];
    const global int *upd_first = lay + lay[L_OFF_UPD_FIRST];
    int T = lay[L_T];
    for (int j = lay[L_FIRST_HIDDEN]; j < T; j++) {
        int nc = num_con[j];
        if (nc == 0)
            continue;
        REAL tmp = deltas[j] * rate;
        int fc = first_con[j];
        int uf = upd_first[j];
        global REAL *restrict wj = w + fc;
        global REAL *restrict pj = prev_deltas + fc;
        if (uf >= 0) {
            const global REAL *restrict a = acts + uf;
            for (int c = 0; c < nc; c++) {
                REAL dw = tmp * a[c] + momentum * pj[c];
                wj[c] += dw;
                pj[c] = dw;
            }
        } else {
            const global int *u = upd_src + fc;
            for (int c = 0; c < nc; c++) {
                REAL dw = tmp * acts[u[c]] + momentum * pj[c];
                wj[c] += dw;
                pj[c] = dw;
            }
        }
    }
}

/* slopes += delta[j] * value[source] for every connection of the neurons from first. */
inline void add_slopes(const global int *lay, global REAL *g, const global REAL *acts,
                       const global REAL *deltas, int first)
{
    const global int *first_con = lay + lay[L_OFF_FIRST_CON];
    const global int *num_con = lay + lay[L_OFF_NUM_CON];
    const global int *src = lay + lay[L_OFF_SRC];
    const global int *src_first = lay + lay[L_OFF_SRC_FIRST];
    int T = lay[L_T];
    for (int j = first; j < T; j++) {
        int nc = num_con[j];
        if (nc == 0)
            continue;
        REAL d = deltas[j];
        int fc = first_con[j];
        int sf = src_first[j];
        global REAL *restrict gj = g + fc;
        if (sf >= 0) {
            const global REAL *restrict a = acts + sf;
            for (int c = 0; c < nc; c++)
                gj[c] += d * a[c];
        } else {
            for (int c = 0; c < nc; c++)
                gj[c] += d * acts[src[fc + c]];
        }
    }
}

/* Epochs for every running network until its epoch count reaches its limit
 * (state[IS_LIMIT]); one work-group (of one work-item) per network. scratch
 * holds values, sums and deltas: [network][3][neurons]. */
kernel void train_epochs(int P, ACC desired_error, int outputs_only, int update_from,
                         const global int *lay, const global int *acts_id,
                         const global REAL *steeps, global REAL *weights, global REAL *slopes,
                         global REAL *prev_slopes, global REAL *prev_steps,
                         global REAL *prev_deltas, const global REAL *inputs,
                         const global REAL *targets, global REAL *scratch,
                         const global REAL *hparams, const global int *iparams,
                         global ACC *nstate, global int *istate, const global float *draws,
                         int draws_per_net)
{
    int n = get_group_id(0);
    if (get_local_id(0) != 0)
        return;
    int T = lay[L_T];
    int W = lay[L_W];
    int n_in = lay[L_NIN];
    int n_out = lay[L_NOUT];
    size_t base = (size_t)n * W;
    const global int *act = acts_id + n * T;
    const global REAL *steep = steeps + n * T;
    global REAL *w = weights + base;
    global REAL *g = slopes + base;
    global REAL *pg = prev_slopes + base;
    global REAL *ps = prev_steps + base;
    global REAL *pd = prev_deltas + base;
    global REAL *values = scratch + (size_t)n * 3 * T;
    global REAL *sums = values + T;
    global REAL *deltas = sums + T;
    const global REAL *hp = hparams + n * HP_COUNT;
    const global int *ip = iparams + n * IP_COUNT;
    global ACC *ns = nstate + n * NS_COUNT;
    global int *is = istate + n * IS_COUNT;
    int algorithm = ip[IP_ALGORITHM];
    int variant = ip[IP_RPROP_VARIANT];
    int error_fn = ip[IP_ERROR_FUNCTION];
    int bit_stop = ip[IP_STOP_FUNCTION] == 1;
    REAL bit_fail_limit = hp[HP_BIT_FAIL_LIMIT];
    REAL rate = hp[HP_LR];
    REAL momentum = hp[HP_MOMENTUM];
    int slope_from = outputs_only ? lay[L_OUT_FIRST] : lay[L_FIRST_HIDDEN];
    const global float *my_draws = draws + (size_t)n * draws_per_net;
    float count = (float)(P * n_out); /* (float)num_MSE */
    while (is[IS_EPOCHS] < is[IS_LIMIT]) {
        if (is[IS_STATUS] != ST_RUNNING)
            break;
        if (algorithm == ALG_SARPROP && draws_per_net - is[IS_CURSOR] < W - update_from) {
            is[IS_STATUS] = ST_NEED_DRAWS;
            break;
        }
        float sse = 0; /* FANN's MSE_value: one float sum, patterns then outputs in order */
        int bits = 0;
        for (int p = 0; p < P; p++) {
            forward_pattern(lay, act, steep, w, inputs + (size_t)p * n_in, 1, values, sums, 1);
            backward_pattern(lay, act, steep, w, targets + (size_t)p * n_out, 1, values, sums,
                             deltas, 1, bit_fail_limit, error_fn, outputs_only, &sse, 0, &bits);
            if (algorithm == ALG_INCREMENTAL)
                incremental_update(lay, w, pd, values, deltas, rate, momentum);
            else
                add_slopes(lay, g, values, deltas, slope_from);
        }
        float mse = count > 0 ? fann_mse(sse, count) : 0.0f;
        ns[NS_SSE] = sse;
        ns[NS_MSE] = mse;
        is[IS_BIT_FAIL] = bits;
        is[IS_EPOCHS] += 1;
        if (algorithm == ALG_BATCH) {
            for (int i = update_from; i < W; i++)
                batch_step(i, w, g, hp[HP_EPSILON]);
        } else if (algorithm == ALG_RPROP && variant == 0) {
            for (int i = update_from; i < W; i++)
                rprop_fann_step(i, w, g, pg, ps, hp);
        } else if (algorithm == ALG_RPROP) {
            int worse = mse > ns[NS_PREV_ERROR];
            for (int i = update_from; i < W; i++)
                irprop_step(i, w, g, pg, ps, pd, hp, variant == 2, worse);
            ns[NS_PREV_ERROR] = mse;
        } else if (algorithm == ALG_QUICKPROP) {
            for (int i = update_from; i < W; i++)
                quickprop_step(i, w, g, pg, ps, hp);
        } else if (algorithm == ALG_SARPROP) {
            int cursor = is[IS_CURSOR];
            cursor += sarprop_update(W - update_from, w + update_from, g + update_from,
                                     pg + update_from, ps + update_from, hp,
                                     is[IS_SARPROP_EPOCH], mse, my_draws + cursor);
            is[IS_CURSOR] = cursor;
            is[IS_SARPROP_EPOCH] += 1;
        }
        if (bit_stop ? bits <= (int)desired_error : mse <= desired_error)
            is[IS_STATUS] = ST_REACHED;
    }
}
