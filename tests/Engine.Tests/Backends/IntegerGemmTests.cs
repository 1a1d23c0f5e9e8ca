using MusicGen.Engine.Backends.Cpu;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Backends;

/// <summary>
/// The CPU's integer dot products of q8 and q4 weights (where the CPU has AVX-VNNI) against the decoded weights
/// times the activations rounded as they round them: whole and odd pairs of x rows, more rows than a tile, weight
/// rows that fill no whole group, a range of groups that starts past the first (a core's share), and the
/// activations quantized in two parts, as two cores do; q4 with the 256-bit kernels and (with AVX-512BW) the 512-bit ones.
/// </summary>
public sealed unsafe class IntegerGemmTests
{
    /// <summary>Up to 4 rows of x go through the kernels with their sums in registers, more in tiles with their sums in memory.</summary>
    [SkippableTheory]
    [InlineData(WeightType.Q8, 1, 4, false)]
    [InlineData(WeightType.Q8, 5, 70, false)]
    [InlineData(WeightType.Q4, 1, 4, false)]
    [InlineData(WeightType.Q4, 5, 70, false)]
    [InlineData(WeightType.Q4, 1, 4, true)]
    [InlineData(WeightType.Q4, 5, 70, true)]
    public void Products_equal_the_decoded_weights_times_the_rounded_activations(WeightType type, int fewestRows, int mostRows, bool wide)
    {
        Skip.IfNot(IntegerGemm.IsSupported, "no AVX-VNNI on this machine");
        Skip.If(wide && !IntegerGemm.IsWideSupported, "no AVX-512BW on this machine");
        Properties.ForAll(Properties.Ints((fewestRows, mostRows), (1, 40), (1, 9), (0, 1000)), s =>
        {
            var (m, n, k, seed) = (s[0], s[1], 32 * s[2], s[3]);
            var packed = PackedMatrix.Pack(type, RandomData.Uniform(seed, n * k), n, k);
            var decoded = packed.Decode();
            var groups = IntegerGemm.Interleave(packed);
            var x = RandomData.Uniform(seed + 1, m * k, 3f);
            var y = Multiply(type, groups, x, m, n, k, out int firstRow, wide: wide);
            var expected = NaiveOps.Linear(NaiveOps.RoundedToInt8Blocks(x), decoded, null, m, n, k);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float wanted = j < firstRow ? 0 : expected[i * n + j];
                    Assert.True(Math.Abs(wanted - y[i * n + j]) <= 1e-5 * k, $"{type} m={m} n={n} k={k} y[{i}, {j}]: expected {wanted}, got {y[i * n + j]}");
                }
        }, cases: 30);
    }

    /// <summary>
    /// The 512-bit q4 kernels sum each block in int16 before widening: with every weight but each block's first
    /// (the extreme, q = −8) at the largest nibble (q = 7, stored 15) and the inputs of two rows all at +127 and
    /// −127, the sums are at their largest, and must still equal the 256-bit kernels' int32 sums exactly.
    /// </summary>
    [SkippableTheory]
    [InlineData(2)]
    [InlineData(9)]
    public void Wide_q4_products_equal_the_256_bit_ones_exactly_at_the_largest_sums(int m)
    {
        Skip.IfNot(IntegerGemm.IsWideSupported, "no AVX-VNNI and AVX-512BW on this machine");
        const int n = 37, k = 128;
        var weights = Enumerable.Range(0, n * k).Select(i => i % 32 == 0 ? -8f : 7f).ToArray();
        var packed = PackedMatrix.Pack(WeightType.Q4, weights, n, k);
        Assert.Equal(0x_ff, packed.Data[1]);
        var groups = IntegerGemm.Interleave(packed);
        var x = RandomData.Uniform(4, m * k);
        Array.Fill(x, 1f, 0, k);
        Array.Fill(x, -1f, k, k);
        var wide = Multiply(WeightType.Q4, groups, x, m, n, k, out _, firstGroup: 0, wide: true);
        var narrow = Multiply(WeightType.Q4, groups, x, m, n, k, out _, firstGroup: 0, wide: false);
        Assert.Equal(narrow, wide);
    }

    [SkippableFact]
    public void A_value_that_is_not_finite_makes_every_output_of_its_row_not_finite()
    {
        Skip.IfNot(IntegerGemm.IsSupported, "no AVX-VNNI on this machine");
        const int m = 3, n = 9, k = 96;
        var packed = PackedMatrix.Pack(WeightType.Q8, RandomData.Uniform(1, n * k), n, k);
        var x = RandomData.Uniform(2, m * k);
        x[k + 40] = float.NaN;
        x[2 * k + 70] = float.PositiveInfinity;
        var y = Multiply(WeightType.Q8, IntegerGemm.Interleave(packed), x, m, n, k, out _, firstGroup: 0, wide: false);
        Assert.All(y.AsSpan(0, n).ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.All(y.AsSpan(n).ToArray(), v => Assert.False(float.IsFinite(v)));
    }

    [Theory]
    [InlineData(WeightType.Q8)]
    [InlineData(WeightType.Q4)]
    public void Row_groups_decode_to_the_packed_weights(WeightType type)
    {
        Properties.ForAll(Properties.Ints((1, 40), (1, 5), (0, 1000)), s =>
        {
            var (n, k, seed) = (s[0], 32 * s[1], s[2]);
            var packed = PackedMatrix.Pack(type, RandomData.Uniform(seed, n * k), n, k);
            var decoded = packed.Decode();
            var groups = IntegerGemm.Interleave(packed);
            Assert.True(groups.Offset + IntegerGemm.ByteCount(type, n, k) <= groups.Array.Length);
            int j0 = n / 3;
            var panel = new float[(n - j0) * k];
            fixed (float* p = panel)
                IntegerGemm.Decode(type, groups, k, j0, n, p);
            Assert.Equal(decoded.AsSpan(j0 * k).ToArray(), panel);
        }, cases: 30);
    }

    /// <summary>y = x · Wᵀ for the row groups from <paramref name="firstGroup"/> (default: the second, where there are two) on; rows before firstRow stay 0.</summary>
    private static float[] Multiply(WeightType type, PinnedBytes groups, float[] x, int m, int n, int k, out int firstRow, bool wide, int? firstGroup = null)
    {
        int groupRows = IntegerGemm.GroupRowsOf(type);
        int count = (n + groupRows - 1) / groupRows, first = firstGroup ?? (count > 1 ? 1 : 0);
        firstRow = first * groupRows;
        var memory = new float[IntegerGemm.QuantizedFloats(m, k)];
        var y = new float[m * n];
        fixed (float* xp = x, mp = memory, yp = y)
        {
            // Row by row in reverse, as cores quantize their shares in any order.
            for (int i = m - 1; i >= 0; i--) IntegerGemm.QuantizeRow(type, xp + (long)i * k, i, m, k, mp);
            IntegerGemm.Multiply(type, groups, k, mp, m, yp, n, first, count, wide);
        }
        return y;
    }
}
