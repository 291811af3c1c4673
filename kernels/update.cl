/* update.cl: the weight update of every batch-family algorithm, one weight at
 * a time, exactly as fannctl/train/{batch,rprop,quickprop,sarprop}.py do it
 * (which is FANN's rule). Each function updates weight i of one network and
 * zeroes its slope; the kernels at the end run them over (weights, networks).
 */

inline void batch_step(int i, global REAL *w, global REAL *g, REAL epsilon)
{
    w[i] += g[i] * epsilon;
    g[i] = (REAL)0;
}

/* FANN's RPROP: after a sign change the step shrinks, the slope is forgotten
 * and the weight still moves by +step. */
inline void rprop_fann_step(int i, global REAL *w, global REAL *g, global REAL *prev_g,
                            global REAL *prev_step, const global REAL *hp)
{
    REAL slope = g[i];
    REAL p = fmax(prev_step[i], (REAL)0.0001);
    REAL step;
    if (slope * prev_g[i] >= (REAL)0) {
        step = fmin(p * hp[HP_RPROP_INC], hp[HP_RPROP_DMAX]);
    } else {
        step = fmax(p * hp[HP_RPROP_DEC], hp[HP_RPROP_DMIN]);
        slope = (REAL)0;
    }
    if (slope < (REAL)0)
        w[i] = fmax(w[i] - step, -WEIGHT_LIMIT);
    else
        w[i] = fmin(w[i] + step, WEIGHT_LIMIT);
    prev_step[i] = step;
    prev_g[i] = slope;
    g[i] = (REAL)0;
}

/* Textbook iRPROP- (plus = 0) and iRPROP+ (plus = 1; worse: the error grew). */
inline void irprop_step(int i, global REAL *w, global REAL *g, global REAL *prev_g,
                        global REAL *prev_step, global REAL *prev_delta, const global REAL *hp,
                        int plus, int worse)
{
    REAL slope = g[i];
    REAL product = slope * prev_g[i];
    REAL step = prev_step[i];
    REAL delta;
    if (product > (REAL)0)
        step = fmin(step * hp[HP_RPROP_INC], hp[HP_RPROP_DMAX]);
    else if (product < (REAL)0)
        step = fmax(step * hp[HP_RPROP_DEC], hp[HP_RPROP_DMIN]);
    if (product < (REAL)0) {
        delta = (plus && worse) ? -prev_delta[i] : (REAL)0;
        slope = (REAL)0;
    } else {
        delta = slope > (REAL)0 ? step : (slope < (REAL)0 ? -step : (REAL)0);
    }
    w[i] = clamp(w[i] + delta, -WEIGHT_LIMIT, WEIGHT_LIMIT);
    prev_step[i] = step;
    prev_g[i] = slope;
    prev_delta[i] = delta;
    g[i] = (REAL)0;
}

/* QuickProp: a secant step on the slope (weight decay included). */
inline void quickprop_step(int i, global REAL *w, global REAL *g, global REAL *prev_g,
                           global REAL *prev_step, const global REAL *hp)
{
    REAL epsilon = hp[HP_EPSILON];
    REAL mu = hp[HP_QP_MU];
    REAL shrink = hp[HP_QP_SHRINK];
    REAL slope = g[i] + hp[HP_QP_DECAY] * w[i];
    REAL ps = prev_g[i];
    REAL pstep = prev_step[i];
    REAL plain = epsilon * slope;
    REAL step;
    if (pstep > (REAL)0.001) {
        step = (slope > (REAL)0 ? plain : (REAL)0) +
               (slope > shrink * ps ? mu * pstep : (pstep * slope) / (ps - slope));
    } else if (pstep < (REAL)-0.001) {
        step = (slope < (REAL)0 ? plain : (REAL)0) +
               (slope < shrink * ps ? mu * pstep : (pstep * slope) / (ps - slope));
    } else {
        step = plain;
    }
    prev_step[i] = step;
    w[i] = clamp(w[i] + step, -WEIGHT_LIMIT, WEIGHT_LIMIT);
    prev_g[i] = slope;
    g[i] = (REAL)0;
}

/* SARPROP over all weights of one network, in index order: the noise draws
 * are taken in that order and a zero product stores the stale step (the last
 * step assigned earlier in this update, 0 if none), as FANN does.
 * Returns the number of draws consumed. */
inline int sarprop_update(int W, global REAL *w, global REAL *g, global REAL *prev_g,
                          global REAL *prev_step, const global REAL *hp, int epoch, ACC error,
                          const global float *draws)
{
    float temperature = (float)hp[HP_SP_TEMPERATURE];
    float decay_x = -temperature * (float)epoch + (float)hp[HP_SP_WDS];
    float noise_x = -temperature * (float)epoch + (float)hp[HP_SP_SES];
    REAL decay = (REAL)exp((WIDE)0.6931471805599453 * (WIDE)decay_x);
    REAL noise_scale = (REAL)exp((WIDE)0.6931471805599453 * (WIDE)noise_x);
    float mse = (float)error;
    float rmse = (float)sqrt((WIDE)mse);
    REAL threshold = (REAL)((float)hp[HP_SP_THRESHOLD] * mse);
    REAL inc = hp[HP_RPROP_INC];
    REAL dec = hp[HP_RPROP_DEC];
    REAL dmax = hp[HP_RPROP_DMAX];
    REAL last = (REAL)0;
    int used = 0;
    for (int i = 0; i < W; i++) {
        REAL p = fmax(prev_step[i], (REAL)1e-6);
        REAL slope = -g[i] - w[i] * decay;
        REAL product = slope * prev_g[i];
        REAL step;
        REAL move;
        if (product > (REAL)0) {
            step = fmin(p * inc, dmax);
            move = step;
            last = step;
        } else if (product < (REAL)0) {
            if (p < threshold) {
                float d = draws[used++];
                step = p * dec + (REAL)(d * rmse) * noise_scale;
            } else {
                step = fmax(p * dec, (REAL)1e-6);
            }
            move = (REAL)0;
            last = step;
            slope = (REAL)0;
        } else {
            move = p;
            step = last;
        }
        w[i] -= slope < (REAL)0 ? -move : move;
        prev_step[i] = step;
        prev_g[i] = slope;
        g[i] = (REAL)0;
    }
    return used;
}

/* ---- kernels over (weights, networks) ----------------------------------- */

/* One batch-family update for every weight of every network whose update is
 * due (state[IS_UPDATE]); dim 0 weights, dim 1 networks. */
kernel void update_weights(int W, global REAL *weights, global REAL *slopes,
                           global REAL *prev_slopes, global REAL *prev_steps,
                           global REAL *prev_deltas, const global REAL *hparams,
                           const global int *iparams, const global ACC *nstate,
                           const global int *istate)
{
    int i = get_global_id(0);
    int n = get_global_id(1);
    if (i >= W || !istate[n * IS_COUNT + IS_UPDATE])
        return;
    size_t base = (size_t)n * W;
    global REAL *w = weights + base;
    global REAL *g = slopes + base;
    const global REAL *hp = hparams + n * HP_COUNT;
    const global int *ip = iparams + n * IP_COUNT;
    int algorithm = ip[IP_ALGORITHM];
    if (algorithm == ALG_BATCH) {
        batch_step(i, w, g, hp[HP_EPSILON]);
    } else if (algorithm == ALG_RPROP) {
        int variant = ip[IP_RPROP_VARIANT];
        if (variant == 0) {
            rprop_fann_step(i, w, g, prev_slopes + base, prev_steps + base, hp);
        } else {
            const global ACC *ns = nstate + n * NS_COUNT;
            int worse = ns[NS_MSE] > ns[NS_PREV_ERROR];
            irprop_step(i, w, g, prev_slopes + base, prev_steps + base, prev_deltas + base, hp,
                        variant == 2, worse);
        }
    } else if (algorithm == ALG_QUICKPROP) {
        quickprop_step(i, w, g, prev_slopes + base, prev_steps + base, hp);
    }
}

/* SARPROP's update, one work-item per network (it is sequential by rule). */
kernel void update_sarprop(int W, global REAL *weights, global REAL *slopes,
                           global REAL *prev_slopes, global REAL *prev_steps,
                           const global REAL *hparams, const global int *iparams,
                           const global ACC *nstate, global int *istate,
                           const global float *draws, int draws_per_net)
{
    int n = get_global_id(0);
    global int *is = istate + n * IS_COUNT;
    if (!is[IS_UPDATE] || iparams[n * IP_COUNT + IP_ALGORITHM] != ALG_SARPROP)
        return;
    size_t base = (size_t)n * W;
    int cursor = is[IS_CURSOR];
    is[IS_CURSOR] = cursor + sarprop_update(W, weights + base, slopes + base, prev_slopes + base,
                                            prev_steps + base, hparams + n * HP_COUNT,
                                            is[IS_SARPROP_EPOCH], nstate[n * NS_COUNT + NS_MSE],
                                            draws + (size_t)n * draws_per_net + cursor);
    is[IS_SARPROP_EPOCH] += 1;
}
