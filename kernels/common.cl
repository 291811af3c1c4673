/* common.cl: number types, the packed network layout and the per-network
 * parameter slots every other kernel file uses.
 *
 * Build options: -DREAL=float or -DREAL=double (the network's dtype), and
 * -DHAVE_DOUBLE when the device has cl_khr_fp64. Where FANN's float build
 * evaluates a libm call in double (exp, log, sin, cos, the stepwise knots)
 * the per-pattern kernels do the same when doubles are available; the
 * vector paths of float networks (the dense layers, cascade's candidates)
 * use activations.cl's float8 forms instead, which agree to rounding.
 *
 * Every kernel has a leading *network* dimension: it computes N networks of
 * the same shape (same layout buffer) at once; weights, activations,
 * steepnesses, parameters and training state are per network.
 */
#ifdef HAVE_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double ACC; /* sums of squared errors, MSE, stop test */
typedef double WIDE; /* what FANN evaluates in double */
#else
typedef float ACC;
typedef float WIDE;
#endif
/* Keep every a*b+c as two roundings, as the C and numpy code do (files
 * that turn contraction on for their vector paths say so). */
#pragma OPENCL FP_CONTRACT OFF

#ifndef REAL
#define REAL float
#endif

/* fann_get_MSE: the float SSE over the float count, correctly rounded as a C
 * float division is. OpenCL lets a float division be off by 2.5 ulp (NVIDIA's
 * is); a double quotient rounded to float is the correctly rounded one. */
inline float fann_mse(float sse, float count)
{
    return (float)((WIDE)sse / (WIDE)count);
}

/* ---- packed layout (one int buffer per network shape) ------------------ */
#define L_T 0          /* neurons in the flat array, bias neurons included */
#define L_W 1          /* connections */
#define L_NIN 2        /* inputs */
#define L_NOUT 3       /* outputs */
#define L_OUT_FIRST 4  /* flat index of the first output neuron */
#define L_NLAYERS 5    /* layers, input layer included */
#define L_FIRST_HIDDEN 6 /* flat index of the first neuron with connections */
#define L_OFF_LAYER 8  /* offset of layer_start[NLAYERS + 1] */
#define L_OFF_FIRST_CON 9
#define L_OFF_NUM_CON 10
#define L_OFF_SRC 11     /* effective source of each connection */
#define L_OFF_UPD_SRC 12 /* source the incremental update reads (sparse quirk) */
#define L_OFF_OWNER 13   /* neuron owning each connection */
#define L_OFF_SRC_FIRST 14 /* per neuron: first source when its sources are consecutive, else -1 */
#define L_OFF_UPD_FIRST 15 /* the same for the incremental update's sources */

/* ---- per-network REAL parameters (host computes them as numpy does) ---- */
#define HP_LR 0
#define HP_MOMENTUM 1
#define HP_BIT_FAIL_LIMIT 2
#define HP_EPSILON 3 /* lr / P in C float (batch, quickprop) */
#define HP_RPROP_INC 4
#define HP_RPROP_DEC 5
#define HP_RPROP_DMIN 6
#define HP_RPROP_DMAX 7
#define HP_QP_DECAY 8
#define HP_QP_MU 9
#define HP_QP_SHRINK 10
#define HP_SP_WDS 11
#define HP_SP_SES 12
#define HP_SP_THRESHOLD 13
#define HP_SP_TEMPERATURE 14
#define HP_COUNT 16

/* ---- per-network int parameters ---------------------------------------- */
#define IP_ALGORITHM 0 /* 0 incremental, 1 batch, 2 rprop, 3 quickprop, 4 sarprop */
#define IP_ERROR_FUNCTION 1 /* 0 linear, 1 tanh */
#define IP_STOP_FUNCTION 2  /* 0 mse, 1 bit */
#define IP_RPROP_VARIANT 3  /* 0 fann, 1 irprop-, 2 irprop+ */
#define IP_COUNT 4

/* ---- per-network run state ---------------------------------------------- */
#define NS_MSE 0        /* MSE of the last epoch */
#define NS_PREV_ERROR 1 /* irprop+: the previous epoch's MSE (NaN: none) */
#define NS_SSE 2
#define NS_COUNT 4

#define IS_SARPROP_EPOCH 0
#define IS_BIT_FAIL 1
#define IS_EPOCHS 2   /* epochs run in this launch sequence */
#define IS_STATUS 3   /* see ST_* */
#define IS_CURSOR 4   /* SARPROP draws consumed */
#define IS_UPDATE 5   /* layered path: run this epoch's update */
#define IS_LIMIT 6    /* layered path: stop after this many epochs */
#define IS_COUNT 8

#define ST_RUNNING 0
#define ST_REACHED 1
#define ST_LIMIT 2
#define ST_NEED_DRAWS 3

#define ALG_INCREMENTAL 0
#define ALG_BATCH 1
#define ALG_RPROP 2
#define ALG_QUICKPROP 3
#define ALG_SARPROP 4

#define WEIGHT_LIMIT ((REAL)1500.0)
