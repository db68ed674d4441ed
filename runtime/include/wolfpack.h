/*
 * wolfpack.h: C interface of the wolfpack runtime (libwolfpack_runtime.so / libwolfpack_runtime.a).
 *
 * Loads a .wpk implicit model  y = C x + D u + c,  x = relu(A x + B u + b)  and predicts with it.
 * Every function returns a status code (or a size) and never unwinds into C. Invalid, null or closed handles
 * return WOLFPACK_ERR_HANDLE. After a failure, wolfpack_last_error() describes it (per thread).
 * Link a static build with: -lwolfpack_runtime -lpthread -ldl -lm
 *
 * Checked against the Rust definitions by runtime/tests/c_abi.rs: keep the two in step.
 */
#ifndef WOLFPACK_H
#define WOLFPACK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
#define WOLFPACK_OK 0
#define WOLFPACK_ERR_HANDLE 1
#define WOLFPACK_ERR_ARGUMENT 2
#define WOLFPACK_ERR_IO 3
#define WOLFPACK_ERR_FORMAT 4
#define WOLFPACK_ERR_NOT_CONVERGED 5
#define WOLFPACK_ERR_NOT_FINITE 6
#define WOLFPACK_ERR_PANIC 7

/* wolfpack_options.method */
#define WOLFPACK_METHOD_AUTO 0
#define WOLFPACK_METHOD_PICARD 1
#define WOLFPACK_METHOD_GAUSS_SEIDEL 2
#define WOLFPACK_METHOD_ANDERSON 3
#define WOLFPACK_METHOD_BLOCK_TRIANGULAR 4
#define WOLFPACK_METHOD_GROUPED_GAUSS_SEIDEL 5

/* An opaque loaded model with the scratch of its predictions. */
typedef struct wolfpack_model wolfpack_model;

/* How a prediction went. */
typedef struct wolfpack_stats {
    uint32_t iterations; /* fixed-point iterations (sweeps) run */
    float residual;      /* final infinity-norm update ||x_{k+1} - x_k|| */
} wolfpack_stats;

/* Solver overrides for wolfpack_predict_batch_with (a NULL pointer means all defaults). */
typedef struct wolfpack_options {
    float tolerance;         /* stop when the update is at most this; negative: the model's default */
    uint32_t max_iterations; /* iteration cap; 0: the model's default */
    int32_t method;          /* WOLFPACK_METHOD_*: AUTO (0) is the runtime's choice */
    uint32_t anderson_depth; /* history of WOLFPACK_METHOD_ANDERSON, 1 to 8; 0: 5 */
} wolfpack_options;

/* Memory-maps the model file at path (the file must not change while open). */
int32_t wolfpack_open(const char *path, wolfpack_model **out);

/* Loads a model from len bytes at data (copied: data may be freed on return). */
int32_t wolfpack_open_memory(const uint8_t *data, size_t len, wolfpack_model **out);

/* Lengths of one input and one output (0 for an invalid handle). */
size_t wolfpack_input_size(const wolfpack_model *model);
size_t wolfpack_output_size(const wolfpack_model *model);

/* One prediction: input_len == input size, output_len == output size; stats may be NULL. */
int32_t wolfpack_predict(wolfpack_model *model, const float *input, size_t input_len, float *output, size_t output_len, wolfpack_stats *stats);

/* batch predictions, sample-major: inputs[batch][input size], outputs[batch][output size]; stats may be NULL.
 * Calls on one handle are serialised; open one handle per thread for parallel inference. */
int32_t wolfpack_predict_batch(wolfpack_model *model, const float *inputs, size_t inputs_len, size_t batch, float *outputs, size_t outputs_len, wolfpack_stats *stats);

/* wolfpack_predict_batch with solver overrides (options may be NULL). An unknown method, or one the model
 * cannot use (Anderson for a batch, the block-triangular solve for a low-rank A), is WOLFPACK_ERR_ARGUMENT. */
int32_t wolfpack_predict_batch_with(wolfpack_model *model, const float *inputs, size_t inputs_len, size_t batch, float *outputs, size_t outputs_len, const wolfpack_options *options, wolfpack_stats *stats);

/* Message of the last failure on this thread, or NULL; valid until the next failure on this thread. */
const char *wolfpack_last_error(void);

/* Closes a handle; NULL is ignored, an unknown or closed handle returns WOLFPACK_ERR_HANDLE. */
int32_t wolfpack_close(wolfpack_model *model);

#ifdef __cplusplus
}
#endif

#endif /* WOLFPACK_H */
