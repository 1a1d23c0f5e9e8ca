// Reductions over the last dimension d: one work group of REDUCE_THREADS items per row; each item strides over
// the row, then the group combines the partial results in local memory.

__kernel __attribute__((reqd_work_group_size(REDUCE_THREADS, 1, 1)))
void layer_norm(__global const float* x, int xo, __global const float* w, int wo,
                __global const float* bias, int bo, int hasBias, __global float* y, int yo, int d, float eps)
{
    __local float scratch[REDUCE_THREADS];
    const int lid = get_local_id(0);
    __global const float* row = x + xo + get_group_id(0) * d;
    __global float* output = y + yo + get_group_id(0) * d;
    float sum = 0.0f;
    for (int i = lid; i < d; i += REDUCE_THREADS) sum += row[i];
    const float mean = group_sum(scratch, sum, REDUCE_THREADS) / d;
    // Two passes, as the reference: the variance of centred values, not E[x^2] - mean^2.
    float squares = 0.0f;
    for (int i = lid; i < d; i += REDUCE_THREADS) squares += (row[i] - mean) * (row[i] - mean);
    const float inverse = 1.0f / sqrt(group_sum(scratch, squares, REDUCE_THREADS) / d + eps);
    for (int i = lid; i < d; i += REDUCE_THREADS)
        output[i] = (row[i] - mean) * inverse * w[wo + i] + (hasBias ? bias[bo + i] : 0.0f);
}

__kernel __attribute__((reqd_work_group_size(REDUCE_THREADS, 1, 1)))
void rms_norm(__global const float* x, int xo, __global const float* w, int wo, __global float* y, int yo, int d, float eps)
{
    __local float scratch[REDUCE_THREADS];
    const int lid = get_local_id(0);
    __global const float* row = x + xo + get_group_id(0) * d;
    __global float* output = y + yo + get_group_id(0) * d;
    float squares = 0.0f;
    for (int i = lid; i < d; i += REDUCE_THREADS) squares += row[i] * row[i];
    const float inverse = 1.0f / sqrt(group_sum(scratch, squares, REDUCE_THREADS) / d + eps);
    for (int i = lid; i < d; i += REDUCE_THREADS) output[i] = row[i] * inverse * w[wo + i];
}

// Shifted by the row maximum, as the CPU backend; y may be x (each item reads its elements before writing them).
__kernel __attribute__((reqd_work_group_size(REDUCE_THREADS, 1, 1)))
void softmax(__global const float* x, int xo, __global float* y, int yo, int d)
{
    __local float scratch[REDUCE_THREADS];
    const int lid = get_local_id(0);
    __global const float* row = x + xo + get_group_id(0) * d;
    __global float* output = y + yo + get_group_id(0) * d;
    float largest = -INFINITY;
    for (int i = lid; i < d; i += REDUCE_THREADS) largest = fmax(largest, row[i]);
    const float shift = group_max(scratch, largest, REDUCE_THREADS);
    float sum = 0.0f;
    for (int i = lid; i < d; i += REDUCE_THREADS)
    {
        const float e = exp(row[i] - shift);
        output[i] = e;
        sum += e;
    }
    const float inverse = 1.0f / group_sum(scratch, sum, REDUCE_THREADS);
    for (int i = lid; i < d; i += REDUCE_THREADS) output[i] *= inverse;
}
