using ILGPU;
using Half = ILGPU.Half;
using ILGPU.Algorithms;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// The ILGPU kernels: plain static C# methods that ILGPU compiles to PTX (CUDA), OpenCL C or emulates on the CPU.
/// Tensors arrive as views that start at the tensor's first element. Partial files by kind; this one holds the
/// one-thread-per-element kernels (auto-grouped: ILGPU picks the group size, the index never exceeds the extent).
/// Outputs may alias inputs: each thread reads its element before writing it.
/// </summary>
internal static partial class IlgpuKernels
{
    public static void Add(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y) => y[i] = a[i] + b[i];

    public static void Multiply(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y) => y[i] = a[i] * b[i];

    /// <summary>The formulas of the CPU backend's activations (CpuActivations), so both agree to float rounding.</summary>
    public static void Activation(Index1D i, ArrayView<float> x, ArrayView<float> y, int kind) => y[i] = Activate(x[i], kind);

    /// <summary>An <see cref="Engine.Backends.ActivationKind"/> of v (also a linear product's epilogue).</summary>
    public static float Activate(float v, int kind)
    {
        if (kind == (int)Engine.Backends.ActivationKind.Relu) return v > 0f ? v : 0f;
        if (kind == (int)Engine.Backends.ActivationKind.Elu) return v > 0f ? v : MathF.Exp(v) - 1f;
        if (kind == (int)Engine.Backends.ActivationKind.Gelu) return v * NormalCdf(v);
        return 0.5f * v * (1f + TanhByExp(0.7978845608f * (v + 0.044715f * v * v * v)));
    }

    /// <summary>
    /// Φ(x) through Abramowitz and Stegun 7.1.26 (|error of erf| ≤ 1.5e-7), as the CPU backend: the device has no
    /// erf of its own, and q = 1 − erf(|x|/√2) keeps the far negative tail accurate instead of cancelling 1 − 1.
    /// </summary>
    private static float NormalCdf(float x)
    {
        float z = MathF.Abs(x) * 0.70710678f;
        float t = 1f / (1f + 0.3275911f * z);
        float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        float q = poly * MathF.Exp(-(z * z));
        return x >= 0f ? 1f - 0.5f * q : 0.5f * q;
    }

    /// <summary>tanh u = 1 − 2 / (e^2u + 1): saturates to ±1 instead of overflowing.</summary>
    private static float TanhByExp(float u) => 1f - 2f / (MathF.Exp(u + u) + 1f);

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    public static void ScaleRows(Index1D i, ArrayView<float> x, ArrayView<float> scales, ArrayView<float> y, int d) =>
        y[i] = x[i] * scales[i / d];

    /// <summary>y[r, e] (+)= scale · Σₛ table[ids[r · each + s], e], in the order of the ids; X runs along the row, Y over rows.</summary>
    public static void Gather(Index2D index, ArrayView<float> table, ArrayView<int> ids, ArrayView<float> y, int d, int each, float scale, int accumulate)
    {
        int e = index.X, r = index.Y;
        long target = (long)r * d + e;
        float sum = accumulate != 0 ? y[target] : 0f;
        for (int s = 0; s < each; s++) sum += scale * table[(long)ids[r * each + s] * d + e];
        y[target] = sum;
    }

    /// <summary>Block b's element i: destination[b · destinationStride + i] = source[b · sourceStride + i].</summary>
    public static void CopyBlocks(Index2D index, ArrayView<float> source, long sourceStride, ArrayView<float> destination, long destinationStride) =>
        destination[index.Y * destinationStride + index.X] = source[index.Y * sourceStride + index.X];

    /// <summary>CopyBlocks into a float16 cache (seen as its bits), each element rounded to the nearest float16.</summary>
    public static void CopyBlocksToHalf(Index2D index, ArrayView<float> source, long sourceStride, ArrayView<ushort> destination, long destinationStride) =>
        destination[index.Y * destinationStride + index.X] = HalfBits(source[index.Y * sourceStride + index.X]);

    /// <summary>
    /// CopyBlocks into a q8 cache, one thread per 32 elements (index.X) of a copied block (index.Y): its scale
    /// d = max|x| / 127 into scales, each element as x · (1 / d) rounded to the nearest integer, ties to even, into
    /// values, as PackedMatrix quantizes a block of a q8 weight row. The views start at the destination's first block.
    /// </summary>
    public static void CopyBlocksToQ8(Index2D index, ArrayView<float> source, long sourceStride, ArrayView<sbyte> values, ArrayView<float> scales,
        long destinationStride)
    {
        const int block = PackedMatrix.BlockSize;
        QuantizeBlock(source, index.Y * sourceStride + (long)index.X * block, values, scales, index.Y * destinationStride + (long)index.X * block);
    }

    /// <summary>The 32 floats of source from element from into a q8 cache's block starting at element to (CopyBlocksToQ8).</summary>
    public static void QuantizeBlock(ArrayView<float> source, long from, ArrayView<sbyte> values, ArrayView<float> scales, long to)
    {
        const int block = PackedMatrix.BlockSize;
        float largest = 0f;
        for (int e = 0; e < block; e++) largest = MathF.Max(largest, MathF.Abs(source[from + e]));
        float scale = largest / 127f, inverse = scale == 0f ? 0f : 1f / scale;
        for (int e = 0; e < block; e++) values[to + e] = (sbyte)XMath.Clamp(XMath.RoundToEven(source[from + e] * inverse), -127f, 127f);
        scales[to / block] = scale;
    }

    /// <summary>
    /// The bits of the float16 nearest to a float32, ties to even, as System.Half and OpenCL's vstore_half_rte
    /// round: ILGPU's own conversion rounded otherwise on its CPU accelerator.
    /// </summary>
    public static ushort HalfBits(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        uint sign = (bits >> 16) & 0x8000u, magnitude = bits & 0x7FFFFFFFu;
        if (magnitude > 0x7F800000u) return (ushort)(sign | 0x7E00u);   // NaN
        if (magnitude >= 0x477FF000u) return (ushort)(sign | 0x7C00u);  // 65520 and above round to infinity
        if (magnitude >= 0x38800000u)                                    // 2⁻¹⁴ and above: a normal float16
        {
            uint rounded = magnitude + 0xFFFu + ((magnitude >> 13) & 1u);
            return (ushort)(sign | ((rounded - 0x38000000u) >> 13));
        }
        // A subnormal float16 counts units of 2⁻²⁴: the float's 24-bit significand shifted right, rounded.
        int shift = 126 - (int)(magnitude >> 23);
        if (shift > 24) return (ushort)sign;
        uint significand = (magnitude & 0x7FFFFFu) | 0x800000u;
        uint units = significand >> shift, rest = significand & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (units & 1u) != 0)) units++;
        return (ushort)(sign | units);
    }

    /// <summary>
    /// y[r, p] for p in [0, left + length + right): the interior copies x; the edge positions read the source index
    /// the host computed (PadIndex.Source), −1 meaning zero.
    /// </summary>
    public static void Pad1d(Index2D index, ArrayView<float> x, ArrayView<float> y, int length, int left, int padded, ArrayView<int> edges)
    {
        int p = index.X, r = index.Y;
        int source = p < left ? edges[p] : p < left + length ? p - left : edges[p - length];
        y[(long)r * padded + p] = source < 0 ? 0f : x[(long)r * length + source];
    }

    /// <summary>norms[c] = |codebook[c, :]|², once per search rather than once per row.</summary>
    public static void CodebookNorms(Index1D index, ArrayView<float> codebook, ArrayView<float> norms, int d)
    {
        int c = index.X;
        float sum = 0f;
        for (int e = 0; e < d; e++)
        {
            float v = codebook[(long)c * d + e];
            sum += v * v;
        }
        norms[c] = sum;
    }

    /// <summary>
    /// One LSTM step t for every (unit j, batch row b), torch gate order i, f, g, o. z [B, 4H] holds W_hh · h[t − 1]
    /// (ignored at t = 0, where h and c start at zero); gates [B, T, 4H] the input projection with both biases.
    /// </summary>
    public static void LstmCell(Index2D index, ArrayView<float> gates, ArrayView<float> z, ArrayView<float> cell, ArrayView<float> output,
        int hidden, int steps, int t)
    {
        int j = index.X, b = index.Y;
        long gate = ((long)b * steps + t) * 4 * hidden + j, recurrent = (long)b * 4 * hidden + j;
        bool previous = t > 0;
        float input = Sigmoid(gates[gate] + (previous ? z[recurrent] : 0f));
        float forget = Sigmoid(gates[gate + hidden] + (previous ? z[recurrent + hidden] : 0f));
        float candidate = MathF.Tanh(gates[gate + 2 * hidden] + (previous ? z[recurrent + 2 * hidden] : 0f));
        float outputGate = Sigmoid(gates[gate + 3 * hidden] + (previous ? z[recurrent + 3 * hidden] : 0f));
        long c = (long)b * hidden + j;
        float value = forget * (previous ? cell[c] : 0f) + input * candidate;
        cell[c] = value;
        output[((long)b * steps + t) * hidden + j] = outputGate * MathF.Tanh(value);
    }
}
