// One item per element; ranges are rounded up to ELEMENT_THREADS, so every kernel checks its bound. Outputs may
// alias inputs: each item reads its element before writing it.

__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void add(__global const float* a, int ao, __global const float* b, int bo, __global float* y, int yo, int n)
{
    const int i = get_global_id(0);
    if (i < n) y[yo + i] = a[ao + i] + b[bo + i];
}

__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void multiply(__global const float* a, int ao, __global const float* b, int bo, __global float* y, int yo, int n)
{
    const int i = get_global_id(0);
    if (i < n) y[yo + i] = a[ao + i] * b[bo + i];
}

// The formulas are linear.cl's activate.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void activation(__global const float* x, int xo, __global float* y, int yo, int n, int kind)
{
    const int i = get_global_id(0);
    if (i < n) y[yo + i] = activate(x[xo + i], kind);
}

__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void scale_rows(__global const float* x, int xo, __global const float* scales, __global float* y, int yo, int d, int n)
{
    const int i = get_global_id(0);
    if (i < n) y[yo + i] = x[xo + i] * scales[i / d];
}

// y[r, :] (+)= scale * table[ids[r], :]; dimension 0 runs along the row, dimension 1 over rows.
__kernel __attribute__((reqd_work_group_size(ELEMENT_THREADS, 1, 1)))
void gather(__global const float* table, int to, __global const int* ids, __global float* y, int yo, int d, int each, float scale, int accumulate)
{
    const int i = get_global_id(0), r = get_global_id(1);
    if (i >= d) return;
    __global float* target = y + yo + r * d + i;
    float sum = accumulate ? *target : 0.0f;
    for (int s = 0; s < each; s++) sum += scale * table[to + ids[r * each + s] * d + i];
    *target = sum;
}
