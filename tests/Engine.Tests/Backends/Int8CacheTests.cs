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
}
