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
