/* fann_bench: time libfann's training loop on a network file and a data file.
 *
 * Usage: fann_bench NET_FILE DATA_FILE EPOCHS [ALGORITHM [MOMENTUM]]
 *
 * Loads the starting network (written by fannctl) with fann_create_from_file,
 * optionally overrides the training algorithm (0..4) and momentum, measures
 * the MSE of the untouched net with fann_test_data, then times only the loop
 * of EPOCHS fann_train_epoch calls with clock_gettime: CLOCK_MONOTONIC (wall) and
 * CLOCK_PROCESS_CPUTIME_ID (CPU time, robust when other processes share the cores).
 * Prints one line of key=value pairs for bench/train_speed.py to parse; with
 * FANN_BENCH_TRACE set in the environment it first prints every epoch's MSE
 * (kept in memory during the timed loop, printed after it).
 * Built at run time: gcc -O2 fann_bench.c -o fann_bench -lfann -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <fann.h>

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    struct fann *ann;
    struct fann_train_data *data;
    unsigned int epochs, i;
    float mse = 0.0f, first_mse = 0.0f, initial_mse;
    float *trace;
    double start, cpu_start, seconds, cpu_seconds;

    if (argc < 4) {
        fprintf(stderr, "usage: %s NET_FILE DATA_FILE EPOCHS [ALGORITHM [MOMENTUM]]\n", argv[0]);
        return 2;
    }
    ann = fann_create_from_file(argv[1]);
    if (ann == NULL)
        return 1;
    data = fann_read_train_from_file(argv[2]);
    if (data == NULL)
        return 1;
    epochs = (unsigned int)strtoul(argv[3], NULL, 10);
    if (argc > 4)
        fann_set_training_algorithm(ann, (enum fann_train_enum)atoi(argv[4]));
    if (argc > 5)
        fann_set_learning_momentum(ann, (float)atof(argv[5]));

    trace = calloc(epochs + 1, sizeof(float));
    if (trace == NULL)
        return 1;
    initial_mse = fann_test_data(ann, data);
    start = now(CLOCK_MONOTONIC);
    cpu_start = now(CLOCK_PROCESS_CPUTIME_ID);
    for (i = 0; i < epochs; i++) {
        mse = fann_train_epoch(ann, data);
        trace[i] = mse;
    }
    seconds = now(CLOCK_MONOTONIC) - start;
    cpu_seconds = now(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    first_mse = epochs > 0 ? trace[0] : 0.0f;
    if (getenv("FANN_BENCH_TRACE") != NULL) {
        printf("trace=");
        for (i = 0; i < epochs; i++)
            printf("%.9g%s", trace[i], i + 1 < epochs ? "," : "\n");
    }
    free(trace);
    printf("epochs=%u seconds=%.9f epochs_per_s=%.6f cpu_seconds=%.9f epochs_per_cpu_s=%.6f "
           "initial_mse=%.9g first_mse=%.9g final_mse=%.9g bit_fail=%u\n",
           epochs, seconds, seconds > 0 ? epochs / seconds : 0.0, cpu_seconds,
           cpu_seconds > 0 ? epochs / cpu_seconds : 0.0, initial_mse, first_mse, mse,
           fann_get_bit_fail(ann));
    fann_destroy_train(data);
    fann_destroy(ann);
    return 0;
}
