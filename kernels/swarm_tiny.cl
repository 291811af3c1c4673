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
 * Built with common.cl and activations.cl and the shape as options: -DNI,
 * -DNH, -DNO (layer sizes), -DACT_H, -DACT_O (activation ids: linear,
 * sigmoid, sigmoid_symmetric), -DALG (ALG_BATCH or ALG_RPROP), -DERRFN (0
 * linear, 1 tanh), -DVWIDTH (8 or 16), -DPB (patterns computed side by side,
 * default 2).
 */
#if VWIDTH == 16
typedef float16 TV;
typedef double16 TD;
typedef int16 TVI;
typedef long16 TDL;
#define TO_D convert_double16
#define TO_V convert_float16
#define TO_DL convert_long16
#define AS_D as_double16
#else
typedef float8 TV;
typedef double8 TD;
typedef int8 TVI;
typedef long8 TDL;
#define TO_D convert_double8
#define TO_V convert_float8
#define TO_DL convert_long8
#define AS_D as_double8
#endif

#define NW_H (NI + 1) /* connections of a hidden neuron (bias last) */
#define NW_O (NH + 1) /* connections of an output neuron */
#define W_HIDDEN (NH * NW_H)
#define W_ALL (W_HIDDEN + NO * NW_O)
#ifndef PB
#define PB 2 /* patterns computed side by side */
#endif
#define PRAGMA_UNROLL _Pragma("unroll")

/* activations.cl's wide_exp on a vector of doubles, operation for operation. */
inline TD wide_exp_v(TD x)
{
    TD k = (x * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0;
    TD r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
    TD p = (TD)(1.0 / 39916800.0);
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    TDL ki = TO_DL(k);
    TDL sub = ki < -1000;
    p = select(p, p * 0x1p-100, sub);
    ki = select(ki, ki + 100, sub);
    p = p * AS_D((ki + 1023) << 52);
    p = select(p, (TD)INFINITY, x > 709.0);
    return select(p, (TD)0.0, x < -745.0);
}

inline TV vmin(TV a, TV b) { return select(a, b, b < a); }
inline TV vmax(TV a, TV b) { return select(a, b, b > a); }

inline TV value_v(TV t, int id)
{
    if (id == A_SIGMOID)
        return TO_V(1.0 / (1.0 + wide_exp_v(TO_D((TV)-2 * t))));
    if (id == A_SIGMOID_SYMMETRIC)
        return TO_V(2.0 / (1.0 + wide_exp_v(TO_D((TV)-2 * t))) - 1.0);
    return t; /* A_LINEAR */
}

inline TV derivative_v(int id, TV s, TV y)
{
    if (id == A_SIGMOID) {
        TV c = vmin(vmax(y, (TV)0.01f), (TV)0.99f);
        return (TV)2 * s * c * ((TV)1 - c);
    }
    if (id == A_SIGMOID_SYMMETRIC) {
        TV c = vmin(vmax(y, (TV)-0.98f), (TV)0.98f);
        return s * ((TV)1 - c * c);
    }
    return s; /* A_LINEAR */
}

inline int symmetric_id(int id) { return id == A_SIGMOID_SYMMETRIC; }

/* scale by steepness, clamp to +-150/s (activate_neuron) */
inline TV scaled(TV s, TV sum)
{
    TV t = s * sum;
    TV limit = (TV)150 / s;
    TVI high = t > limit;
    TVI low = (t < -limit) & ~high;
    t = select(t, limit, high);
    return select(t, -limit, low);
}

/* neuron_sum's order: the first (n mod 4) products highest first, then fours */
#define NEURON_SUM(sum, w, a, n)                                                   \
    do {                                                                           \
        sum = (TV)0;                                                                \
        int i_ = (n) & 3;                                                          \
        for (int k_ = i_ - 1; k_ >= 0; k_--)                                       \
            sum += (w)[k_] * (a)[k_];                                              \
        for (; i_ < (n); i_ += 4)                                                  \
            sum += (((w)[i_] * (a)[i_] + (w)[i_ + 1] * (a)[i_ + 1]) +              \
                    (w)[i_ + 2] * (a)[i_ + 2]) +                                   \
                   (w)[i_ + 3] * (a)[i_ + 3];                                      \
    } while (0)

#define LANES(array, row) (((global TV *)((array) + (size_t)(row) * N))[g])

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
#if ALG == ALG_RPROP
    TV inc = LANES(hparams, HP_RPROP_INC);
    TV dec = LANES(hparams, HP_RPROP_DEC);
    TV dmin = LANES(hparams, HP_RPROP_DMIN);
    TV dmax = LANES(hparams, HP_RPROP_DMAX);
#else
    TV epsilon = LANES(hparams, HP_EPSILON);
#endif
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
                PRAGMA_UNROLL
                for (int q = 0; q < PB; q++) {
                    TV sum;
                    NEURON_SUM(sum, w + j * NW_H, x[q], NW_H);
                    h[q][j] = value_v(scaled(sh, sum), ACT_H);
                }
            }
            PRAGMA_UNROLL
            for (int q = 0; q < PB; q++)
                h[q][NH] = (TV)1;
            for (int o = 0; o < NO; o++) {
                PRAGMA_UNROLL
                for (int q = 0; q < PB; q++) {
                    int p = min(p0 + q, P - 1);
                    TV sum;
                    NEURON_SUM(sum, w + W_HIDDEN + o * NW_O, h[q], NW_O);
                    TV y = value_v(scaled(so, sum), ACT_O);
                    TV e = (TV)targets[p * NO + o] - y;
                    if (symmetric_id(ACT_O))
                        e /= (TV)2;
                    err[q][o] = e;
#if ERRFN == 1
                    TV r = TO_V((1.0 + TO_D(e)) / (1.0 - TO_D(e)));
                    TV f = log(r);
                    f = select(f, (TV)17, e > (TV)0.9999999f);
                    e = select(f, (TV)-17, e < (TV)-0.9999999f);
#endif
                    dout[q][o] = derivative_v(ACT_O, so, y) * e;
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
                for (int o = 0; o < NO; o++) {
                    TV e = err[q][o];
                    sse += e * e;
                    bits -= select(e, -e, e < (TV)0) >= bit_limit; /* a true lane is -1 */
                }
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
#if ALG == ALG_RPROP
            TV s = slope[c];
            TV p = vmax(pstep[c], (TV)0.0001f);
            TVI same = s * pslope[c] >= (TV)0;
            TV step = select(vmax(p * dec, dmin), vmin(p * inc, dmax), same);
            s = select((TV)0, s, same);
            TV down = vmax(w[c] - step, (TV)-1500);
            TV up = vmin(w[c] + step, (TV)1500);
            w[c] = select(up, down, s < (TV)0);
            pstep[c] = step;
            pslope[c] = s;
#else
            w[c] += slope[c] * epsilon;
#endif
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
