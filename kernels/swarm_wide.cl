/* swarm_wide.cl: swarm_tiny.cl's agents-innermost training for larger fully
 * connected layered float networks (any number of layers, one activation
 * function per layer: linear, sigmoid or sigmoid_symmetric). One work-item
 * trains VWIDTH consecutive agents, one per vector lane; the weights and the
 * training state stay in global memory as [connection][agent] (too many for
 * registers), and a work-item computes PB patterns side by side so each
 * weight vector it loads serves PB patterns. The host's arrays are
 * [agent][connection]: each work-item moves its agents into a scratch in
 * lane order first and back at the end (the host's transposes cost ~5% of a
 * large swarm's round).
 *
 * The arithmetic is swarm.cl's train_agents lane by lane, as in swarm_tiny.cl
 * (FANN's unrolled neuron sums, wide_exp in double, the backpropagation and
 * slope order, RPROP and batch), so each agent's bits are the general
 * kernel's. Built with common.cl, activations.cl and swarm_lanes.cl and the
 * shape as options: -DNL (layers), -DLAYER_SIZE, -DLAYER_FIRST, -DLAYER_CON,
 * -DLAYER_ACT (per layer, as {a,b,...}: neurons without the bias, the first
 * neuron's index with every layer's bias counted, the first connection, the
 * activation id), -DNI, -DNO, -DNEURONS, -DWEIGHTS, -DALG, -DERRFN, -DVWIDTH,
 * -DPB.
 */
#ifndef PB
#define PB 4 /* patterns computed side by side */
#endif

constant int layer_size[NL] = LAYER_SIZE;
constant int layer_first[NL] = LAYER_FIRST;
constant int layer_con[NL] = LAYER_CON;
constant int layer_act[NL] = LAYER_ACT;

/* sum[q] for PB patterns of neuron sums over n sources a[q][src..], weights
 * from connection c0 on: NEURON_SUM's order, one weight load for PB patterns */
#define BLOCK_SUM(sum, c0, a, src, n)                                              \
    do {                                                                           \
        PRAGMA_UNROLL                                                              \
        for (int q_ = 0; q_ < PB; q_++)                                            \
            sum[q_] = (TV)0;                                                       \
        int i_ = (n) & 3;                                                          \
        for (int k_ = i_ - 1; k_ >= 0; k_--) {                                     \
            TV wk_ = LANES(weights, (c0) + k_);                                    \
            PRAGMA_UNROLL                                                          \
            for (int q_ = 0; q_ < PB; q_++)                                        \
                sum[q_] += wk_ * a[q_][(src) + k_];                                \
        }                                                                          \
        for (; i_ < (n); i_ += 4) {                                                \
            TV w0_ = LANES(weights, (c0) + i_), w1_ = LANES(weights, (c0) + i_ + 1); \
            TV w2_ = LANES(weights, (c0) + i_ + 2), w3_ = LANES(weights, (c0) + i_ + 3); \
            PRAGMA_UNROLL                                                          \
            for (int q_ = 0; q_ < PB; q_++) {                                      \
                const TV *s_ = a[q_] + (src) + i_;                                 \
                sum[q_] += ((w0_ * s_[0] + w1_ * s_[1]) + w2_ * s_[2]) + w3_ * s_[3]; \
            }                                                                      \
        }                                                                          \
    } while (0)

kernel void train_wide(int P, int epochs, int N, int n_agents, const global float *inputs,
                       const global float *targets, const global float *steeps,
                       global float *agent_weights, global float *agent_prev_slopes,
                       global float *agent_prev_steps, global float *weights,
                       global float *slopes, global float *prev_slopes, global float *prev_steps,
                       const global float *hparams, global float *mse_out,
                       global int *bit_fail_out)
{
    int g = get_global_id(0);
    if ((g + 1) * VWIDTH > N)
        return;
    /* the agents' rows ([agent][connection], as the host keeps them) into this
     * work-item's lanes of the [connection][agent] scratch; lanes past the last
     * agent train a copy of it and are never written back */
    for (int lane = 0; lane < VWIDTH; lane++) {
        size_t row = (size_t)min(g * VWIDTH + lane, n_agents - 1) * WEIGHTS;
        size_t col = (size_t)g * VWIDTH + lane;
        for (int c = 0; c < WEIGHTS; c++) {
            weights[(size_t)c * N + col] = agent_weights[row + c];
            prev_slopes[(size_t)c * N + col] = agent_prev_slopes[row + c];
            prev_steps[(size_t)c * N + col] = agent_prev_steps[row + c];
        }
    }
    TV a[PB][NEURONS], d[PB][NEURONS], err[PB][NO];
    TV bit_limit = LANES(hparams, HP_BIT_FAIL_LIMIT);
    RULE_PARAMS(hparams);
    float count = (float)(P * NO);
    TV mse = (TV)0;
    TVI bits = (TVI)0;
    for (int c = 0; c < WEIGHTS; c++)
        LANES(slopes, c) = (TV)0;
    for (int epoch = 0; epoch < epochs; epoch++) {
        TV sse = (TV)0;
        bits = (TVI)0;
        for (int p0 = 0; p0 < P; p0 += PB) {
            PRAGMA_UNROLL
            for (int q = 0; q < PB; q++) {
                int p = min(p0 + q, P - 1); /* past the end: a copy, never added */
                for (int i = 0; i < NI; i++)
                    a[q][i] = (TV)inputs[p * NI + i];
                a[q][NI] = (TV)1;
            }
            /* forward: each layer's sums from the one below (its bias last) */
            for (int l = 1; l < NL; l++) {
                int ns = layer_size[l - 1] + 1;
                int src = layer_first[l - 1], dst = layer_first[l];
                TV s = LANES(steeps, l - 1);
                int act = layer_act[l];
                for (int j = 0; j < layer_size[l]; j++) {
                    TV sum[PB];
                    BLOCK_SUM(sum, layer_con[l] + j * ns, a, src, ns);
                    PRAGMA_UNROLL
                    for (int q = 0; q < PB; q++)
                        a[q][dst + j] = scaled(s, sum[q]);
                }
                /* the activations in a pass of their own: independent exp chains
                 * one after another, which the core overlaps */
                if (act != A_LINEAR) {
                    for (int q = 0; q < PB; q++) {
                        TV *row = a[q] + dst;
                        int j = 0;
                        for (; j + 4 <= layer_size[l]; j += 4)
                            sigmoid4_v(row + j, act);
                        for (; j < layer_size[l]; j++)
                            row[j] = value_v(row[j], act);
                    }
                }
                PRAGMA_UNROLL
                for (int q = 0; q < PB; q++)
                    a[q][dst + layer_size[l]] = (TV)1;
            }
            /* output errors and deltas */
            {
                int out = layer_first[NL - 1];
                int act = layer_act[NL - 1];
                TV so = LANES(steeps, NL - 2);
                for (int o = 0; o < NO; o++) {
                    PRAGMA_UNROLL
                    for (int q = 0; q < PB; q++) {
                        int p = min(p0 + q, P - 1);
                        TV y = a[q][out + o];
                        TV e = output_error_v((TV)targets[p * NO + o], y, act);
                        err[q][o] = e;
                        d[q][out + o] = derivative_v(act, so, y) * train_error_v(e);
                    }
                }
            }
            /* backpropagation: each layer's deltas into the one below */
            for (int l = NL - 1; l >= 2; l--) {
                int ns = layer_size[l - 1] + 1;
                int src = layer_first[l - 1], dst = layer_first[l];
                TV s = LANES(steeps, l - 2);
                int act = layer_act[l - 1];
                /* source after source, each delta summed over the layer's neurons in
                 * order in registers (train_agents' order: neuron after neuron) */
                for (int c = 0; c < ns - 1; c++) {
                    TV acc[PB];
                    PRAGMA_UNROLL
                    for (int q = 0; q < PB; q++)
                        acc[q] = (TV)0;
                    for (int k = 0; k < layer_size[l]; k++) {
                        TV wv = LANES(weights, layer_con[l] + k * ns + c);
                        PRAGMA_UNROLL
                        for (int q = 0; q < PB; q++)
                            acc[q] += d[q][dst + k] * wv;
                    }
                    PRAGMA_UNROLL
                    for (int q = 0; q < PB; q++)
                        d[q][src + c] = acc[q] * derivative_v(act, s, a[q][src + c]);
                }
            }
            /* the block's patterns into the SSE and the slopes, pattern after pattern */
            int qn = min(PB, P - p0);
            for (int q = 0; q < qn; q++) {
                for (int o = 0; o < NO; o++)
                    COUNT_ERROR(err[q][o], sse, bits, bit_limit);
            }
            for (int l = 1; l < NL; l++) {
                int ns = layer_size[l - 1] + 1;
                int src = layer_first[l - 1], dst = layer_first[l];
                for (int j = 0; j < layer_size[l]; j++) {
                    int c0 = layer_con[l] + j * ns;
                    if (qn == PB) {
                        for (int c = 0; c < ns; c++) {
                            TV sl = LANES(slopes, c0 + c);
                            PRAGMA_UNROLL
                            for (int q = 0; q < PB; q++)
                                sl += d[q][dst + j] * a[q][src + c];
                            LANES(slopes, c0 + c) = sl;
                        }
                    } else {
                        for (int c = 0; c < ns; c++) {
                            TV sl = LANES(slopes, c0 + c);
                            for (int q = 0; q < qn; q++)
                                sl += d[q][dst + j] * a[q][src + c];
                            LANES(slopes, c0 + c) = sl;
                        }
                    }
                }
            }
        }
        mse = TO_V(TO_D(sse) / (double)count);
        for (int c = 0; c < WEIGHTS; c++) {
            TV ps = LANES(prev_slopes, c), pt = LANES(prev_steps, c);
            LANES(weights, c) = update_v(LANES(weights, c), LANES(slopes, c), &ps, &pt, RULE_ARGS);
#if ALG == ALG_RPROP
            LANES(prev_slopes, c) = ps;
            LANES(prev_steps, c) = pt;
#endif
            LANES(slopes, c) = (TV)0;
        }
    }
    LANES(mse_out, 0) = mse;
    ((global TVI *)bit_fail_out)[g] = bits;
    for (int lane = 0; lane < VWIDTH && g * VWIDTH + lane < n_agents; lane++) {
        size_t row = (size_t)(g * VWIDTH + lane) * WEIGHTS;
        size_t col = (size_t)g * VWIDTH + lane;
        for (int c = 0; c < WEIGHTS; c++) {
            agent_weights[row + c] = weights[(size_t)c * N + col];
            agent_prev_slopes[row + c] = prev_slopes[(size_t)c * N + col];
            agent_prev_steps[row + c] = prev_steps[(size_t)c * N + col];
        }
    }
}
