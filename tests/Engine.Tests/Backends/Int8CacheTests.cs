using System.Runtime.Intrinsics.X86;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Backends;

/// <summary>
/// The CPU's q8 cache arithmetic with each kernel width (AVX-512 only where the hardware has it) against the
/// dequantized elements: a row's heads, starting on 16-element, on 8-element and on no vector boundary, with head
/// dimensions that are and are not multiples of the vector, within and across blocks.
/// </summary>
public sealed unsafe class Int8CacheTests
{
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Dot_products_and_weighted_sums_of_a_rows_heads_use_the_dequantized_elements(bool wide)
    {
        Skip.IfNot(Avx2.IsSupported && Fma.IsSupported, "no AVX2 on this machine");
        Skip.If(wide && !Avx512F.IsSupported, "no AVX-512 on this machine");
        // Head dimensions that are multiples of 16, of 8 only, and of neither; rows that start on 16 elements, on 8
        // only, and elsewhere.
        int[] headDims = [16, 32, 64, 8, 24, 12, 6, 3];
        Properties.ForAll(Properties.Ints((2, 8), (0, 7), (1, 4), (0, 2), (0, 1000)), s =>
        {
            var (blocks, dimChoice, heads, alignment, seed) = (s[0], s[1], s[2], s[3], s[4]);
            int count = blocks * PackedMatrix.BlockSize, dh = headDims[dimChoice];
            heads = Math.Min(heads, count / dh);
            int length = heads * dh;
            long start = Math.Min(count - length, alignment switch { 0 => 16 * (seed % 3), 1 => 8, _ => 5 });
            var elements = RandomData.Uniform(seed, count, 3f);
            var packed = PackedMatrix.Pack(WeightType.Q8, elements, 1, count);
            var decoded = packed.Decode();
            var x = RandomData.Uniform(seed + 1, length);
            var w = RandomData.Uniform(seed + 2, heads);
            var sum = RandomData.Uniform(seed + 3, length);
            var dots = new float[heads];
            fixed (byte* bytes = packed.Data)
            fixed (float* xs = x, ws = w, sums = sum, ds = dots)
            {
                sbyte* values = (sbyte*)bytes;
                float* scales = (float*)(bytes + packed.ScaleOffset);
                Int8Cache.Dots(xs, values, scales, start, heads, dh, ds, wide);
                for (int g = 0; g < heads; g++)
                {
                    double expected = 0;
                    for (int p = g * dh; p < (g + 1) * dh; p++) expected += (double)x[p] * decoded[start + p];
                    Assert.True(Math.Abs(expected - dots[g]) <= 1e-5 * (dh + 1), $"head {g} of {dh} from {start}: {expected} against {dots[g]}");
                }
                var expectedSum = sum.Select((v, p) => v + decoded[start + p] * w[p / dh]).ToArray();
                Int8Cache.AddScaled(values, scales, start, heads, dh, ws, sums, wide);
                RandomData.AssertClose(expectedSum, sum, 1e-6, $"AddScaled of {heads} heads of {dh} from {start}");
            }
        }, cases: 80);
    }

    [Fact]
    public void Quantizing_gives_the_bytes_of_a_q8_weight_row()
    {
        Properties.ForAll(Properties.Ints((1, 8), (0, 1000)), s =>
        {
            var (blocks, seed) = (s[0], s[1]);
            int count = blocks * PackedMatrix.BlockSize;
            // Some blocks all zero, some with exact ties (multiples of a half, scale 1), the rest random.
            var elements = RandomData.Uniform(seed, count, 50f).Select((v, i) => (i / PackedMatrix.BlockSize % 3) switch
            {
                0 => v,
                1 => i % PackedMatrix.BlockSize == 0 ? 127f : MathF.Round(v * 2) / 2,
                _ => seed % 2 == 0 ? 0f : v * 1e-20f,
            }).ToArray();
            var expected = PackedMatrix.Pack(WeightType.Q8, elements, 1, count);
            var values = new sbyte[count];
            var scales = new float[blocks];
            fixed (sbyte* v = values)
            fixed (float* d = scales)
                Int8Cache.Quantize(elements, v, d);
            // A q8 weight's scale carries the sign of the block's largest value and its integers the opposite one
            // with it; the cache's scale is positive. Both stand for the same numbers.
            var weightScales = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(expected.Data.AsSpan((int)expected.ScaleOffset));
            for (int i = 0; i < count; i++)
            {
                float weightScale = weightScales[i / PackedMatrix.BlockSize];
                int sign = float.IsNegative(weightScale) ? -1 : 1;
                Assert.Equal(sign * (sbyte)expected.Data[i], (int)values[i]);
                Assert.Equal(MathF.Abs(weightScale), scales[i / PackedMatrix.BlockSize]);
            }
        });
    }

    [SkippableFact]
    public void Tile_dot_products_are_the_quantized_querys_products_with_the_keys()
    {
        Skip.IfNot(Int8Cache.IntegerDots, "no AVX-VNNI on this machine");
        const int dh = Int8Cache.TileHeadDim, tile = Int8Cache.Tile;
        Properties.ForAll(Properties.Ints((1, 5), (0, 3), (0, 3), (0, 1000)), s =>
        {
            // Rows wider than their heads (a group of heads of a wider row), the first one blocks into the cache.
            var (heads, spareBlocks, startBlocks, seed) = (s[0], s[1], s[2], s[3]);
            int rowStride = heads * dh + spareBlocks * PackedMatrix.BlockSize, scoreStride = tile + seed % 3;
            long start = startBlocks * PackedMatrix.BlockSize;
            int count = (int)start + tile * rowStride;
            // Key blocks of every magnitude, the extremes ±127 included, so no sum can hide in the int32 lanes' headroom.
            var elements = RandomData.Uniform(seed, count, 3f).Select((v, i) => i % 97 == 0 ? 3f : v * MathF.Pow(10, i / PackedMatrix.BlockSize % 5 - 2)).ToArray();
            var x = RandomData.Uniform(seed + 1, heads * dh, 2f);
            var (keys, keyScales) = Quantized(elements);
            var (query, queryScales) = Quantized(x);
            float scale = 0.125f;
            var scores = new float[(heads - 1) * scoreStride + tile];
            fixed (sbyte* k = keys, q = query)
            fixed (float* ks = keyScales, qs = queryScales, ss = scores)
                Int8Cache.TileDots(q, qs, k, ks, start, rowStride, heads, scale, ss, scoreStride);
            for (int g = 0; g < heads; g++)
                for (int row = 0; row < tile; row++)
                {
                    // Each block's product is exact in integers, then scaled in float32: the error is that of the
                    // blocks' scaled products, which may cancel.
                    double expected = 0, magnitude = 0;
                    for (int b = 0; b < dh / PackedMatrix.BlockSize; b++)
                    {
                        int first = g * dh + b * PackedMatrix.BlockSize;
                        long e = start + (long)row * rowStride + first;
                        long integers = 0;
                        for (int p = 0; p < PackedMatrix.BlockSize; p++) integers += query[first + p] * keys[e + p];
                        double block = (double)scale * queryScales[first / PackedMatrix.BlockSize] * keyScales[e / PackedMatrix.BlockSize] * integers;
                        expected += block;
                        magnitude += Math.Abs(block);
                    }
                    float actual = scores[g * scoreStride + row];
                    Assert.True(Math.Abs(expected - actual) <= 1e-6 * magnitude, $"head {g} of row {row} ({heads} heads every {rowStride} from {start}): {expected} against {actual}");
                }
        }, cases: 60);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tile_weighted_sums_are_the_row_by_row_sums_exactly(bool wide)
    {
        Skip.IfNot(Avx2.IsSupported && Fma.IsSupported, "no AVX2 on this machine");
        Skip.If(wide && !Avx512F.IsSupported, "no AVX-512 on this machine");
        const int dh = Int8Cache.TileHeadDim, tile = Int8Cache.Tile;
        Properties.ForAll(Properties.Ints((1, 5), (0, 3), (0, 3), (0, 1000)), s =>
        {
            var (heads, spareBlocks, startBlocks, seed) = (s[0], s[1], s[2], s[3]);
            int rowStride = heads * dh + spareBlocks * PackedMatrix.BlockSize, wStride = tile + seed % 3;
            long start = startBlocks * PackedMatrix.BlockSize;
            var (values, scales) = Quantized(RandomData.Uniform(seed, (int)start + tile * rowStride, 3f));
            var w = RandomData.Uniform(seed + 1, (heads - 1) * wStride + tile);
            var tiled = RandomData.Uniform(seed + 2, heads * dh);
            var byRows = tiled.ToArray();
            var rowWeights = new float[heads];
            fixed (sbyte* v = values)
            fixed (float* d = scales, ws = w, t = tiled, r = byRows, rw = rowWeights)
            {
                Int8Cache.TileAddScaled(v, d, start, rowStride, heads, ws, wStride, t, wide);
                for (int row = 0; row < tile; row++)
                {
                    for (int g = 0; g < heads; g++) rowWeights[g] = w[g * wStride + row];
                    Int8Cache.AddScaled(v, d, start + (long)row * rowStride, heads, dh, rw, r, wide);
                }
            }
            Assert.Equal(byRows, tiled);
        }, cases: 60);
    }

    private static (sbyte[] Values, float[] Scales) Quantized(float[] elements)
    {
        var values = new sbyte[elements.Length];
        var scales = new float[elements.Length / PackedMatrix.BlockSize];
        fixed (sbyte* v = values)
        fixed (float* d = scales)
            Int8Cache.Quantize(elements, v, d);
        return (values, scales);
    }
}
