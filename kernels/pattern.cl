/* pattern.cl: one pattern through one network, FANN's way (fann_run,
 * fann_compute_MSE, fann_backpropagate_MSE, slopes), in FANN's order of
 * operations.
 *
 * The neuron arrays (value, sum, delta) are addressed as a[j * stride]: the
 * layered kernels keep patterns next to each other (stride = patterns), the
 * fused kernels one network's neurons (stride = 1).
 */

/* The weighted sum of neuron j with FANN's unrolled order: the first
 * (n mod 4) products one at a time, highest first, then blocks of four. */
inline REAL neuron_sum(const global int *lay, const global REAL *w, const global REAL *acts,
                       int stride, int j)
{
    const global int *first_con = lay + lay[L_OFF_FIRST_CON];
    const global int *num_con = lay + lay[L_OFF_NUM_CON];
    int fc = first_con[j];
    int nc = num_con[j];
    int sf = lay[lay[L_OFF_SRC_FIRST] + j];
    const global REAL *wj = w + fc;
    REAL sum = (REAL)0;
    int i = nc & 3;
    if (sf >= 0) { /* consecutive sources: no index array */
        const global REAL *a = acts + sf * stride;
        for (int k = i - 1; k >= 0; k--)
            sum += wj[k] * a[k * stride];
        for (; i < nc; i += 4) {
            sum += ((wj[i] * a[i * stride] + wj[i + 1] * a[(i + 1) * stride]) +
                    wj[i + 2] * a[(i + 2) * stride]) +
                   wj[i + 3] * a[(i + 3) * stride];
        }
        return sum;
    }
    const global int *sj = lay + lay[L_OFF_SRC] + fc;
    for (int k = i - 1; k >= 0; k--)
        sum += wj[k] * acts[sj[k] * stride];
    for (; i < nc; i += 4) {
        sum += ((wj[i] * acts[sj[i] * stride] + wj[i + 1] * acts[sj[i + 1] * stride]) +
                wj[i + 2] * acts[sj[i + 2] * stride]) +
               wj[i + 3] * acts[sj[i + 3] * stride];
    }
    return sum;
}

/* Neuron j's value from its weighted sum: scale, clamp to +-150/s, activate. */
inline void activate_neuron(int id, REAL s, REAL sum, global REAL *value, global REAL *stored)
{
    REAL t = s * sum;
    REAL limit = (REAL)150 / s;
    if (t > limit)
        t = limit;
    else if (t < -limit)
        t = -limit;
    *stored = t;
    *value = activation_value(id, t);
}

/* fann_run for one pattern: inputs x[i * xstride], every later neuron in flat order. */
inline void forward_pattern(const global int *lay, const global int *act,
                            const global REAL *steep, const global REAL *w,
                            const global REAL *x, int xstride, global REAL *acts,
                            global REAL *sums, int stride)
{
    const global int *num_con = lay + lay[L_OFF_NUM_CON];
    int T = lay[L_T];
    int n_in = lay[L_NIN];
    for (int i = 0; i < n_in; i++)
        acts[i * stride] = x[i * xstride];
    for (int j = n_in; j < T; j++) {
        if (num_con[j] == 0) {
            acts[j * stride] = (REAL)1; /* a bias neuron */
            continue;
        }
        REAL sum = neuron_sum(lay, w, acts, stride, j);
        activate_neuron(act[j], steep[j], sum, acts + j * stride, sums + j * stride);
    }
}

/* Output errors (FANN-halved for symmetric outputs) into the MSE counters,
 * the error function, the output deltas; then, unless outputs_only, FANN's
 * backpropagation: each layer from the last down scatters delta * w into its
 * sources (connections last to first), then the layer below is multiplied by
 * its derivative. Deltas of input neurons are scratch. */
inline void backward_pattern(const global int *lay, const global int *act,
                             const global REAL *steep, const global REAL *w,
                             const global REAL *target, int tstride, const global REAL *acts,
                             const global REAL *sums, global REAL *deltas, int stride,
                             REAL bit_fail_limit, int error_fn, int outputs_only, float *sse,
                             global float *terms, int *bit_fail)
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
        REAL y = acts[j * stride];
        REAL e = target[o * tstride] - y;
        if (is_symmetric(act[j]))
            e /= (REAL)2;
        /* FANN's MSE_value is a C float: e*e (in REAL) rounded to float, added in
         * float; terms (when given) keeps each one for a sum in FANN's order */
        float term = (float)(e * e);
        *sse += term;
        if (terms != 0)
            terms[o] = term;
        if (fabs(e) >= bit_fail_limit)
            *bit_fail += 1;
        e = error_function(e, error_fn);
        deltas[j * stride] = activation_derivative(act[j], steep[j], y, sums[j * stride]) * e;
    }
    if (outputs_only || nl < 3)
        return;
    for (int j = 0; j < out_first; j++)
        deltas[j * stride] = (REAL)0;
    for (int layer = nl - 1; layer >= 2; layer--) {
        for (int k = layer_start[layer]; k < layer_start[layer + 1]; k++) {
            REAL dk = deltas[k * stride];
            int fc = first_con[k];
            int sf = src_first[k];
            if (sf >= 0) {
                global REAL *d = deltas + sf * stride;
                const global REAL *wk = w + fc;
                for (int c = num_con[k] - 1; c >= 0; c--)
                    d[c * stride] += dk * wk[c];
            } else {
                for (int c = num_con[k] - 1; c >= 0; c--)
                    deltas[src[fc + c] * stride] += dk * w[fc + c];
            }
        }
        for (int j = layer_start[layer - 1]; j < layer_start[layer]; j++) {
            if (num_con[j] == 0)
                continue;
            deltas[j * stride] *=
                activation_derivative(act[j], steep[j], acts[j * stride], sums[j * stride]);
        }
    }
}
