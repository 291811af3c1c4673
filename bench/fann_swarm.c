/* fann_swarm: libfann's answer to a swarm, a loop over N separate networks.
 *
 * Usage: fann_swarm DATA_FILE AGENTS EPOCHS HIDDEN
 *
 * Creates AGENTS networks (inputs-HIDDEN-outputs, sigmoid_symmetric, RPROP,
 * seeded with srand(agent)) and trains each for EPOCHS fann_train_epoch calls
 * on DATA_FILE, one after the other: what a user of libfann writes to train
 * a population. Times the whole loop (creation included) with CLOCK_MONOTONIC
 * and prints one line of key=value pairs for bench/swarm_speed.py.
 * Built at run time: gcc -O2 fann_swarm.c -o fann_swarm -lfann -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <fann.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    struct fann_train_data *data;
    unsigned int agents, epochs, hidden, agent, i;
    double start, seconds, total_mse = 0.0;

    if (argc < 5) {
        fprintf(stderr, "usage: %s DATA_FILE AGENTS EPOCHS HIDDEN\n", argv[0]);
        return 2;
    }
    data = fann_read_train_from_file(argv[1]);
    if (data == NULL)
        return 1;
    agents = (unsigned int)strtoul(argv[2], NULL, 10);
    epochs = (unsigned int)strtoul(argv[3], NULL, 10);
    hidden = (unsigned int)strtoul(argv[4], NULL, 10);
    start = now();
    for (agent = 0; agent < agents; agent++) {
        struct fann *ann;
        float mse = 0.0f;
        srand(agent);
        ann = fann_create_standard(3, fann_num_input_train_data(data), hidden,
                                   fann_num_output_train_data(data));
        fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
        fann_set_activation_function_output(ann, FANN_SIGMOID_SYMMETRIC);
        fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
        for (i = 0; i < epochs; i++)
            mse = fann_train_epoch(ann, data);
        total_mse += mse;
        fann_destroy(ann);
    }
    seconds = now() - start;
    printf("agents=%u epochs=%u seconds=%.6f mean_mse=%.9g\n", agents, epochs, seconds,
           total_mse / agents);
    fann_destroy_train(data);
    return 0;
}
