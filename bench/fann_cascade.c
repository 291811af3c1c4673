/* fann_cascade: time libfann's cascade training on a network file and a data file.
 *
 * Usage: fann_cascade NET_FILE DATA_FILE MAX_NEURONS DESIRED_ERROR SEED [OUT_NET [TEST_FILE]]
 *
 * Loads the starting shortcut network (written by fannctl, every cascade and
 * training parameter in it) with fann_create_from_file, seeds the C library's
 * rand() with SEED (the only random numbers cascade training uses: candidate
 * weights, SARPROP's noise), then times only fann_cascadetrain_on_data (no
 * reports) with clock_gettime(CLOCK_MONOTONIC). Afterwards it measures the
 * grown net with fann_test_data and prints one line of key=value pairs for
 * bench/cascade_speed.py to parse; with OUT_NET it also saves the grown net.
 * A callback at every neuron (a report point, nothing printed) keeps FANN's
 * running epoch count, printed as epochs= (the epochs up to the last output
 * phase of the loop, before FANN's final output training).
 * Built at run time: gcc -O2 fann_cascade.c -o fann_cascade -ldoublefann -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <doublefann.h>

static unsigned int total_epochs;

static int FANN_API note_epochs(struct fann *ann, struct fann_train_data *train,
                                unsigned int max_epochs, unsigned int epochs_between_reports,
                                float desired_error, unsigned int epochs)
{
    (void)ann, (void)train, (void)max_epochs, (void)epochs_between_reports, (void)desired_error;
    total_epochs = epochs;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    struct fann *ann;
    struct fann_train_data *data, *test = NULL;
    unsigned int max_neurons, start_neurons, neurons, last_bit_fail, bit_fail, test_bit_fail = 0;
    float desired_error, last_mse, mse, test_mse = 0.0f;
    double start, seconds;

    if (argc < 6) {
        fprintf(stderr, "usage: %s NET_FILE DATA_FILE MAX_NEURONS DESIRED_ERROR SEED "
                        "[OUT_NET [TEST_FILE]]\n", argv[0]);
        return 2;
    }
    ann = fann_create_from_file(argv[1]);
    if (ann == NULL)
        return 1;
    data = fann_read_train_from_file(argv[2]);
    if (data == NULL)
        return 1;
    max_neurons = (unsigned int)strtoul(argv[3], NULL, 10);
    desired_error = (float)atof(argv[4]);
    start_neurons = fann_get_total_neurons(ann);

    fann_set_callback(ann, note_epochs);
    srand((unsigned int)strtoul(argv[5], NULL, 10));
    start = now();
    fann_cascadetrain_on_data(ann, data, max_neurons, 1, desired_error);
    seconds = now() - start;
    if (fann_get_errno((struct fann_error *)ann)) {
        fprintf(stderr, "fann_cascadetrain_on_data: %s\n",
                fann_get_errstr((struct fann_error *)ann));
        return 1;
    }

    /* the MSE and bit fail of the last output epoch, as the cascade reports them;
     * mse/bit_fail: the grown net tested on the training data afterwards */
    last_mse = fann_get_MSE(ann);
    last_bit_fail = fann_get_bit_fail(ann);
    neurons = fann_get_total_neurons(ann) - start_neurons;
    mse = fann_test_data(ann, data);
    bit_fail = fann_get_bit_fail(ann);
    if (argc > 7) {
        test = fann_read_train_from_file(argv[7]);
        if (test == NULL)
            return 1;
        test_mse = fann_test_data(ann, test);
        test_bit_fail = fann_get_bit_fail(ann);
    }
    if (argc > 6 && fann_save(ann, argv[6]) != 0)
        return 1;
    printf("seconds=%.6f neurons=%u last_mse=%.9g last_bit_fail=%u mse=%.9g bit_fail=%u "
           "test_mse=%.9g test_bit_fail=%u epochs=%u\n",
           seconds, neurons, last_mse, last_bit_fail, mse, bit_fail, test_mse, test_bit_fail,
           total_epochs);
    if (test != NULL)
        fann_destroy_train(test);
    fann_destroy_train(data);
    fann_destroy(ann);
    return 0;
}
