// Scaled dot-product attention, one work group per (batch row, head, query). Keys are taken ATTENTION_CHUNK
// at a time: each item scores its keys of the chunk into local memory, the group takes the chunk's maximum,
// and the softmax runs online (the running sum and outputs are rescaled whenever the maximum grows), so key
// lengths are not limited by local memory. Item e then accumulates output dimensions e, e + ATTENTION_THREADS,
// ... over the chunk's values, reading value rows along consecutive addresses.
//
// Keys and values are float32 (CACHE_F32), float16 read with vload_half, which every device has (CACHE_F16), or
// q8 blocks (CACHE_Q8): the int8 value of every element, then from byte scaleStart one float scale per
// PACKED_BLOCK consecutive elements, element i standing for scale[i / PACKED_BLOCK] * value[i].
//
// Masked scores are replaced by -FLT_MAX (float.MinValue), as the reference adds finfo.min: a row whose keys
// are all masked then weighs every key equally instead of producing NaN.
#define CACHE_F32 0
#define CACHE_F16 1
#define CACHE_Q8 2

inline float cache_scale(__global const float* cache, int scaleStart, int index)
{
    return ((__global const float*)((__global const char*)cache + scaleStart))[index / PACKED_BLOCK];
}

inline float cache_at(__global const float* cache, int type, int scaleStart, int index)
{
    if (type == CACHE_F16) return vload_half(index, (__global const half*)cache);
    if (type == CACHE_Q8) return cache_scale(cache, scaleStart, index) * ((__global const char*)cache)[index];
    return cache[index];
}

inline float4 cache_at4(__global const float* cache, int type, int scaleStart, int index)
{
    if (type == CACHE_F16) return vload_half4(0, (__global const half*)cache + index);
    if (type == CACHE_Q8)
    {
        const float4 values = convert_float4(vload4(0, (__global const char*)cache + index));
        // The four share one scale unless they straddle the end of a block (a head dimension not a multiple of 4).
        if (index % PACKED_BLOCK <= PACKED_BLOCK - 4) return cache_scale(cache, scaleStart, index) * values;
        return values * (float4)(cache_scale(cache, scaleStart, index), cache_scale(cache, scaleStart, index + 1),
                                 cache_scale(cache, scaleStart, index + 2), cache_scale(cache, scaleStart, index + 3));
    }
    return vload4(0, cache + index);
}

// Elements [first, end) of a row of source (float32) into a cache row starting at element at, as copy_blocks,
// copy_blocks_to_half and copy_blocks_to_q8 write them; into a q8 cache the whole blocks those elements touch.
inline void append_slice(__global const float* source, __global float* cache, int type, int scaleStart, int at, int first, int end)
{
    const int lid = get_local_id(0);
    if (type == CACHE_Q8)
    {
        for (int block = first / PACKED_BLOCK + lid; block < (end + PACKED_BLOCK - 1) / PACKED_BLOCK; block += ATTENTION_THREADS)
            quantize_block(source + block * PACKED_BLOCK, (__global char*)cache, at + block * PACKED_BLOCK, scaleStart);
    }
    else
    {
        for (int e = first + lid; e < end; e += ATTENTION_THREADS)
        {
            if (type == CACHE_F16) vstore_half_rte(source[e], at + e, (__global half*)cache);
            else cache[at + e] = source[e];
        }
    }
}

// With append (append_and_attend: a decoding step's cache append and attention in one launch) the group first
// writes its head's slice of the queries' new key and value rows (newKeys, newValues [B, queries, width]) into the
// caches at rows queryOffset on, every query's group all of them, then waits for its own writes before reading.
// Groups writing the same elements (another query of the head, or a neighbouring head's group where a q8 block
// spans both heads) write the same bytes, so whichever write lands last, every group reads the rounded values the
// composition of CopyBlocks then attention would.
__kernel __attribute__((reqd_work_group_size(ATTENTION_THREADS, 1, 1)))
void attention(__global const float* q, int qo, __global float* k, int ko, __global float* v, int vo, int cacheType, int scaleStart,
               __global float* output, int oo,
               __global const float* bias, int biasOffset, int hasBias, __global const float* mask, int maskOffset, int hasMask,
               __global const float* newKeys, int nko, int append, __global const float* newValues, int nvo, int hasNewValues,
               int heads, int queries, int keys, int keyRows, int width, int headDim, float scale, int causal, int queryOffset,
               __local float* query)
{
    __local float scores[ATTENTION_CHUNK];
    __local float scratch[ATTENTION_THREADS];
    const int lid = get_local_id(0), group = get_group_id(0);
    const int i = group % queries, h = group / queries % heads, b = group / (queries * heads);
    const int visible = causal ? min(keys, queryOffset + i + 1) : keys;
    const int rowBase = b * keyRows * width + h * headDim;
    if (append)
    {
        for (int t = 0; t < queries; t++)
        {
            const int source = (b * queries + t) * width, at = ko + (b * keyRows + queryOffset + t) * width;
            append_slice(newKeys + nko + source, k, cacheType, scaleStart, at, h * headDim, (h + 1) * headDim);
            append_slice(newValues + nvo + source, v, cacheType, scaleStart, vo - ko + at, h * headDim, (h + 1) * headDim);
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
    __global const float* queryRow = q + qo + (b * queries + i) * width + h * headDim;
    for (int e = lid; e < headDim; e += ATTENTION_THREADS) query[e] = queryRow[e];
    barrier(CLK_LOCAL_MEM_FENCE);

    float acc[ATTENTION_SLOTS];
    for (int s = 0; s < ATTENTION_SLOTS; s++) acc[s] = 0.0f;
    float runningMax = -INFINITY, runningSum = 0.0f;
    const int vectorDim = headDim & ~3;
    for (int j0 = 0; j0 < visible; j0 += ATTENTION_CHUNK)
    {
        const int count = min(ATTENTION_CHUNK, visible - j0);
        float largest = -INFINITY;
        for (int jj = lid; jj < count; jj += ATTENTION_THREADS)
        {
            const int j = j0 + jj;
            const int key = ko + rowBase + j * width;
            float4 dot4 = (float4)(0.0f);
            for (int e = 0; e < vectorDim; e += 4) dot4 += vload4(0, query + e) * cache_at4(k, cacheType, scaleStart, key + e);
            float dot = (dot4.x + dot4.y) + (dot4.z + dot4.w);
            for (int e = vectorDim; e < headDim; e++) dot += query[e] * cache_at(k, cacheType, scaleStart, key + e);
            float score = scale * dot;
            if (hasBias) score += bias[biasOffset + (h * queries + i) * keys + j];
            if (hasMask && mask[maskOffset + b * keys + j] == 0.0f) score = -FLT_MAX;
            scores[jj] = score;
            largest = fmax(largest, score);
        }
        const float newMax = fmax(runningMax, group_max(scratch, largest, ATTENTION_THREADS));
        for (int jj = lid; jj < count; jj += ATTENTION_THREADS) scores[jj] = exp(scores[jj] - newMax);
        barrier(CLK_LOCAL_MEM_FENCE);
        const float correction = exp(runningMax - newMax); // 0 for the first chunk
        float chunkSum = 0.0f;
        for (int jj = 0; jj < count; jj++) chunkSum += scores[jj];
        runningSum = runningSum * correction + chunkSum;
        for (int s = 0; s < ATTENTION_SLOTS; s++)
        {
            const int e = lid + s * ATTENTION_THREADS;
            if (e < headDim)
            {
                const int value = vo + rowBase + j0 * width + e;
                float sum = acc[s] * correction;
                for (int jj = 0; jj < count; jj++) sum += scores[jj] * cache_at(v, cacheType, scaleStart, value + jj * width);
                acc[s] = sum;
            }
        }
        runningMax = newMax;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    __global float* result = output + oo + (b * queries + i) * width + h * headDim;
    for (int s = 0; s < ATTENTION_SLOTS; s++)
    {
        const int e = lid + s * ATTENTION_THREADS;
        if (e < headDim) result[e] = acc[s] / runningSum;
    }
}
