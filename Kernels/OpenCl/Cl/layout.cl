// Data movement: strided block copies, transposes of the last two dimensions, padding.

// Block b's element i: destination[dOffset + b*dStride + i] = source[sOffset + b*sStride + i].
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void copy_blocks(__global const float* source, int sourceOffset, int sourceStride,
                 __global float* destination, int destinationOffset, int destinationStride, int blockLength)
{
    const int i = get_global_id(0), block = get_global_id(1);
    if (i < blockLength)
        destination[destinationOffset + block * destinationStride + i] = source[sourceOffset + block * sourceStride + i];
}

// copy_blocks into a float16 destination (a key/value cache), each element rounded to the nearest float16.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void copy_blocks_to_half(__global const float* source, int sourceOffset, int sourceStride,
                         __global half* destination, int destinationOffset, int destinationStride, int blockLength)
{
    const int i = get_global_id(0), block = get_global_id(1);
    if (i < blockLength)
        vstore_half_rte(source[sourceOffset + block * sourceStride + i], destinationOffset + block * destinationStride + i, destination);
}

// The PACKED_BLOCK floats from x into a q8 cache's block starting at element first: the scale d = max|x| / 127 goes
// to the scales from byte scaleStart on, and each element becomes x * (1 / d) rounded to the nearest integer, ties
// to even, as PackedMatrix quantizes q8 weights (bit for bit where the device divides correctly rounded, as PoCL
// and CUDA do).
inline void quantize_block(__global const float* x, __global char* destination, int first, int scaleStart)
{
    float largest = 0.0f;
    for (int e = 0; e < PACKED_BLOCK; e++) largest = fmax(largest, fabs(x[e]));
    const float scale = largest / 127.0f, inverse = scale == 0.0f ? 0.0f : 1.0f / scale;
    for (int e = 0; e < PACKED_BLOCK; e++) destination[first + e] = (char)clamp(rint(x[e] * inverse), -127.0f, 127.0f);
    ((__global float*)(destination + scaleStart))[first / PACKED_BLOCK] = scale;
}

// copy_blocks into a q8 cache, one item per PACKED_BLOCK elements of a block (blockLength and the destination
// offsets are whole blocks), each quantized by quantize_block.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void copy_blocks_to_q8(__global const float* source, int sourceOffset, int sourceStride,
                       __global char* destination, int destinationOffset, int destinationStride, int blockLength, int scaleStart)
{
    const int i = get_global_id(0) * PACKED_BLOCK, block = get_global_id(1);
    if (i >= blockLength) return;
    quantize_block(source + sourceOffset + block * sourceStride + i, destination, destinationOffset + block * destinationStride + i, scaleStart);
}

// y[b, j, i] = x[b, i, j] for x [B, M, N]: a square tile through local memory so reads and writes both run along
// consecutive addresses; the extra column keeps the transposed reads off a single bank.
__kernel __attribute__((reqd_work_group_size(TRANSPOSE_TILE, TRANSPOSE_TILE, 1)))
void transpose(__global const float* x, int xo, __global float* y, int yo, int m, int n)
{
    __local float tile[TRANSPOSE_TILE][TRANSPOSE_TILE + 1];
    const int tx = get_local_id(0), ty = get_local_id(1), b = get_group_id(2);
    const int j0 = get_group_id(0) * TRANSPOSE_TILE, i0 = get_group_id(1) * TRANSPOSE_TILE;
    const int base = b * m * n;
    if (i0 + ty < m && j0 + tx < n) tile[ty][tx] = x[xo + base + (i0 + ty) * n + j0 + tx];
    barrier(CLK_LOCAL_MEM_FENCE);
    if (j0 + ty < n && i0 + tx < m) y[yo + base + (j0 + ty) * m + i0 + tx] = tile[tx][ty];
}

// y[r, p] for p in [0, left + length + right): the interior copies x; the left + right edge positions read the
// source index the host computed (PadIndex.Source), -1 meaning zero.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void pad1d(__global const float* x, int xo, __global float* y, int yo, int length, int left, int right, __global const int* edges)
{
    const int p = get_global_id(0), r = get_global_id(1), padded = length + left + right;
    if (p >= padded) return;
    const int source = p < left ? edges[p] : p < left + length ? p - left : edges[p - length];
    y[yo + r * padded + p] = source < 0 ? 0.0f : x[xo + r * length + source];
}
