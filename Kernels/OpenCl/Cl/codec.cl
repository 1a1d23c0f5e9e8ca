// EnCodec's two sequential pieces: the residual quantizer's nearest-code search and the LSTM cell update.

// norms[c] = |codebook[c, :]|^2, once per search rather than once per row.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void codebook_norms(__global const float* codebook, int co, __global float* norms, int size, int d)
{
    const int c = get_global_id(0);
    if (c >= size) return;
    __global const float* row = codebook + co + c * d;
    float sum = 0.0f;
    for (int e = 0; e < d; e++) sum += row[e] * row[e];
    norms[c] = sum;
}

// codes[n] = argmin_c |x|^2 - 2 x.e_c + |e_c|^2 (the reference's expression), the first index winning ties.
// One work group per row: the row sits in local memory, each item scans codes lid, lid + CODES_THREADS, ...
// (in increasing order, keeping its first minimum), then the group reduces (distance, index) pairs.
__kernel __attribute__((reqd_work_group_size(CODES_THREADS, 1, 1)))
void nearest_codes(__global const float* x, int xo, __global const float* codebook, int co, __global const float* norms,
                   __global int* codes, int size, int d, __local float* row)
{
    __local float bestDistances[CODES_THREADS];
    __local int bestIndices[CODES_THREADS];
    const int lid = get_local_id(0), n = get_group_id(0);
    for (int e = lid; e < d; e += CODES_THREADS) row[e] = x[xo + n * d + e];
    barrier(CLK_LOCAL_MEM_FENCE);
    float squares = 0.0f;
    for (int e = 0; e < d; e++) squares += row[e] * row[e];
    float best = INFINITY;
    int bestIndex = INT_MAX;
    for (int c = lid; c < size; c += CODES_THREADS)
    {
        __global const float* code = codebook + co + c * d;
        float dot = 0.0f;
        for (int e = 0; e < d; e++) dot += row[e] * code[e];
        const float distance = squares - 2.0f * dot + norms[c];
        if (distance < best)
        {
            best = distance;
            bestIndex = c;
        }
    }
    bestDistances[lid] = best;
    bestIndices[lid] = bestIndex;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = CODES_THREADS / 2; s > 0; s >>= 1)
    {
        if (lid < s)
        {
            const float other = bestDistances[lid + s];
            const int otherIndex = bestIndices[lid + s];
            if (other < bestDistances[lid] || (other == bestDistances[lid] && otherIndex < bestIndices[lid]))
            {
                bestDistances[lid] = other;
                bestIndices[lid] = otherIndex;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    // No distance below infinity (all NaN or infinite): code 0, as a linear scan starting from code 0 gives.
    if (lid == 0) codes[n] = bestIndices[0] == INT_MAX ? 0 : bestIndices[0];
}

// One LSTM step t for every (batch row b, unit j), torch gate order i, f, g, o. z [B, 4H] holds W_hh . h[t-1]
// (ignored at t = 0, where h and c start at zero); gates [B, T, 4H] the input projection with both biases.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void lstm_cell(__global const float* gates, int go, __global const float* z, __global float* cell, int co,
               __global float* output, int oo, int hidden, int steps, int t)
{
    const int j = get_global_id(0), b = get_global_id(1);
    if (j >= hidden) return;
    __global const float* gate = gates + go + (b * steps + t) * 4 * hidden + j;
    __global const float* recurrent = z + b * 4 * hidden + j;
    const int previous = t > 0;
    const float input = 1.0f / (1.0f + exp(-((previous ? recurrent[0] : 0.0f) + gate[0])));
    const float forget = 1.0f / (1.0f + exp(-((previous ? recurrent[hidden] : 0.0f) + gate[hidden])));
    const float candidate = tanh((previous ? recurrent[2 * hidden] : 0.0f) + gate[2 * hidden]);
    const float out = 1.0f / (1.0f + exp(-((previous ? recurrent[3 * hidden] : 0.0f) + gate[3 * hidden])));
    __global float* c = cell + co + b * hidden + j;
    const float value = forget * (previous ? *c : 0.0f) + input * candidate;
    *c = value;
    output[oo + (b * steps + t) * hidden + j] = out * tanh(value);
}
