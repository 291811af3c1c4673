/* swarm_tiny.cl: a swarm of tiny float networks (inputs-hidden-outputs, fully
 * connected, one activation function per layer), agents innermost in memory:
 * every array is [slot][agent], and one work-item trains VWIDTH consecutive
 * agents at once, one per vector lane, for every epoch of the launch, with
 * the weights and training state in registers (private vectors).
 *
 * The arithmetic is swarm.cl's train_agents (fused.cl's epoch) lane by lane:
 * FANN's unrolled neuron sums, the same double evaluation of exp (wide_exp,
 * here on vectors of doubles), the same backpropagation and slope order, the
 * same RPROP and batch rules, so each agent's bits are the general kernel's.
 * Built with common.cl, activations.cl and swarm_lanes.cl (the lane helpers
 * it shares with swarm_wide.cl) and the shape as options: -DNI,
 * -DNH, -DNO (layer sizes), -DACT_H, -DACT_O (activation ids: linear,
 * sigmoid, sigmoid_symmetric), -DALG (ALG_BATCH or ALG_RPROP), -DERRFN (0
 * linear, 1 tanh), -DVWIDTH (8 or 16), -DPB (patterns computed side by side,
 * default 2).
 */
#define NW_H (NI + 1) /* connections of a hidden neuron (bias last) */
#define NW_O (NH + 1) /* connections of an output neuron */
#define W_HIDDEN (NH * NW_H)
#define W_ALL (W_HIDDEN + NO * NW_O)
#ifndef PB
#define PB 2 /* patterns computed side by side */
#endif
/* a neuron's activation for the PB patterns at once: four sigmoids side by
 * side (swarm_lanes.cl's sigmoid4_v) when PB is 4, else one after another */
#if PB == 4
#define ACTIVATE(t, id)                                                            \
    do {                                                                           \
        if ((id) != A_LINEAR)                                                      \
            sigmoid4_v(t, id);                                                     \
    } while (0)
#else
#define ACTIVATE(t, id)                                                            \
    do {                                                                           \
        PRAGMA_UNROLL                                                              \
        for (int q_ = 0; q_ < PB; q_++)                                            \
            (t)[q_] = value_v((t)[q_], id);                                        \
    } while (0)
#endif

kernel void train_tiny(int P, int epochs, int N, const global float *inputs,
                       const global float *targets, const global float *steep_hidden,
                       const global float *steep_output, global float *weights,
                       global float *prev_slopes, global float *prev_steps,
                       const global float *hparams, global float *mse_out,
                       global int *bit_fail_out)
{
    int g = get_global_id(0);
    if ((g + 1) * VWIDTH > N)
        return;
    TV w[W_ALL], slope[W_ALL], pslope[W_ALL], pstep[W_ALL];
    for (int c = 0; c < W_ALL; c++) {
        w[c] = LANES(weights, c);
        pslope[c] = LANES(prev_slopes, c);
        pstep[c] = LANES(prev_steps, c);
        slope[c] = (TV)0;
    }
    TV sh = LANES(steep_hidden, 0);
    TV so = LANES(steep_output, 0);
    TV bit_limit = LANES(hparams, HP_BIT_FAIL_LIMIT);
    RULE_PARAMS(hparams);
    float count = (float)(P * NO);
    TV mse = (TV)0;
    TVI bits = (TVI)0;
    for (int epoch = 0; epoch < epochs; epoch++) {
        TV sse = (TV)0;
        bits = (TVI)0;
        /* PB patterns at a time: their passes are independent chains the core
         * overlaps (one pattern's exp chains alone leave it waiting on latency);
         * the sums over patterns (sse, slopes) still add pattern after pattern. */
        for (int p0 = 0; p0 < P; p0 += PB) {
            TV x[PB][NW_H], h[PB][NW_O], dh[PB][NW_O], dout[PB][NO], err[PB][NO];
            PRAGMA_UNROLL
            for (int q = 0; q < PB; q++) {
                int p = min(p0 + q, P - 1); /* past the end: a copy, never added */
                for (int i = 0; i < NI; i++)
                    x[q][i] = (TV)inputs[p * NI + i];
                x[q][NI] = (TV)1;
            }
            for (int j = 0; j < NH; j++) {
                TV t[PB];
                PRAGMA_UNROLL
                for (int q = 0; q < PB; q++) {
                    TV sum;
                    NEURON_SUM(sum, w + j * NW_H, x[q], NW_H);
                    t[q] = scaled(sh, sum);
                }
                ACTIVATE(t, ACT_H);
                PRAGMA_UNROLL
                for (int q = 0; q < PB; q++)
                    h[q][j] = t[q];
            }
            PRAGMA_UNROLL
            for (int q = 0; q < PB; q++)
                h[q][NH] = (TV)1;
            for (int o = 0; o < NO; o++) {
                TV ys[PB];
                PRAGMA_UNROLL
                for (int q = 0; q < PB; q++) {
                    TV sum;
                    NEURON_SUM(sum, w + W_HIDDEN + o * NW_O, h[q], NW_O);
                    ys[q] = scaled(so, sum);
                }
                ACTIVATE(ys, ACT_O);
                PRAGMA_UNROLL
                for (int q = 0; q < PB; q++) {
                    int p = min(p0 + q, P - 1);
                    TV y = ys[q];
                    TV e = output_error_v((TV)targets[p * NO + o], y, ACT_O);
                    err[q][o] = e;
                    dout[q][o] = derivative_v(ACT_O, so, y) * train_error_v(e);
                }
            }
            PRAGMA_UNROLL
            for (int q = 0; q < PB; q++) {
                for (int j = 0; j < NW_O; j++)
                    dh[q][j] = (TV)0;
                for (int o = 0; o < NO; o++)
                    for (int c = NW_O - 1; c >= 0; c--)
                        dh[q][c] += dout[q][o] * w[W_HIDDEN + o * NW_O + c];
                for (int j = 0; j < NH; j++)
                    dh[q][j] *= derivative_v(ACT_H, sh, h[q][j]);
            }
            for (int q = 0; q < PB && p0 + q < P; q++) {
                for (int o = 0; o < NO; o++)
                    COUNT_ERROR(err[q][o], sse, bits, bit_limit);
                for (int j = 0; j < NH; j++)
                    for (int c = 0; c < NW_H; c++)
                        slope[j * NW_H + c] += dh[q][j] * x[q][c];
                for (int o = 0; o < NO; o++)
                    for (int c = 0; c < NW_O; c++)
                        slope[W_HIDDEN + o * NW_O + c] += dout[q][o] * h[q][c];
            }
        }
        mse = TO_V(TO_D(sse) / (double)count);
        for (int c = 0; c < W_ALL; c++) {
            w[c] = update_v(w[c], slope[c], &pslope[c], &pstep[c], RULE_ARGS);
            slope[c] = (TV)0;
        }
    }
    for (int c = 0; c < W_ALL; c++) {
        LANES(weights, c) = w[c];
        LANES(prev_slopes, c) = pslope[c];
        LANES(prev_steps, c) = pstep[c];
    }
    LANES(mse_out, 0) = mse;
    ((global TVI *)bit_fail_out)[g] = bits;
}
