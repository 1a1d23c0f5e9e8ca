// y[M, N] = x[M, K] . w[N, K]^T + bias[N]; rows of x are xStride apart (K for a plain matrix; the LSTM passes
// strided rows of its output sequence). Offsets are in elements. w is read in its stored type (packed.cl): float32
// or packed, converted as it is read, never unpacked into a float32 copy. Each result is stored as the epilogue
// says (LinearEpilogue's code): 0 stored, 1 added to y (a residual), 2 + kind through an activation.

// Erf and tanh are the device's float versions, within a few ulp of the CPU backend's double evaluation.
float activate(float v, int kind)
{
    switch (kind)
    {
        case ACTIVATION_RELU: return fmax(v, 0.0f);
        case ACTIVATION_ELU: return v > 0.0f ? v : expm1(v);
        case ACTIVATION_GELU: return 0.5f * v * (1.0f + erf(v * M_SQRT1_2_F));
        case ACTIVATION_GELU_TANH: return 0.5f * v * (1.0f + tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        default: return NAN;
    }
}

// Where y[row, col] of y [m, n] goes: there, or into planes [n / planeWidth, m, planeWidth] (LinearEpilogue.Planes).
int output_index(int row, int col, int m, int n, int planeWidth)
{
    return planeWidth == 0 ? row * n + col : ((col / planeWidth) * m + row) * planeWidth + col % planeWidth;
}

void store_result(__global float* y, int at, float result, int epilogue)
{
    if (epilogue == 0) y[at] = result;
    else if (epilogue == 1) y[at] += result;
    else y[at] = activate(result, epilogue - 2);
}

// Many rows: register and local-memory tiling (see tiles.cl). Rows of the tile are rows of x, columns are rows
// of w; both are loaded along K, TILE_K consecutive floats per row.
__kernel __attribute__((reqd_work_group_size(TILE_THREADS, TILE_THREADS, 1)))
void linear_tiled(__global const float* x, int xo, int xStride,
                  __global const uchar* w, int wo, int type, int scalesAt,
                  __global const float* bias, int bo, int hasBias,
                  __global float* y, int yo, int m, int n, int k, int epilogue, int planeWidth)
{
    __local float as[TILE_K * TILE_ROW];
    __local float bs[TILE_K * TILE_ROW];
    const int tx = get_local_id(0), ty = get_local_id(1), item = ty * TILE_THREADS + tx;
    const int col0 = get_group_id(0) * TILE, row0 = get_group_id(1) * TILE;
    float acc[WORK][WORK];
    tile_clear(acc);
    for (int k0 = 0; k0 < k; k0 += TILE_K)
    {
        for (int l = item; l < TILE * TILE_K; l += TILE_ITEMS)
        {
            const int r = l / TILE_K, kk = l % TILE_K, kIndex = k0 + kk;
            const int row = row0 + r, col = col0 + r;
            as[kk * TILE_ROW + r] = row < m && kIndex < k ? x[xo + row * xStride + kIndex] : 0.0f;
            bs[kk * TILE_ROW + r] = col < n && kIndex < k ? weight_load1(w, wo, type, scalesAt, col, k, kIndex) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        tile_accumulate(as, bs, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WORK; i++)
    {
        const int row = row0 + ty + i * TILE_THREADS;
        for (int j = 0; j < WORK; j++)
        {
            const int col = col0 + tx + j * TILE_THREADS;
            if (row < m && col < n) store_result(y, yo + output_index(row, col, m, n, planeWidth), acc[i][j] + (hasBias ? bias[bo + col] : 0.0f), epilogue);
        }
    }
}

// The sum of value over the ROWS_LANES lanes of a slot, returned to each of them; every item of the group calls it.
inline float lanes_sum(__local float* partial, float value, int slot, int lane)
{
    partial[slot * ROWS_LANES + lane] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    float sum = 0.0f;
    for (int l = 0; l < ROWS_LANES; l++) sum += partial[slot * ROWS_LANES + l];
    barrier(CLK_LOCAL_MEM_FENCE);
    return sum;
}

// Few rows (M <= ROWS_MAX_M, one decoding step): the product is bound by reading w, so each weight row is
// streamed once, by ROWS_LANES consecutive items reading four weights each (coalesced), and multiplied against
// all M rows of x. x is a few KB read by every group, so it stays in cache; reading it directly keeps barriers
// out of the loop (a barrier per step costs more than it saves, and on CPU devices forces the accumulators out
// of registers). A work group serves ROWS_PER_GROUP weight rows; the lanes' partial sums meet in local memory
// at the end.
// With a norm (hasNorm, LayerNormLinear) each row of x is normalized as layer_norm normalizes it while it is read:
// the group computes its rows' statistics first, slot i's lanes those of rows i, i + ROWS_PER_GROUP, …, every
// group for itself, which costs less than a launch of its own.
__kernel __attribute__((reqd_work_group_size(ROWS_LANES * ROWS_PER_GROUP, 1, 1)))
void linear_rows(__global const float* x, int xo, int xStride,
                 __global const float* normWeight, int nwo, int hasNorm, __global const float* normBias, int nbo, int hasNormBias, float eps,
                 __global const uchar* w, int wo, int type, int scalesAt,
                 __global const float* bias, int bo, int hasBias,
                 __global float* y, int yo, int m, int n, int k, int epilogue, int planeWidth)
{
    __local float partial[ROWS_PER_GROUP * ROWS_MAX_M * ROWS_LANES];
    __local float means[ROWS_MAX_M], inverses[ROWS_MAX_M];
    const int lid = get_local_id(0), lane = lid % ROWS_LANES, slot = lid / ROWS_LANES;
    const int firstRow = get_group_id(0) * ROWS_PER_GROUP, col = firstRow + slot;
    __global const float* rows = x + xo;
    if (hasNorm)
    {
        // first < m is the same for every item of the group, so each lanes_sum (two barriers) is reached by all.
        for (int first = 0; first < m; first += ROWS_PER_GROUP)
        {
            const int r = first + slot;
            __global const float* row = rows + r * xStride;
            float sum = 0.0f;
            if (r < m) for (int kk = lane; kk < k; kk += ROWS_LANES) sum += row[kk];
            const float mean = lanes_sum(partial, sum, slot, lane) / k;
            float squares = 0.0f;
            if (r < m) for (int kk = lane; kk < k; kk += ROWS_LANES) squares += (row[kk] - mean) * (row[kk] - mean);
            const float inverse = 1.0f / sqrt(lanes_sum(partial, squares, slot, lane) / k + eps);
            if (lane == 0 && r < m) { means[r] = mean; inverses[r] = inverse; }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float acc[ROWS_MAX_M];
    for (int i = 0; i < ROWS_MAX_M; i++) acc[i] = 0.0f;
    if (col < n)
    {
        const int vectorK = k & ~3;
        for (int kk = 4 * lane; kk < vectorK; kk += 4 * ROWS_LANES)
        {
            const float4 weight = weight_load4(w, wo, type, scalesAt, col, k, kk);
            const float4 gain = hasNorm ? vload4(0, normWeight + nwo + kk) : (float4)(1.0f);
            const float4 shift = hasNormBias ? vload4(0, normBias + nbo + kk) : (float4)(0.0f);
            for (int i = 0; i < ROWS_MAX_M; i++)
                if (i < m)
                {
                    const float4 input = vload4(0, rows + i * xStride + kk);
                    acc[i] += dot(weight, hasNorm ? (input - means[i]) * inverses[i] * gain + shift : input);
                }
        }
        for (int kk = vectorK + lane; kk < k; kk += ROWS_LANES)
        {
            const float weight = weight_load1(w, wo, type, scalesAt, col, k, kk);
            for (int i = 0; i < ROWS_MAX_M; i++)
                if (i < m)
                {
                    const float input = rows[i * xStride + kk];
                    acc[i] += weight * (hasNorm ? (input - means[i]) * inverses[i] * normWeight[nwo + kk] + (hasNormBias ? normBias[nbo + kk] : 0.0f) : input);
                }
        }
    }
    for (int i = 0; i < ROWS_MAX_M; i++) partial[(slot * ROWS_MAX_M + i) * ROWS_LANES + lane] = acc[i];
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < ROWS_PER_GROUP * ROWS_MAX_M)
    {
        const int s = lid / ROWS_MAX_M, i = lid % ROWS_MAX_M, c = firstRow + s;
        if (i < m && c < n)
        {
            float sum = 0.0f;
            for (int l = 0; l < ROWS_LANES; l++) sum += partial[(s * ROWS_MAX_M + i) * ROWS_LANES + l];
            store_result(y, yo + output_index(i, c, m, n, planeWidth), sum + (hasBias ? bias[bo + c] : 0.0f), epilogue);
        }
    }
}
