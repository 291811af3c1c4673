/* swarm_lanes.cl: what the agents-innermost swarm kernels (swarm_tiny.cl,
 * swarm_wide.cl) share. Every array is [slot][agent]; a work-item trains
 * VWIDTH consecutive agents at once, one per vector lane (TV: VWIDTH floats,
 * TD: VWIDTH doubles). The functions are activations.cl's scalar ones (FANN's
 * double evaluation of exp: wide_exp) lane by lane, so each lane's bits are
 * swarm.cl's. Built after common.cl and activations.cl, with -DVWIDTH (8 or
 * 16) and the including kernel's N (agents in the launch) and g (the
 * work-item) in scope wherever LANES is used.
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

#define PRAGMA_UNROLL _Pragma("unroll")

/* activations.cl's wide_exp, operation for operation, on n vectors of doubles
 * x[0..n-1] into p[0..n-1], each step on all n before the next: the steps are
 * a chain of dependent multiplies and adds (the compiler does not fuse them:
 * the bits stay FANN's), so one vector at a time waits on latency and several
 * side by side keep the core's pipes busy. Per lane the same operations in
 * the same order whatever n: the same bits. */
#define EACH(n, stmt)                                                              \
    do {                                                                           \
        PRAGMA_UNROLL                                                              \
        for (int i_ = 0; i_ < (n); i_++) {                                         \
            stmt;                                                                  \
        }                                                                          \
    } while (0)

#define WIDE_EXP_N(n, x, p)                                                        \
    do {                                                                           \
        TD k_[n], r_[n];                                                           \
        TDL ki_[n];                                                                \
        EACH(n, k_[i_] = (x[i_] * 1.4426950408889634 + 6755399441055744.0) -       \
                         6755399441055744.0);                                      \
        EACH(n, r_[i_] = (x[i_] - k_[i_] * 6.93147180369123816490e-01) -           \
                         k_[i_] * 1.90821492927058770002e-10);                     \
        EACH(n, p[i_] = (TD)(1.0 / 39916800.0));                                   \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0 / 3628800.0);                         \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0 / 362880.0);                          \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0 / 40320.0);                           \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0 / 5040.0);                            \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0 / 720.0);                             \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0 / 120.0);                             \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0 / 24.0);                              \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0 / 6.0);                               \
        EACH(n, p[i_] = p[i_] * r_[i_] + 0.5);                                     \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0);                                     \
        EACH(n, p[i_] = p[i_] * r_[i_] + 1.0);                                     \
        EACH(n, ki_[i_] = TO_DL(k_[i_]));                                          \
        EACH(n, TDL sub_ = ki_[i_] < -1000; p[i_] = select(p[i_], p[i_] * 0x1p-100, sub_); \
             ki_[i_] = select(ki_[i_], ki_[i_] + 100, sub_));                      \
        EACH(n, p[i_] = p[i_] * AS_D((ki_[i_] + 1023) << 52));                     \
        EACH(n, p[i_] = select(p[i_], (TD)INFINITY, x[i_] > 709.0));               \
        EACH(n, p[i_] = select(p[i_], (TD)0.0, x[i_] < -745.0));                   \
    } while (0)

inline TD wide_exp_v(TD x)
{
    TD xs[1] = {x}, p[1];
    WIDE_EXP_N(1, xs, p);
    return p[0];
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

/* value_v of a sigmoid (A_SIGMOID or A_SIGMOID_SYMMETRIC) on four vectors in
 * place, their exps side by side (WIDE_EXP_N): the same bits as value_v. */
inline void sigmoid4_v(TV *v, int id)
{
    TD x[4], p[4];
    EACH(4, x[i_] = TO_D((TV)-2 * v[i_]));
    WIDE_EXP_N(4, x, p);
    if (id == A_SIGMOID)
        EACH(4, v[i_] = TO_V(1.0 / (1.0 + p[i_])));
    else
        EACH(4, v[i_] = TO_V(2.0 / (1.0 + p[i_]) - 1.0));
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

/* The pieces of an epoch both lane kernels share (built with -DALG ALG_RPROP
 * or ALG_BATCH, -DERRFN 0 or 1). */

/* the update rule's parameters of work-item g's lanes */
#if ALG == ALG_RPROP
#define RULE_PARAMS(hparams)                                                       \
    TV inc = LANES(hparams, HP_RPROP_INC);                                         \
    TV dec = LANES(hparams, HP_RPROP_DEC);                                         \
    TV dmin = LANES(hparams, HP_RPROP_DMIN);                                       \
    TV dmax = LANES(hparams, HP_RPROP_DMAX)
#define RULE_ARGS inc, dec, dmin, dmax
#define RULE_DECL TV inc, TV dec, TV dmin, TV dmax
#else
#define RULE_PARAMS(hparams) TV epsilon = LANES(hparams, HP_EPSILON)
#define RULE_ARGS epsilon
#define RULE_DECL TV epsilon
#endif

/* one connection's step (FANN's RPROP, or batch's w += slope * epsilon): the
 * new weight; *pslope and *pstep (RPROP's state) updated */
inline TV update_v(TV w, TV s, TV *pslope, TV *pstep, RULE_DECL)
{
#if ALG == ALG_RPROP
    TV p = vmax(*pstep, (TV)0.0001f);
    TVI same = s * *pslope >= (TV)0;
    TV step = select(vmax(p * dec, dmin), vmin(p * inc, dmax), same);
    s = select((TV)0, s, same);
    TV down = vmax(w - step, (TV)-1500);
    TV up = vmin(w + step, (TV)1500);
    *pstep = step;
    *pslope = s;
    return select(up, down, s < (TV)0);
#else
    return w + s * epsilon;
#endif
}

/* FANN's output error target - y (halved for a symmetric function) */
inline TV output_error_v(TV target, TV y, int act)
{
    TV e = target - y;
    if (symmetric_id(act))
        e /= (TV)2;
    return e;
}

/* the training error function of an output error (ERRFN 1: FANN's tanh one) */
inline TV train_error_v(TV e)
{
#if ERRFN == 1
    TV r = TO_V((1.0 + TO_D(e)) / (1.0 - TO_D(e)));
    TV f = log(r);
    f = select(f, (TV)17, e > (TV)0.9999999f);
    e = select(f, (TV)-17, e < (TV)-0.9999999f);
#endif
    return e;
}

/* an output error into the SSE and the bit-fail count (a true lane is -1) */
#define COUNT_ERROR(e, sse, bits, bit_limit)                                       \
    do {                                                                           \
        (sse) += (e) * (e);                                                        \
        (bits) -= select((e), -(e), (e) < (TV)0) >= (bit_limit);                   \
    } while (0)


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

