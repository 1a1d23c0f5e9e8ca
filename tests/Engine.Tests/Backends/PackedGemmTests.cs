using System.Runtime.Intrinsics.X86;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Backends;

/// <summary>
/// The CPU backend's skinny products of packed weights with each kernel width (AVX-512 only where the hardware
/// has it) against dot products with the decoded weights: every weight type, 1 to 9 rows of x (whole and partial
/// groups of x rows), weight rows that are not a multiple of the 4-row group, columns with and without a tail.
/// </summary>
public sealed unsafe class PackedGemmTests
{
    public static TheoryData<WeightType, bool> Kernels()
    {
        var data = new TheoryData<WeightType, bool>();
        foreach (var type in new[] { WeightType.F16, WeightType.BF16, WeightType.Q8, WeightType.Q4 })
        {
            data.Add(type, false);
            data.Add(type, true);
        }
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Kernels))]
    public void Skinny_product_matches_dot_products_with_the_decoded_weights(WeightType type, bool wide)
    {
        Skip.IfNot(Avx2.IsSupported && Fma.IsSupported, "no AVX2 on this machine");
        Skip.If(wide && !Avx512F.IsSupported, "no AVX-512 on this machine");
        Properties.ForAll(Properties.Ints((1, 9), (1, 11), (1, 7), (0, 1000)), s =>
        {
            var (m, n, seed) = (s[0], s[1], s[3]);
            int k = type is WeightType.Q8 or WeightType.Q4 ? 32 * s[2] : 8 + 13 * s[2];
            var packed = PackedMatrix.Pack(type, RandomData.Uniform(seed, n * k), n, k);
            var decoded = packed.Decode();
            var x = RandomData.Uniform(seed + 1, m * k);
            var y = new float[m * n];
            // A range of weight rows that starts past row 0, as a core's share of the product does.
            int j0 = n > 2 ? 1 : 0;
            fixed (float* xp = x, yp = y)
            fixed (byte* wp = packed.Data)
                PackedGemm.Skinny(type, xp, m, k, wp, (float*)(wp + packed.ScaleOffset), yp, n, j0, n, wide);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double expected = 0;
                    if (j >= j0)
                        for (int c = 0; c < k; c++) expected += (double)x[i * k + c] * decoded[j * k + c];
                    Assert.True(Math.Abs(expected - y[i * n + j]) <= 1e-5 * k,
                        $"{type} m={m} n={n} k={k} y[{i}, {j}]: expected {expected}, got {y[i * n + j]}");
                }
        }, cases: 40);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Float16_cache_rows_are_dotted_and_accumulated_as_their_float32_values(bool wide)
    {
        Skip.IfNot(Avx2.IsSupported && Fma.IsSupported, "no AVX2 on this machine");
        Skip.If(wide && !Avx512F.IsSupported, "no AVX-512 on this machine");
        Properties.ForAll(Properties.Ints((0, 70), (0, 1000)), s =>
        {
            var (length, seed) = (s[0], s[1]);
            // Subnormal float16s among them: the conversion must be exact there too.
            var halves = RandomData.Uniform(seed, length, 2f).Select((v, i) => (Half)(i % 5 == 0 ? v * 1e-5f : v)).ToArray();
            var x = RandomData.Uniform(seed + 1, length);
            var sum = RandomData.Uniform(seed + 2, length);
            double expectedDot = 0;
            for (int p = 0; p < length; p++) expectedDot += (double)x[p] * (float)halves[p];
            Assert.True(Math.Abs(expectedDot - PackedGemm.DotHalf(x, halves, wide)) <= 1e-5 * (length + 1), $"DotHalf of {length}");
            var expectedSum = sum.Select((v, p) => v + (float)halves[p] * 0.75f).ToArray();
            PackedGemm.AddScaledHalf(halves, 0.75f, sum, wide);
            RandomData.AssertClose(expectedSum, sum, 1e-6, $"AddScaledHalf of {length}");
        }, cases: 60);
    }
}
