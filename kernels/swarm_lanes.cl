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

/* value_v of a sigmoid (id A_SIGMOID or A_SIGMOID_SYMMETRIC) on four vectors
 * in place, each step of wide_exp_v taken on all four before the next. The
 * exp is a chain of ~25 dependent multiplies and adds (the compiler does not
 * fuse them), so one chain at a time leaves the core waiting on latency; four
 * side by side (eight double vectors) keep its pipes busy. Per lane the same
 * operations in the same order as value_v: the same bits. */
#define EACH4(stmt)                                                                \
    do {                                                                           \
        PRAGMA_UNROLL                                                              \
        for (int i_ = 0; i_ < 4; i_++) {                                           \
            stmt;                                                                  \
        }                                                                          \
    } while (0)

inline void sigmoid4_v(TV *v, int id)
{
    TD x[4], k[4], r[4], p[4];
    TDL ki[4];
    EACH4(x[i_] = TO_D((TV)-2 * v[i_]));
    EACH4(k[i_] = (x[i_] * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0);
    EACH4(r[i_] = (x[i_] - k[i_] * 6.93147180369123816490e-01) -
                  k[i_] * 1.90821492927058770002e-10);
    EACH4(p[i_] = (TD)(1.0 / 39916800.0));
    EACH4(p[i_] = p[i_] * r[i_] + 1.0 / 3628800.0);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0 / 362880.0);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0 / 40320.0);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0 / 5040.0);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0 / 720.0);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0 / 120.0);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0 / 24.0);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0 / 6.0);
    EACH4(p[i_] = p[i_] * r[i_] + 0.5);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0);
    EACH4(p[i_] = p[i_] * r[i_] + 1.0);
    EACH4(ki[i_] = TO_DL(k[i_]));
    EACH4(TDL sub = ki[i_] < -1000; p[i_] = select(p[i_], p[i_] * 0x1p-100, sub);
          ki[i_] = select(ki[i_], ki[i_] + 100, sub));
    EACH4(p[i_] = p[i_] * AS_D((ki[i_] + 1023) << 52));
    EACH4(p[i_] = select(p[i_], (TD)INFINITY, x[i_] > 709.0));
    EACH4(p[i_] = select(p[i_], (TD)0.0, x[i_] < -745.0));
    if (id == A_SIGMOID)
        EACH4(v[i_] = TO_V(1.0 / (1.0 + p[i_])));
    else
        EACH4(v[i_] = TO_V(2.0 / (1.0 + p[i_]) - 1.0));
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

