/* activations.cl: FANN's activation functions and training derivatives,
 * value and derivative side by side (ids as in fannctl/activations.py).
 *
 * t is the neuron's stored sum: steepness times the weighted sum, clamped to
 * +-150/steepness. Quirks are FANN's (gaussian and sine derivatives apply the
 * steepness twice) except ReLU, whose derivative is done right, as in numpy.
 */
/* exp for float networks. FANN's float build evaluates exp in double and
 * rounds the activation to float once; a device's double exp is slow on CPUs
 * (about 60 cycles in PoCL), so float networks use this one: range reduction
 * by ln 2 and a degree-11 Taylor polynomial, relative error below 1e-14, far
 * below the final rounding to float. Double networks use the device's exp. */
#if defined(HAVE_DOUBLE)
inline double wide_exp(double x)
{
    if (x > 709.0)
        return INFINITY;
    if (x < -745.0)
        return 0.0;
    /* round to nearest with the 1.5 * 2^52 trick (rint is a library call) */
    double k = (x * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0;
    double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
    double p = 1.0 / 39916800.0;
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
    int ki = (int)k;
    if (ki < -1000) { /* subnormal results: scale in two steps */
        p *= 0x1p-100;
        ki += 100;
    }
    return p * as_double((long)(ki + 1023) << 52);
}
#else
#define wide_exp exp
#endif
#if defined(REAL_IS_DOUBLE) || !defined(HAVE_DOUBLE)
#define LIBM_EXP exp
#define LIBM_LOG log
#else
#define LIBM_EXP wide_exp
#define LIBM_LOG(x) log((float)(x))
#endif

#define A_LINEAR 0
#define A_THRESHOLD 1
#define A_THRESHOLD_SYMMETRIC 2
#define A_SIGMOID 3
#define A_SIGMOID_STEPWISE 4
#define A_SIGMOID_SYMMETRIC 5
#define A_SIGMOID_SYMMETRIC_STEPWISE 6
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

/* FANN 2.2 halves the output error of these before the MSE. */
inline int is_symmetric(int id)
{
    return id == A_LINEAR_PIECE_SYMMETRIC || id == A_THRESHOLD_SYMMETRIC ||
           id == A_SIGMOID_SYMMETRIC || id == A_SIGMOID_SYMMETRIC_STEPWISE ||
           id == A_ELLIOT_SYMMETRIC || id == A_GAUSSIAN_SYMMETRIC ||
           id == A_SIN_SYMMETRIC || id == A_COS_SYMMETRIC;
}

/* The stepwise knots and levels as FANN's float build stores them. */
inline REAL stepwise(REAL t, int sigmoid)
{
    WIDE v[6];
    WIDE r[6];
    v[0] = sigmoid ? -2.64665246009826660156 : -2.64665293693542480469;
    v[1] = sigmoid ? -1.47221946716308593750 : -1.47221934795379638672;
    v[2] = -0.549306154251098632812;
    v[3] = 0.549306154251098632812;
    v[4] = 1.47221934795379638672;
    v[5] = 2.64665293693542480469;
    if (sigmoid) {
        r[0] = 4.99999988824129104614e-3;
        r[1] = 5.00000007450580596924e-2;
        r[2] = 0.25;
        r[3] = 0.75;
        r[4] = 9.49999988079071044922e-1;
        r[5] = 9.95000004768371582031e-1;
    } else {
        r[0] = -9.90000009536743164062e-1;
        r[1] = -8.99999976158142089844e-1;
        r[2] = -0.5;
        r[3] = 0.5;
        r[4] = 8.99999976158142089844e-1;
        r[5] = 9.90000009536743164062e-1;
    }
    WIDE x = (WIDE)t;
    if (x < v[0])
        return sigmoid ? (REAL)0 : (REAL)-1;
    if (x >= v[5])
        return (REAL)1;
    int k = 0;
    while (k < 4 && x >= v[k + 1])
        k++;
    return (REAL)(((r[k + 1] - r[k]) * (x - v[k])) / (v[k + 1] - v[k]) + r[k]);
}

inline REAL activation_value(int id, REAL t)
{
    switch (id) {
    case A_LINEAR:
        return t;
    case A_THRESHOLD:
        return t < (REAL)0 ? (REAL)0 : (REAL)1;
    case A_THRESHOLD_SYMMETRIC:
        return t < (REAL)0 ? (REAL)-1 : (REAL)1;
    case A_SIGMOID:
        return (REAL)((WIDE)1 / ((WIDE)1 + LIBM_EXP((WIDE)((REAL)-2 * t))));
    case A_SIGMOID_STEPWISE:
        return stepwise(t, 1);
    case A_SIGMOID_SYMMETRIC:
        return (REAL)((WIDE)2 / ((WIDE)1 + LIBM_EXP((WIDE)((REAL)-2 * t))) - (WIDE)1);
    case A_SIGMOID_SYMMETRIC_STEPWISE:
        return stepwise(t, 0);
    case A_GAUSSIAN:
        return (REAL)LIBM_EXP((WIDE)(-t * t));
    case A_GAUSSIAN_SYMMETRIC:
        return (REAL)(LIBM_EXP((WIDE)(-t * t)) * (WIDE)2 - (WIDE)1);
    case A_ELLIOT:
        return (t / (REAL)2) / ((REAL)1 + fabs(t)) + (REAL)0.5;
    case A_ELLIOT_SYMMETRIC:
        return t / ((REAL)1 + fabs(t));
    case A_LINEAR_PIECE:
        return t < (REAL)0 ? (REAL)0 : (t > (REAL)1 ? (REAL)1 : t);
    case A_LINEAR_PIECE_SYMMETRIC:
        return t < (REAL)-1 ? (REAL)-1 : (t > (REAL)1 ? (REAL)1 : t);
    case A_SIN_SYMMETRIC:
        return (REAL)sin((WIDE)t);
    case A_COS_SYMMETRIC:
        return (REAL)cos((WIDE)t);
    case A_SIN:
        return (REAL)(sin((WIDE)t) / (WIDE)2 + (WIDE)0.5);
    case A_COS:
        return (REAL)(cos((WIDE)t) / (WIDE)2 + (WIDE)0.5);
    case A_RELU:
        return t > (REAL)0 ? t : (REAL)0;
    case A_LEAKY_RELU:
        return t < (REAL)0 ? (REAL)0.01 * t : t;
    default: /* GAUSSIAN_STEPWISE: not implemented in FANN, outputs 0 */
        return (REAL)0;
    }
}

inline REAL activation_derivative(int id, REAL s, REAL y, REAL t)
{
    REAL c;
    switch (id) {
    case A_LINEAR:
    case A_LINEAR_PIECE:
    case A_LINEAR_PIECE_SYMMETRIC:
        return s;
    case A_SIGMOID:
    case A_SIGMOID_STEPWISE:
        c = clamp(y, (REAL)0.01f, (REAL)0.99f);
        return (REAL)2 * s * c * ((REAL)1 - c);
    case A_SIGMOID_SYMMETRIC:
    case A_SIGMOID_SYMMETRIC_STEPWISE:
        c = clamp(y, (REAL)-0.98f, (REAL)0.98f);
        return s * ((REAL)1 - c * c);
    case A_GAUSSIAN:
        return (REAL)-2 * t * y * s * s;
    case A_GAUSSIAN_SYMMETRIC:
        return (REAL)-2 * t * (y + (REAL)1) * s * s;
    case A_ELLIOT:
        return s * (REAL)1 / ((REAL)2 * ((REAL)1 + fabs(t)) * ((REAL)1 + fabs(t)));
    case A_ELLIOT_SYMMETRIC:
        return s * (REAL)1 / (((REAL)1 + fabs(t)) * ((REAL)1 + fabs(t)));
    case A_SIN_SYMMETRIC:
        return (REAL)((WIDE)s * cos((WIDE)(s * t)));
    case A_COS_SYMMETRIC:
        return (REAL)((WIDE)(-s) * sin((WIDE)(s * t)));
    case A_SIN:
        return (REAL)((WIDE)s * cos((WIDE)(s * t)) / (WIDE)2);
    case A_COS:
        return (REAL)((WIDE)(-s) * sin((WIDE)(s * t)) / (WIDE)2);
    case A_RELU:
        return t > (REAL)0 ? s : (REAL)0;
    case A_LEAKY_RELU:
        return t < (REAL)0 ? (REAL)0.01 * s : s;
    default: /* THRESHOLD (refused before training), THRESHOLD_SYMMETRIC, GAUSSIAN_STEPWISE */
        return (REAL)0;
    }
}


/* ---- eight floats at a time ----------------------------------------------
 * The vector forms of the functions above, for float networks: the dense
 * path's forward pass and cascade's candidate kernel compute through them.
 * In float, not FANN's double: exp, sin, cos and log are written out here
 * (1-2 float ulps, as numpy's own float32 functions) because PoCL's vector
 * builtins are calls that do not inline, and its clamp and fabs too.
 * Contraction to fused multiply-adds is on here (numpy rounds every step):
 * these agree with numpy's float32 results to rounding, not bit for bit. */
#pragma OPENCL FP_CONTRACT ON
typedef float8 V;
typedef int8 VI;
#define VABS(x) as_float8(as_int8(x) & (VI)0x7fffffff)
/* clamp that keeps NaN, as np.clip does */
#define VCLAMP(x, lo, hi) ((x) < (V)(lo) ? (V)(lo) : ((x) > (V)(hi) ? (V)(hi) : (x)))
/* the eight lanes' sum, pairwise */
#define HSUM8(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))

/* exp: k = round(x / ln 2) by the 1.5 x 2^23 trick, r = x - k ln 2 in two
 * parts, a degree-6 polynomial, times 2^k in two halves (k reaches 128 just
 * below the largest float's log); 0 below -87.34, inf above 88.72. */
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
    VI k1 = convert_int8(k) >> 1;
    VI k2 = convert_int8(k) - k1;
    V y = p * as_float8((k1 + 127) << 23) * as_float8((k2 + 127) << 23);
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

/* Natural log of positive floats (frexp by bits, then a degree-9 polynomial
 * on the mantissa around 1, as in Cephes' logf); NaN stays NaN. */
inline V vlog(V x)
{
    int8 bits = as_int8(x);
    float8 e = convert_float8(((bits >> 23) & 0xff) - 126);
    float8 m = as_float8((bits & (int8)0x807fffff) | (int8)0x3f000000); /* [0.5, 1) */
    int8 small = m < (float8)0.707106781186547524f;
    e = small ? e - 1.0f : e;
    m = small ? m + m - 1.0f : m - 1.0f;
    float8 z = m * m;
    float8 y = (float8)7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y = y + e * -2.12194440e-4f;
    y = y - 0.5f * z;
    float8 r = m + y + e * 0.693359375f;
    return x != x ? x : r;
}

/* Whether value_and_unscaled_derivative8 knows the function (all but the
 * stepwise sigmoids, whose knots are evaluated in double, lane by lane). */
inline int has_vector_form(int id)
{
    return id != A_SIGMOID_STEPWISE && id != A_SIGMOID_SYMMETRIC_STEPWISE;
}

/* The value a of t, and FANN's derivative d at the unscaled sum t / s (what
 * cascade's candidates use), the formulas and their order as in
 * activations.value_into and activations.derivative_at_unscaled_into. */
inline void value_and_unscaled_derivative8(int id, float s, V t, V *a, V *d)
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

/* The value alone (the derivative's work is dropped once inlined). */
inline V value8(int id, V t)
{
    V a, d;
    value_and_unscaled_derivative8(id, 1.0f, t, &a, &d);
    return a;
}
#pragma OPENCL FP_CONTRACT OFF

/* FANN's training error function: 0 linear (e), 1 tanh (a log, clipped to +-17). */
inline REAL error_function(REAL e, int which)
{
    if (which == 0)
        return e;
    if (e < (REAL)-0.9999999)
        return (REAL)-17;
    if (e > (REAL)0.9999999)
        return (REAL)17;
    return (REAL)LIBM_LOG(((WIDE)1 + (WIDE)e) / ((WIDE)1 - (WIDE)e)); /* all in double, as FANN */
}
