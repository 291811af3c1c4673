/* cascade.cl: one epoch of cascade-correlation candidate training
 * (fann_update_candidate_slopes over all patterns), one work-item per
 * candidate: the leading network dimension here is the candidates.
 *
 * Each candidate reads every non-output neuron (x: [pattern][S]); e holds
 * the output errors (target - y, halved for symmetric outputs, without the
 * error function). The candidate's sum is clamped to +-150/s before the
 * steepness is applied, and its derivative sees that unscaled sum (FANN).
 * A candidate's row of weights (and of slopes) is its S input weights, then
 * its O output weights. Slopes are added to what the array holds; scores
 * start at sse.
 */
kernel void candidate_epoch(int C, int P, int S, int O, const global REAL *x,
                            const global REAL *e, const global int *cand_act,
                            const global REAL *cand_steep, const global REAL *weights,
                            global REAL *slopes, global REAL *scores, REAL sse)
{
    int c = get_global_id(0);
    if (c >= C)
        return;
    int id = cand_act[c];
    REAL s = cand_steep[c];
    const global REAL *wi = weights + (size_t)c * (S + O);
    const global REAL *wo = wi + S;
    global REAL *gi = slopes + (size_t)c * (S + O);
    global REAL *go = gi + S;
    REAL score = sse;
    REAL limit = (REAL)150 / s;
    for (int p = 0; p < P; p++) {
        const global REAL *xp = x + (size_t)p * S;
        const global REAL *ep = e + (size_t)p * O;
        REAL sum = (REAL)0;
        int i = S & 3;
        for (int k = i - 1; k >= 0; k--)
            sum += wi[k] * xp[k];
        for (; i < S; i += 4)
            sum += ((wi[i] * xp[i] + wi[i + 1] * xp[i + 1]) + wi[i + 2] * xp[i + 2]) +
                   wi[i + 3] * xp[i + 3];
        if (sum > limit)
            sum = limit;
        else if (sum < -limit)
            sum = -limit;
        REAL a = activation_value(id, sum * s);
        REAL d = activation_derivative(id, s, a, sum);
        REAL err = (REAL)0;
        for (int o = 0; o < O; o++) {
            REAL diff = a * wo[o] - ep[o];
            go[o] -= (REAL)2 * diff * a;
            err += diff * wo[o];
            score -= diff * diff;
        }
        err *= d;
        for (int k = 0; k < S; k++)
            gi[k] -= err * xp[k];
    }
    scores[c] = score;
}
