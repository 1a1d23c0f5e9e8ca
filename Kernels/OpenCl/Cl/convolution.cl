// Convolutions as implicit matrix products (no im2col buffer): output channels are the rows of the product,
// output frames its columns, (input channel, tap) pairs the reduction. Weight tiles load like linear_tiled's
// x; input tiles are gathered from x on the fly, consecutive items on consecutive frames.

// y[b, co, t] = bias[co] + sum_{ci,kt} w[co, ci, kt] x[b, ci, t*stride + kt*dilation]; work-group z = batch row.
__kernel __attribute__((reqd_work_group_size(TILE_THREADS, TILE_THREADS, 1)))
void conv1d_tiled(__global const float* x, int xo, __global const float* w, int wo,
                  __global const float* bias, int bo, int hasBias, __global float* y, int yo,
                  int cin, int tin, int cout, int tout, int kernelSize, int stride, int dilation)
{
    __local float as[TILE_K * TILE_ROW];
    __local float bs[TILE_K * TILE_ROW];
    const int tx = get_local_id(0), ty = get_local_id(1), item = ty * TILE_THREADS + tx;
    const int t0 = get_group_id(0) * TILE, co0 = get_group_id(1) * TILE, b = get_group_id(2);
    const int reduction = cin * kernelSize;
    __global const float* input = x + xo + b * cin * tin;
    float acc[WORK][WORK];
    tile_clear(acc);
    for (int r0 = 0; r0 < reduction; r0 += TILE_K)
    {
        for (int l = item; l < TILE * TILE_K; l += TILE_ITEMS)
        {
            const int row = l / TILE_K, kk = l % TILE_K, r = r0 + kk, co = co0 + row;
            as[kk * TILE_ROW + row] = co < cout && r < reduction ? w[wo + co * reduction + r] : 0.0f;
            const int col = l % TILE, kb = l / TILE, rb = r0 + kb, t = t0 + col;
            const int ci = rb / kernelSize, tap = rb % kernelSize;
            bs[kb * TILE_ROW + col] = t < tout && rb < reduction ? input[ci * tin + t * stride + tap * dilation] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        tile_accumulate(as, bs, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WORK; i++)
    {
        const int co = co0 + ty + i * TILE_THREADS;
        for (int j = 0; j < WORK; j++)
        {
            const int t = t0 + tx + j * TILE_THREADS;
            if (co < cout && t < tout) y[yo + (b * cout + co) * tout + t] = acc[i][j] + (hasBias ? bias[bo + co] : 0.0f);
        }
    }
}

// The same for few output channels (a 64-row tile would be mostly idle): one item per output, reading
// consecutive frames across items and the shared weights from cache.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void conv1d_direct(__global const float* x, int xo, __global const float* w, int wo,
                   __global const float* bias, int bo, int hasBias, __global float* y, int yo,
                   int cin, int tin, int cout, int tout, int kernelSize, int stride, int dilation)
{
    const int t = get_global_id(0), co = get_global_id(1), b = get_global_id(2);
    if (t >= tout) return;
    __global const float* input = x + xo + b * cin * tin + t * stride;
    __global const float* weights = w + wo + co * cin * kernelSize;
    float sum = 0.0f;
    for (int ci = 0; ci < cin; ci++)
        for (int tap = 0; tap < kernelSize; tap++)
            sum += weights[ci * kernelSize + tap] * input[ci * tin + tap * dilation];
    y[yo + (b * cout + co) * tout + t] = sum + (hasBias ? bias[bo + co] : 0.0f);
}

// Transposed convolution over the polyphase weight W[(p, co), (ci, m)] (ConvTransposeWeights): output frame
// q*stride + p is sum_{ci,m} x[ci, q - m] W[(p, co), (ci, m)], an ordinary product per phase p. Work-group z is
// (batch row, phase); columns are input frames q from qFirst; outputs outside [trimLeft, trimLeft + tout) are
// not written.
__kernel __attribute__((reqd_work_group_size(TILE_THREADS, TILE_THREADS, 1)))
void conv_transpose1d_tiled(__global const float* x, int xo, __global const float* w, int wo,
                            __global const float* bias, int bo, int hasBias, __global float* y, int yo,
                            int cin, int tin, int cout, int tout, int taps, int stride, int trimLeft, int qFirst, int qEnd)
{
    __local float as[TILE_K * TILE_ROW];
    __local float bs[TILE_K * TILE_ROW];
    const int tx = get_local_id(0), ty = get_local_id(1), item = ty * TILE_THREADS + tx;
    const int q0 = qFirst + get_group_id(0) * TILE, co0 = get_group_id(1) * TILE;
    const int b = get_group_id(2) / stride, phase = get_group_id(2) % stride;
    const int reduction = cin * taps;
    __global const float* input = x + xo + b * cin * tin;
    __global const float* weights = w + wo + phase * cout * reduction;
    float acc[WORK][WORK];
    tile_clear(acc);
    for (int r0 = 0; r0 < reduction; r0 += TILE_K)
    {
        for (int l = item; l < TILE * TILE_K; l += TILE_ITEMS)
        {
            const int row = l / TILE_K, kk = l % TILE_K, r = r0 + kk, co = co0 + row;
            as[kk * TILE_ROW + row] = co < cout && r < reduction ? weights[co * reduction + r] : 0.0f;
            const int col = l % TILE, kb = l / TILE, rb = r0 + kb, q = q0 + col;
            const int ci = rb / taps, frame = q - rb % taps;
            bs[kb * TILE_ROW + col] = q < qEnd && rb < reduction && frame >= 0 && frame < tin ? input[ci * tin + frame] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        tile_accumulate(as, bs, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WORK; i++)
    {
        const int co = co0 + ty + i * TILE_THREADS;
        for (int j = 0; j < WORK; j++)
        {
            const int q = q0 + tx + j * TILE_THREADS, t = q * stride + phase - trimLeft;
            if (co < cout && q < qEnd && t >= 0 && t < tout)
                y[yo + (b * cout + co) * tout + t] = acc[i][j] + (hasBias ? bias[bo + co] : 0.0f);
        }
    }
}
