/* Loads a .wpk model twice (from its path and from memory), predicts one input and a batch of three, and
 * exercises the error paths. Usage: wolfpack-example MODEL.wpk. Prints one line "output b: v0 v1 ..." per
 * batch sample, then "ok". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wolfpack.h"

#define CHECK(call)                                                                      \
    do {                                                                                 \
        int32_t status_ = (call);                                                        \
        if (status_ != WOLFPACK_OK) {                                                    \
            fprintf(stderr, "%s failed (%d): %s\n", #call, status_, wolfpack_last_error()); \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.wpk\n", argv[0]);
        return 2;
    }
    wolfpack_model *model = NULL, *copy = NULL;
    CHECK(wolfpack_open(argv[1], &model));
    size_t p = wolfpack_input_size(model), q = wolfpack_output_size(model);

    size_t len = 0;
    unsigned char *bytes = read_file(argv[1], &len);
    if (!bytes) return 1;
    CHECK(wolfpack_open_memory(bytes, len, &copy));
    free(bytes); /* the handle owns its copy */

    enum { BATCH = 3 };
    float *inputs = malloc(sizeof(float) * p * BATCH), *outputs = malloc(sizeof(float) * q * BATCH);
    float *single = malloc(sizeof(float) * q);
    for (size_t i = 0; i < p * BATCH; i++) inputs[i] = (float)((int)(i % 7) - 3) * 0.25f;

    wolfpack_stats stats;
    CHECK(wolfpack_predict_batch(model, inputs, p * BATCH, BATCH, outputs, q * BATCH, &stats));
    for (size_t b = 0; b < BATCH; b++) {
        CHECK(wolfpack_predict(copy, inputs + b * p, p, single, q, NULL));
        printf("output %zu:", b);
        for (size_t j = 0; j < q; j++) {
            /* The batch kernels sum in another order and the batch stops when its slowest sample converges:
             * equal up to the solver tolerance, not bit for bit. */
            float diff = single[j] - outputs[b * q + j];
            if (diff > 1e-4f || diff < -1e-4f) {
                fprintf(stderr, "single and batch predictions differ: %g vs %g\n", single[j], outputs[b * q + j]);
                return 1;
            }
            printf(" %.9g", single[j]);
        }
        printf("\n");
    }
    printf("iterations %u residual %g\n", stats.iterations, stats.residual);

    /* Solver overrides: Picard to a tighter tolerance, at most 200 iterations. */
    wolfpack_options options = {1e-7f, 200, WOLFPACK_METHOD_PICARD, 0};
    CHECK(wolfpack_predict_batch_with(model, inputs, p * BATCH, BATCH, outputs, q * BATCH, &options, &stats));
    if (stats.residual > 1e-7f) return 1;
    options.method = 42; /* unknown: an argument error */
    if (wolfpack_predict_batch_with(model, inputs, p, 1, single, q, &options, NULL) != WOLFPACK_ERR_ARGUMENT) return 1;

    /* Errors are codes with a message, never crashes. */
    if (wolfpack_predict(model, inputs, p + 1, single, q, NULL) != WOLFPACK_ERR_ARGUMENT) return 1;
    if (strstr(wolfpack_last_error(), "inputs") == NULL) return 1;
    if (wolfpack_predict(NULL, inputs, p, single, q, NULL) != WOLFPACK_ERR_HANDLE) return 1;
    wolfpack_model *bad = NULL;
    if (wolfpack_open_memory((const uint8_t *)"garbage", 7, &bad) != WOLFPACK_ERR_FORMAT || bad != NULL) return 1;
    if (wolfpack_open("/nonexistent.wpk", &bad) != WOLFPACK_ERR_IO) return 1;

    CHECK(wolfpack_close(model));
    CHECK(wolfpack_close(copy));
    if (wolfpack_close(model) != WOLFPACK_ERR_HANDLE) return 1; /* double close is detected */
    if (wolfpack_input_size(model) != 0) return 1;
    free(inputs);
    free(outputs);
    free(single);
    printf("ok\n");
    return 0;
}
