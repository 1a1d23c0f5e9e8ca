// Shared by the tiled products (linear, convolution, transposed convolution): a work group of
// TILE_THREADS x TILE_THREADS items computes a TILE x TILE block of outputs, TILE_K reduction steps at a time.
// Both operand tiles sit in local memory reduction-major (as[kk][row], bs[kk][col]); each item owns WORK x WORK
// outputs strided by TILE_THREADS, so in the inner loop items of one row read the same as[] word (a broadcast)
// and consecutive items read consecutive bs[] words (no bank conflicts). Rows are padded by one word so that
// stores of TILE_K consecutive reduction steps do not all fall into one bank.

#define WORK (TILE / TILE_THREADS)
#define TILE_ROW (TILE + 1)
#define TILE_ITEMS (TILE_THREADS * TILE_THREADS)

inline void tile_accumulate(__local const float* as, __local const float* bs, float acc[WORK][WORK], int tx, int ty)
{
    for (int kk = 0; kk < TILE_K; kk++)
    {
        float a[WORK], b[WORK];
        for (int i = 0; i < WORK; i++) a[i] = as[kk * TILE_ROW + ty + i * TILE_THREADS];
        for (int j = 0; j < WORK; j++) b[j] = bs[kk * TILE_ROW + tx + j * TILE_THREADS];
        for (int i = 0; i < WORK; i++)
            for (int j = 0; j < WORK; j++) acc[i][j] += a[i] * b[j];
    }
}

inline void tile_clear(float acc[WORK][WORK])
{
    for (int i = 0; i < WORK; i++)
        for (int j = 0; j < WORK; j++) acc[i][j] = 0.0f;
}

// Sum and maximum of one value per item over a work group of `count` items (a power of two); every item gets
// the result. `scratch` holds `count` floats and may be reused once every item has the result (after a barrier).
inline float group_sum(__local float* scratch, float value, int count)
{
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = count / 2; s > 0; s >>= 1)
    {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

inline float group_max(__local float* scratch, float value, int count)
{
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = count / 2; s > 0; s >>= 1)
    {
        if (lid < s) scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}
