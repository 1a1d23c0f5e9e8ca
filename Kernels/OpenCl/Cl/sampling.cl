// Sampling's arithmetic exactly as written, as on the host (SamplingRule): no fused multiply-adds.
#pragma OPENCL FP_CONTRACT OFF

// SamplingRule.OrderKey: signed order = the scores ascending, equal scores by ascending index (the low 32 bits).
long order_key(float score, int index)
{
    const int bits = as_int(score + 0.0f);
    const int monotonic = bits < 0 ? bits ^ 0x7FFFFFFF : bits;
    return ((long)monotonic << 32) | (long)(uint)index;
}

int order_index(long key) { return (int)(key & 0x7FFFFFFF); }

void sift_down(__global long* a, int root, int end)
{
    while (2 * root + 1 < end)
    {
        int child = 2 * root + 1;
        if (child + 1 < end && a[child] < a[child + 1]) child++;
        if (a[root] >= a[child]) return;
        const long t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

// One work-item a row: SamplingRule.Pick step for step (guidance, greedy or temperature, top-k, top-p, the draw);
// the order is heap-sorted keys. codes[r] = -1 for a row with a non-finite score.
__kernel void sample_codes(__global const float* logits, int lo, int v, int rows, int guided, float guidance, int greedy,
    float inverse_temperature, int top_k, float top_p, __global const float* uniforms, __global float* scratch,
    __global long* order, int oo, __global int* codes)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* c = logits + lo + (long)r * v;
    __global const float* u = logits + lo + (long)(rows + r) * v;
    __global float* s = scratch + (long)r * v;
    __global long* o = order + oo + (long)r * v;
    int finite = 1;
    for (int i = 0; i < v; i++)
    {
        const float x = guided ? u[i] + guidance * (c[i] - u[i]) : c[i];
        finite &= isfinite(x) ? 1 : 0;
        s[i] = x;
    }
    if (!finite) { codes[r] = -1; return; }
    if (greedy)
    {
        int best = 0;
        for (int i = 1; i < v; i++) if (s[i] > s[best]) best = i;
        codes[r] = best;
        return;
    }
    if (inverse_temperature != 1.0f) for (int i = 0; i < v; i++) s[i] = s[i] * inverse_temperature;
    const int k = top_k == 0 ? v : min(top_k, v);
    if (k < v || top_p < 1.0f)
    {
        for (int i = 0; i < v; i++) o[i] = order_key(s[i], i);
        for (int i = v / 2 - 1; i >= 0; i--) sift_down(o, i, v);
        for (int end = v - 1; end > 0; end--)
        {
            const long t = o[0];
            o[0] = o[end];
            o[end] = t;
            sift_down(o, 0, end);
        }
    }
    if (k < v)
    {
        const float threshold = s[order_index(o[v - k])];
        for (int i = 0; i < v; i++) if (s[i] < threshold) s[i] = -INFINITY;
    }
    if (top_p < 1.0f)
    {
        const float top = s[order_index(o[v - 1])], limit = 1.0f - top_p;
        float total = 0.0f, cumulative = 0.0f;
        for (int i = 0; i < v; i++) total += exp(s[order_index(o[i])] - top);
        for (int i = 0; i < v - 1; i++)
        {
            const int at = order_index(o[i]);
            cumulative += exp(s[at] - top) / total;
            if (cumulative > limit) break;
            s[at] = -INFINITY;
        }
    }
    float max = -INFINITY, total = 0.0f, cumulative = 0.0f;
    for (int i = 0; i < v; i++) max = fmax(max, s[i]);
    for (int i = 0; i < v; i++) if (s[i] != -INFINITY) total += exp(s[i] - max);
    const float target = uniforms[r] * total;
    int last = 0;
    for (int i = 0; i < v; i++)
    {
        if (s[i] == -INFINITY) continue;
        cumulative += exp(s[i] - max);
        last = i;
        if (cumulative > target) { codes[r] = i; return; }
    }
    codes[r] = last;
}
