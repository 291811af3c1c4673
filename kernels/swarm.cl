/* swarm.cl: a swarm's agents (networks of one shape, each with its own
 * weights, steepness, parameters, pattern weights and weight decay) trained
 * for a number of epochs in one launch, one work-item per agent.
 *
 * train_agents is fused.cl's train_epochs for a swarm chunk (fannctl/swarm/
 * trainer.py's train_chunk): no stop test, every agent its own algorithm, a
 * pattern weight per (agent, pattern) (bootstrap counts, shard masks) applied
 * as the numpy path applies it (the float e*e term times the weight into the
 * SSE, the error function's value times the weight into the output delta),
 * and fannctl's L2 weight decay (slopes -= decay * w before the update).
 * Built after common, activations, pattern, update and fused (it uses their
 * functions); arrays are [agent][...] as everywhere else.
 */

/* backward_pattern with a pattern weight pw (1 for every pattern when the
 * chunk has none: multiplying by 1 changes no bit). */
inline void weighted_backward(const global int *lay, const global int *act,
                              const global REAL *steep, const global REAL *w,
                              const global REAL *target, const global REAL *acts,
                              const global REAL *sums, global REAL *deltas, REAL pw,
                              REAL bit_fail_limit, int error_fn, float *sse, float *bit_fail)
{
    const global int *layer_start = lay + lay[L_OFF_LAYER];
    const global int *first_con = lay + lay[L_OFF_FIRST_CON];
    const global int *num_con = lay + lay[L_OFF_NUM_CON];
    const global int *src = lay + lay[L_OFF_SRC];
    const global int *src_first = lay + lay[L_OFF_SRC_FIRST];
    int n_out = lay[L_NOUT];
    int out_first = lay[L_OUT_FIRST];
    int nl = lay[L_NLAYERS];
    for (int o = 0; o < n_out; o++) {
        int j = out_first + o;
        REAL y = acts[j];
        REAL e = target[o] - y;
        if (is_symmetric(act[j]))
            e /= (REAL)2;
        *sse += (float)(e * e) * (float)pw;
        if (fabs(e) >= bit_fail_limit)
            *bit_fail += (float)pw;
        e = error_function(e, error_fn) * pw;
        deltas[j] = activation_derivative(act[j], steep[j], y, sums[j]) * e;
    }
    if (nl < 3)
        return;
    for (int j = 0; j < out_first; j++)
        deltas[j] = (REAL)0;
    for (int layer = nl - 1; layer >= 2; layer--) {
        for (int k = layer_start[layer]; k < layer_start[layer + 1]; k++) {
            REAL dk = deltas[k];
            int fc = first_con[k];
            int sf = src_first[k];
            if (sf >= 0) {
                global REAL *d = deltas + sf;
                const global REAL *wk = w + fc;
                for (int c = num_con[k] - 1; c >= 0; c--)
                    d[c] += dk * wk[c];
            } else {
                for (int c = num_con[k] - 1; c >= 0; c--)
                    deltas[src[fc + c]] += dk * w[fc + c];
            }
        }
        for (int j = layer_start[layer - 1]; j < layer_start[layer]; j++) {
            if (num_con[j] == 0)
                continue;
            deltas[j] *= activation_derivative(act[j], steep[j], acts[j], sums[j]);
        }
    }
}

/* Epochs for every agent until its epoch count reaches state[IS_LIMIT]; a
 * SARPROP agent stops early (ST_NEED_DRAWS) when fewer than W noise draws
 * are left. act (T) is shared; pattern_weights is (N, P) when weighted.
 * scratch holds values, sums and deltas: [agent][3][neurons]. */
kernel void train_agents(int P, int weighted, const global int *lay, const global int *act,
                         const global REAL *steeps, global REAL *weights, global REAL *slopes,
                         global REAL *prev_slopes, global REAL *prev_steps,
                         const global REAL *inputs, const global REAL *targets,
                         const global REAL *pattern_weights, const global REAL *decays,
                         global REAL *scratch, const global REAL *hparams,
                         const global int *iparams, global ACC *nstate, global int *istate,
                         const global float *draws, int draws_per_net)
{
    int n = get_global_id(0);
    int T = lay[L_T];
    int W = lay[L_W];
    int n_in = lay[L_NIN];
    int n_out = lay[L_NOUT];
    size_t base = (size_t)n * W;
    const global REAL *steep = steeps + (size_t)n * T;
    global REAL *w = weights + base;
    global REAL *g = slopes + base;
    global REAL *pg = prev_slopes + base;
    global REAL *ps = prev_steps + base;
    global REAL *values = scratch + (size_t)n * 3 * T;
    global REAL *sums = values + T;
    global REAL *deltas = sums + T;
    const global REAL *hp = hparams + n * HP_COUNT;
    const global int *ip = iparams + n * IP_COUNT;
    const global REAL *pwts = pattern_weights + (size_t)n * P;
    global ACC *ns = nstate + n * NS_COUNT;
    global int *is = istate + n * IS_COUNT;
    int algorithm = ip[IP_ALGORITHM];
    int error_fn = ip[IP_ERROR_FUNCTION];
    REAL bit_fail_limit = hp[HP_BIT_FAIL_LIMIT];
    REAL rate = hp[HP_LR];
    REAL momentum = hp[HP_MOMENTUM];
    REAL decay = decays[n];
    const global float *my_draws = draws + (size_t)n * draws_per_net;
    int first_hidden = lay[L_FIRST_HIDDEN];
    while (is[IS_EPOCHS] < is[IS_LIMIT]) {
        if (is[IS_STATUS] != ST_RUNNING)
            break;
        if (algorithm == ALG_SARPROP && draws_per_net - is[IS_CURSOR] < W) {
            is[IS_STATUS] = ST_NEED_DRAWS;
            break;
        }
        float sse = 0; /* FANN's MSE_value: one float sum, patterns then outputs in order */
        float bits = 0;
        float count = 0;
        for (int p = 0; p < P; p++) {
            /* incremental training presents every pattern once (trainer.py) */
            REAL pw = (weighted && algorithm != ALG_INCREMENTAL) ? pwts[p] : (REAL)1;
            forward_pattern(lay, act, steep, w, inputs + (size_t)p * n_in, 1, values, sums, 1);
            weighted_backward(lay, act, steep, w, targets + (size_t)p * n_out, values, sums,
                              deltas, pw, bit_fail_limit, error_fn, &sse, &bits);
            if (algorithm == ALG_INCREMENTAL)
                incremental_update(lay, w, ps, values, deltas, rate, momentum);
            else
                add_slopes(lay, g, values, deltas, first_hidden);
            count += (float)pw;
        }
        count *= (float)n_out;
        float mse = count > 0 ? fann_mse(sse, count) : 0.0f;
        ns[NS_MSE] = mse;
        is[IS_BIT_FAIL] = (int)bits;
        is[IS_EPOCHS] += 1;
        if (algorithm != ALG_INCREMENTAL && decay != (REAL)0) {
            for (int i = 0; i < W; i++)
                g[i] -= decay * w[i];
        }
        if (algorithm == ALG_BATCH) {
            for (int i = 0; i < W; i++)
                batch_step(i, w, g, hp[HP_EPSILON]);
        } else if (algorithm == ALG_RPROP) {
            for (int i = 0; i < W; i++)
                rprop_fann_step(i, w, g, pg, ps, hp);
        } else if (algorithm == ALG_QUICKPROP) {
            for (int i = 0; i < W; i++)
                quickprop_step(i, w, g, pg, ps, hp);
        } else if (algorithm == ALG_SARPROP) {
            int cursor = is[IS_CURSOR];
            cursor += sarprop_update(W, w, g, pg, ps, hp, is[IS_SARPROP_EPOCH], mse,
                                     my_draws + cursor);
            is[IS_CURSOR] = cursor;
            is[IS_SARPROP_EPOCH] += 1;
        }
    }
}
