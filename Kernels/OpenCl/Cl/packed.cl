// How the linear products read a weight matrix w[n, k] in its stored type (packed layouts in
// Loaders/Checkpoints/PackedMatrix.cs): w is the buffer's bytes, float32 weights from element wo on, or packed ones
// converted as they are read; q8 and q4 keep one float scale per block of 32 inputs of a row, from byte scalesAt on.
#define WEIGHTS_F32 0
#define PACKED_F16 1
#define PACKED_BF16 2
#define PACKED_Q8 3
#define PACKED_Q4 4
#define PACKED_BLOCK 32

// Weights [kk, kk + 4) of row `row`; for q8 and q4 kk is a multiple of 4, so the four share one block.
inline float4 weight_load4(__global const uchar* w, int wo, int type, int scalesAt, int row, int k, int kk)
{
    const long at = (long)row * k + kk;
    if (type == WEIGHTS_F32) return vload4(0, (__global const float*)w + wo + at);
    if (type == PACKED_F16) return vload_half4(0, (__global const half*)w + at);
    if (type == PACKED_BF16) return as_float4(convert_uint4(vload4(0, (__global const ushort*)w + at)) << 16);
    const float scale = ((__global const float*)(w + scalesAt))[at / PACKED_BLOCK];
    if (type == PACKED_Q8) return convert_float4(vload4(0, (__global const char*)w + at)) * scale;
    const int inBlock = kk % PACKED_BLOCK;
    const uchar4 bytes = vload4(0, w + (at - inBlock) / 2 + (inBlock & 15));
    const int4 nibbles = inBlock < 16 ? convert_int4(bytes & (uchar)15) : convert_int4(bytes >> (uchar)4);
    return convert_float4(nibbles - 8) * scale;
}

// One weight, w[row, kk].
inline float weight_load1(__global const uchar* w, int wo, int type, int scalesAt, int row, int k, int kk)
{
    const long at = (long)row * k + kk;
    if (type == WEIGHTS_F32) return ((__global const float*)w)[wo + at];
    if (type == PACKED_F16) return vload_half(0, (__global const half*)w + at);
    if (type == PACKED_BF16) return as_float((uint)((__global const ushort*)w)[at] << 16);
    const float scale = ((__global const float*)(w + scalesAt))[at / PACKED_BLOCK];
    if (type == PACKED_Q8) return ((__global const char*)w)[at] * scale;
    const int inBlock = kk % PACKED_BLOCK;
    const uchar byte = w[(at - inBlock) / 2 + (inBlock & 15)];
    return ((inBlock < 16 ? byte & 15 : byte >> 4) - 8) * scale;
}
