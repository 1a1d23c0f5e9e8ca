// Linear products with packed weight matrices (layouts in Loaders/Checkpoints/PackedMatrix.cs): w is the matrix's
// bytes; q8 and q4 keep one float scale per block of 32 inputs of a row, from byte scalesAt on.
#define PACKED_F16 1
#define PACKED_BF16 2
#define PACKED_Q8 3
#define PACKED_Q4 4
#define PACKED_BLOCK 32

// Weights [kk, kk + 4) of row `row`; for q8 and q4 kk is a multiple of 4, so the four share one block.
inline float4 packed_load4(__global const uchar* w, int type, int scalesAt, int row, int k, int kk)
{
    const long at = (long)row * k + kk;
    if (type == PACKED_F16) return vload_half4(0, (__global const half*)w + at);
    if (type == PACKED_BF16) return as_float4(convert_uint4(vload4(0, (__global const ushort*)w + at)) << 16);
    const float scale = ((__global const float*)(w + scalesAt))[at / PACKED_BLOCK];
    if (type == PACKED_Q8) return convert_float4(vload4(0, (__global const char*)w + at)) * scale;
    const int inBlock = kk % PACKED_BLOCK;
    const uchar4 bytes = vload4(0, w + (at - inBlock) / 2 + (inBlock & 15));
    const int4 nibbles = inBlock < 16 ? convert_int4(bytes & (uchar)15) : convert_int4(bytes >> (uchar)4);
    return convert_float4(nibbles - 8) * scale;
}

// One weight, for the columns of an f16 or bf16 row after its last group of four.
inline float packed_load1(__global const uchar* w, int type, int row, int k, int kk)
{
    const long at = (long)row * k + kk;
    if (type == PACKED_F16) return vload_half(0, (__global const half*)w + at);
    return as_float((uint)((__global const ushort*)w)[at] << 16);
}

// Few rows (M <= ROWS_MAX_M, xStride apart): linear_rows with the weights converted as they are read.
__kernel __attribute__((reqd_work_group_size(ROWS_LANES * ROWS_PER_GROUP, 1, 1)))
void linear_packed_rows(__global const float* x, int xo, int xStride,
                        __global const uchar* w, int type, int scalesAt,
                        __global const float* bias, int bo, int hasBias,
                        __global float* y, int yo, int m, int n, int k)
{
    __local float partial[ROWS_PER_GROUP * ROWS_MAX_M * ROWS_LANES];
    const int lid = get_local_id(0), lane = lid % ROWS_LANES, slot = lid / ROWS_LANES;
    const int firstRow = get_group_id(0) * ROWS_PER_GROUP, col = firstRow + slot;
    float acc[ROWS_MAX_M];
    for (int i = 0; i < ROWS_MAX_M; i++) acc[i] = 0.0f;
    if (col < n)
    {
        __global const float* rows = x + xo;
        const int vectorK = k & ~3;
        for (int kk = 4 * lane; kk < vectorK; kk += 4 * ROWS_LANES)
        {
            const float4 weight = packed_load4(w, type, scalesAt, col, k, kk);
            for (int i = 0; i < ROWS_MAX_M; i++)
                if (i < m) acc[i] += dot(weight, vload4(0, rows + i * xStride + kk));
        }
        for (int kk = vectorK + lane; kk < k; kk += ROWS_LANES)
        {
            const float weight = packed_load1(w, type, col, k, kk);
            for (int i = 0; i < ROWS_MAX_M; i++)
                if (i < m) acc[i] += weight * rows[i * xStride + kk];
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
            y[yo + i * n + c] = sum + (hasBias ? bias[bo + c] : 0.0f);
        }
    }
}

// Many rows: the matrix decoded to float32 (out[n, k]), four weights per item, for linear_tiled.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void unpack_weights(__global const uchar* w, int type, int scalesAt, __global float* out, int n, int k)
{
    const int groups = (k + 3) / 4, index = get_global_id(0);
    if (index >= n * groups) return;
    const int row = index / groups, kk = index % groups * 4;
    if (kk + 4 <= k)
    {
        vstore4(packed_load4(w, type, scalesAt, row, k, kk), 0, out + (long)row * k + kk);
        return;
    }
    for (int c = kk; c < k; c++) out[(long)row * k + c] = packed_load1(w, type, row, k, c);
}
