/* candidates.cl: the elementwise part of a cascade candidate epoch, fused.
 *
 * cascade.py computes every candidate's scaled sums t = s x sum (candidates x
 * patterns) with one matrix product; this kernel then does, in one pass over
 * that block, what numpy needs a dozen passes for: clamp t to +-150 (FANN's
 * clamp of the sum to +-150/s), the candidate's activation value a and FANN's
 * derivative d at the unscaled sum, and per pattern, as FANN's
 * fann_update_candidate_slopes does,
 *     diff_o = a v_o - e_o,  err = sum_o diff_o v_o,
 *     score  += sum_o diff_o^2,  outslope_o += diff_o a,
 * writing err x d back over t (the input slopes are then one more product).
 *
 * Float networks only (float32, FANN's float build). One work-item per
 * candidate, eight patterns at a time: this is a CPU-shaped kernel (PoCL runs
 * a work-item's loop on one core with 8-wide vectors); exp, sin and cos are
 * written out here because the device library's are calls that do not
 * inline. Their error is 1-2 float ulps, as numpy's own float32 exp and sin.
 *
 * Build options: -DOUTPUTS=O (the network's outputs, at most 16).
 * Activation ids as in fannctl/activations.py; the stepwise sigmoids are not
 * here (cascade.py keeps such pools on numpy).
 */

typedef float8 V;
typedef int8 VI;
/* rows need not start on a 32-byte boundary: unaligned 8-wide access */
typedef float8 __attribute__((aligned(4))) VU;
#define LANES 8
#define VLOAD(p, i) (((const global VU *)(p))[i])
#define VSTORE(p, i, x) (((global VU *)(p))[i] = (x))
#define VABS(x) as_float8(as_int8(x) & (VI)0x7fffffff)
/* clamp that keeps NaN, as np.clip does (the builtins are calls here) */
#define VCLAMP(x, lo, hi) ((x) < (V)(lo) ? (V)(lo) : ((x) > (V)(hi) ? (V)(hi) : (x)))

/* exp: k = round(x / ln 2) by the 1.5 x 2^23 trick, r = x - k ln 2 in two
 * parts, a degree-6 polynomial, times 2^k; 0 below -87.34, inf above 88.72. */
inline V vexp(V x)
{
    V k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    V r = x - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    V p = (V)1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    V y = p * as_float8((convert_int8(k) + 127) << 23);
    y = x < (V)-87.33654f ? (V)0.0f : y;
    return x > (V)88.72283f ? (V)INFINITY : y;
}

/* sin and cos (|x| <= 8192; cascade's t is clamped to +-150): q = round(x /
 * (pi/2)), z = x - q pi/2 in three parts, the two polynomials on z, chosen and
 * signed by q's quadrant. */
inline void vsincos(V x, V *sine, V *cosine)
{
    V q = (x * 0.636619772367581343f + 12582912.0f) - 12582912.0f;
    V z = x - q * 1.5703125f;
    z = z - q * 4.837512969970703125e-4f;
    z = z - q * 7.54978995489188216e-8f;
    V zz = z * z;
    V ps = ((-1.9515295891e-4f * zz + 8.3321608736e-3f) * zz - 1.6666654611e-1f) * zz * z + z;
    V pc = ((2.443315711809948e-5f * zz - 1.388731625493765e-3f) * zz +
            4.166664568298827e-2f) * zz * zz - 0.5f * zz + 1.0f;
    VI n = convert_int8(q);
    VI odd = (n & 1) != 0;
    V s = odd ? pc : ps;
    V c = odd ? ps : pc;
    *sine = as_float8(as_int8(s) ^ ((n & 2) << 30));
    *cosine = as_float8(as_int8(c) ^ (((n + 1) & 2) << 30));
}

#define A_LINEAR 0
#define A_THRESHOLD 1
#define A_THRESHOLD_SYMMETRIC 2
#define A_SIGMOID 3
#define A_SIGMOID_SYMMETRIC 5
#define A_GAUSSIAN 7
#define A_GAUSSIAN_SYMMETRIC 8
#define A_GAUSSIAN_STEPWISE 9
#define A_ELLIOT 10
#define A_ELLIOT_SYMMETRIC 11
#define A_LINEAR_PIECE 12
#define A_LINEAR_PIECE_SYMMETRIC 13
#define A_SIN_SYMMETRIC 14
#define A_COS_SYMMETRIC 15
#define A_SIN 16
#define A_COS 17
#define A_RELU 18
#define A_LEAKY_RELU 19

/* The value a of t, and FANN's derivative d at the unscaled sum t / s, in
 * the operation order of activations.value_into and
 * activations.derivative_at_unscaled_into. */
inline void value_and_derivative(int id, float s, V t, V *a, V *d)
{
    V y, c, u, sn, cs;
    switch (id) {
    case A_SIGMOID:
        y = (V)1.0f / (vexp(t * -2.0f) + 1.0f);
        c = VCLAMP(y, 0.01f, 0.99f);
        *a = y;
        *d = ((V)s * c) * 2.0f * ((V)1.0f - c);
        return;
    case A_SIGMOID_SYMMETRIC:
        y = (V)2.0f / (vexp(t * -2.0f) + 1.0f) - 1.0f;
        c = VCLAMP(y, -0.98f, 0.98f);
        *a = y;
        *d = (V)s * ((V)1.0f - c * c);
        return;
    case A_GAUSSIAN:
        y = vexp(-t * t);
        *a = y;
        *d = t * -2.0f * y * s;
        return;
    case A_GAUSSIAN_SYMMETRIC:
        y = vexp(-t * t) * 2.0f - 1.0f;
        *a = y;
        *d = t * -2.0f * (y + 1.0f) * s;
        return;
    case A_ELLIOT:
        *a = (t / 2.0f) / (VABS(t) + 1.0f) + 0.5f;
        u = s == 0.0f ? (V)1.0f : VABS(t / s) + 1.0f;
        *d = (V)s / (u * 2.0f * u);
        return;
    case A_ELLIOT_SYMMETRIC:
        *a = t / (VABS(t) + 1.0f);
        u = s == 0.0f ? (V)1.0f : VABS(t / s) + 1.0f;
        *d = (V)s / (u * u);
        return;
    case A_SIN_SYMMETRIC:
        vsincos(t, &sn, &cs);
        *a = sn;
        *d = (V)s * cs;
        return;
    case A_COS_SYMMETRIC:
        vsincos(t, &sn, &cs);
        *a = cs;
        *d = -((V)s * sn);
        return;
    case A_SIN:
        vsincos(t, &sn, &cs);
        *a = sn / 2.0f + 0.5f;
        *d = ((V)s * cs) / 2.0f;
        return;
    case A_COS:
        vsincos(t, &sn, &cs);
        *a = cs / 2.0f + 0.5f;
        *d = -((V)s * sn) / 2.0f;
        return;
    case A_LINEAR:
        *a = t;
        *d = (V)s;
        return;
    case A_LINEAR_PIECE:
        *a = VCLAMP(t, 0.0f, 1.0f);
        *d = (V)s;
        return;
    case A_LINEAR_PIECE_SYMMETRIC:
        *a = VCLAMP(t, -1.0f, 1.0f);
        *d = (V)s;
        return;
    case A_THRESHOLD:
        *a = t < (V)0.0f ? (V)0.0f : (V)1.0f;
        *d = (V)0.0f;
        return;
    case A_THRESHOLD_SYMMETRIC:
        *a = t < (V)0.0f ? (V)-1.0f : (V)1.0f;
        *d = (V)0.0f;
        return;
    case A_RELU: /* the unscaled sum has t's sign (s > 0; s = 0 gives 0 s) */
        u = s == 0.0f ? (V)0.0f : t / s;
        *a = t > (V)0.0f ? t : (t != t ? t : (V)0.0f);
        *d = u > (V)0.0f ? (V)s : (V)(0.0f * s);
        return;
    case A_LEAKY_RELU:
        u = s == 0.0f ? (V)0.0f : t / s;
        *a = t >= (V)0.0f ? t : t * 0.01f;
        *d = u < (V)0.0f ? (V)(0.01f * s) : (V)s;
        return;
    default: /* GAUSSIAN_STEPWISE: FANN never implemented it, 0 */
        *a = (V)0.0f;
        *d = (V)0.0f;
        return;
    }
}

/* One group of eight patterns at vector index i of the row; a's lanes past
 * the patterns are zeroed (MASK) so they add nothing. */
#define STEP(ID, T, E_AT, STORE, MASK)                                             \
    {                                                                              \
        V tt = VCLAMP(T, -150.0f, 150.0f);                                         \
        V a, d;                                                                    \
        value_and_derivative(ID, s, tt, &a, &d);                                   \
        MASK;                                                                      \
        V err = (V)0.0f;                                                           \
        _Pragma("unroll") for (int o = 0; o < OUTPUTS; o++)                       \
        {                                                                          \
            V diff = a * v[o] - E_AT(o);                                           \
            slope[o] += diff * a;                                                  \
            err += diff * v[o];                                                    \
            sq += diff * diff;                                                     \
        }                                                                          \
        STORE(err * d);                                                            \
    }

#define FULL_E(o) VLOAD(e + (size_t)(o) * P, i)
#define FULL_STORE(x) VSTORE(row, i, x)
#define TAIL_E(o) tail_e[o]
#define TAIL_STORE(x) (tail_out = (x))
#define NO_MASK
#define TAIL_MASK a = lane < tail ? a : (V)0.0f

/* The whole row for one function: full vectors, then the tail (P % 8
 * patterns, read and written lane by lane so nothing past the row is touched). */
#define ROW(ID)                                                                    \
    for (int i = 0; i < full; i++)                                                 \
        STEP(ID, VLOAD(row, i), FULL_E, FULL_STORE, NO_MASK)                       \
    if (tail) {                                                                    \
        STEP(ID, tail_t, TAIL_E, TAIL_STORE, TAIL_MASK)                            \
        for (int j = 0; j < tail; j++)                                             \
            row[full * LANES + j] = ((float *)&tail_out)[j];                       \
    }                                                                              \
    break;

/* t: (C, P) scaled sums, overwritten with err x d; e: (OUTPUTS, P) output
 * errors; weights: (C, OUTPUTS) output weights; result: (C, 1 + OUTPUTS)
 * sum of squared diffs, then 2 sum_p diff_o a per output. */
kernel void candidate_errors(int C, int P, global float *t, const global int *ids,
                             const global float *steepness, const global float *e,
                             const global float *weights, global float *result)
{
    int c = get_global_id(0);
    if (c >= C)
        return;
    int id = ids[c];
    float s = steepness[c];
    global float *row = t + (size_t)c * P;
    int full = P / LANES, tail = P % LANES;
    float v[OUTPUTS];
    V slope[OUTPUTS];
    for (int o = 0; o < OUTPUTS; o++) {
        v[o] = weights[c * OUTPUTS + o];
        slope[o] = (V)0.0f;
    }
    V sq = (V)0.0f;
    VI lane = (VI)(0, 1, 2, 3, 4, 5, 6, 7);
    V tail_t = (V)0.0f, tail_out;
    V tail_e[OUTPUTS];
    for (int o = 0; o < OUTPUTS; o++)
        tail_e[o] = (V)0.0f;
    for (int j = 0; j < tail; j++) {
        ((float *)&tail_t)[j] = row[full * LANES + j];
        for (int o = 0; o < OUTPUTS; o++)
            ((float *)&tail_e[o])[j] = e[(size_t)o * P + full * LANES + j];
    }
    switch (id) {
    case A_SIGMOID: ROW(A_SIGMOID)
    case A_SIGMOID_SYMMETRIC: ROW(A_SIGMOID_SYMMETRIC)
    case A_GAUSSIAN: ROW(A_GAUSSIAN)
    case A_GAUSSIAN_SYMMETRIC: ROW(A_GAUSSIAN_SYMMETRIC)
    case A_ELLIOT: ROW(A_ELLIOT)
    case A_ELLIOT_SYMMETRIC: ROW(A_ELLIOT_SYMMETRIC)
    case A_SIN_SYMMETRIC: ROW(A_SIN_SYMMETRIC)
    case A_COS_SYMMETRIC: ROW(A_COS_SYMMETRIC)
    case A_SIN: ROW(A_SIN)
    case A_COS: ROW(A_COS)
    default: ROW(id)
    }
    global float *out = result + (size_t)c * (1 + OUTPUTS);
    out[0] = ((sq.s0 + sq.s1) + (sq.s2 + sq.s3)) + ((sq.s4 + sq.s5) + (sq.s6 + sq.s7));
    for (int o = 0; o < OUTPUTS; o++) {
        V q = slope[o];
        out[1 + o] = 2.0f * (((q.s0 + q.s1) + (q.s2 + q.s3)) + ((q.s4 + q.s5) + (q.s6 + q.s7)));
    }
}
