using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Safetensors;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Loaders;

/// <summary>The packed weight formats: sizes, error bounds of each type, stacking, and the option names.</summary>
public sealed class PackedMatrixTests
{
    [Theory]
    [InlineData(WeightType.F16)]
    [InlineData(WeightType.BF16)]
    [InlineData(WeightType.Q8)]
    [InlineData(WeightType.Q4)]
    public void Decoded_weights_stay_within_the_rounding_bound_of_their_type(WeightType type)
    {
        Properties.ForAll(Properties.Ints((1, 6), (1, 5), (0, 1000)), s =>
        {
            int rows = s[0], columns = 32 * s[1], seed = s[2];
            var weights = RandomData.Uniform(seed, rows * columns, 0.1f);
            var packed = PackedMatrix.Pack(type, weights, rows, columns);
            Assert.Equal(type.ByteCount(rows, columns), packed.Data.LongLength);
            var row = new float[columns];
            for (int r = 0; r < rows; r++)
            {
                packed.DecodeRow(r, row);
                for (int b = 0; b < columns / PackedMatrix.BlockSize; b++)
                {
                    var block = weights.AsSpan(r * columns + b * PackedMatrix.BlockSize, PackedMatrix.BlockSize);
                    float max = 0;
                    foreach (float w in block) max = Math.Max(max, Math.Abs(w));
                    for (int i = 0; i < PackedMatrix.BlockSize; i++)
                    {
                        float w = block[i], error = Math.Abs(row[b * PackedMatrix.BlockSize + i] - w);
                        // Half a step of each type: 2⁻¹¹ and 2⁻⁸ relative for f16 and bf16, half a quantum for q8; q4's
                        // levels reach −8·d but only 7·d, so values opposite the extreme may be off by a whole step.
                        double bound = type switch
                        {
                            WeightType.F16 => Math.Abs(w) * 0.00049 + 1e-7,
                            WeightType.BF16 => Math.Abs(w) * 0.0039 + 1e-38,
                            WeightType.Q8 => max / 127 * 0.5001,
                            _ => max / 8 * 1.0001,
                        };
                        Assert.True(error <= bound, $"{type.Name()} weight {w} decoded as {row[b * PackedMatrix.BlockSize + i]}");
                    }
                }
            }
        }, cases: 30);
    }

    /// <summary>
    /// The packed bytes are the format's definition written element by element: q8's round(w / d) clamped to ±127,
    /// q4's round(w / d) + 8 clamped to [0, 15] in nibbles, rounding halves to even; rows of blocks whose values
    /// fall on exact halves of a level, zero blocks and blocks whose extreme is negative included.
    /// </summary>
    [Theory]
    [InlineData(WeightType.Q8)]
    [InlineData(WeightType.Q4)]
    public void Quantized_bytes_are_the_formats_element_by_element_definition(WeightType type)
    {
        Properties.ForAll(Properties.Ints((1, 40), (1, 4), (0, 1000)), s =>
        {
            int rows = s[0], columns = 32 * s[1], seed = s[2];
            var weights = RandomData.Uniform(seed, rows * columns, 0.1f);
            var random = new Random(seed);
            for (int i = 0; i < weights.Length; i++)
                weights[i] = random.Next(4) switch { 0 => MathF.Round(weights[i] * 40) / 40 + 1 / 80f, 1 => 0, _ => weights[i] };
            var packed = PackedMatrix.Pack(type, weights, rows, columns);
            int blocks = columns / PackedMatrix.BlockSize;
            var scales = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(packed.Data.AsSpan((int)packed.ScaleOffset));
            for (int r = 0; r < rows; r++)
                for (int b = 0; b < blocks; b++)
                {
                    var block = weights.AsSpan(r * columns + b * PackedMatrix.BlockSize, PackedMatrix.BlockSize);
                    // The block's value of largest magnitude, with its sign (either one of a tie, as TensorPrimitives picks it).
                    float largest = block[System.Numerics.Tensors.TensorPrimitives.IndexOfMaxMagnitude(block)];
                    float d = type == WeightType.Q8 ? largest / 127f : largest / -8f, inverse = d == 0 ? 0 : 1 / d;
                    Assert.Equal(d, scales[r * blocks + b]);
                    for (int i = 0; i < PackedMatrix.BlockSize; i++)
                    {
                        int level = (int)MathF.Round(block[i] * inverse, MidpointRounding.ToEven);
                        int at = r * columns + b * PackedMatrix.BlockSize;
                        int stored = type == WeightType.Q8
                            ? (sbyte)packed.Data[at + i]
                            : (packed.Data[at / 2 + i % 16] >> (i < 16 ? 0 : 4) & 15) - 8;
                        Assert.Equal(type == WeightType.Q8 ? Math.Clamp(level, -127, 127) : Math.Clamp(level, -8, 7), stored);
                    }
                }
        }, cases: 40);
    }

    [Fact]
    public void Q4_keeps_the_largest_magnitude_of_each_block_exact()
    {
        var weights = RandomData.Uniform(7, 64);
        weights[5] = -3f;
        weights[40] = 2.5f;
        var row = new float[64];
        PackedMatrix.Pack(WeightType.Q4, weights, 1, 64).DecodeRow(0, row);
        Assert.Equal(-3f, row[5]);
        Assert.Equal(2.5f, row[40]);
    }

    [Fact]
    public void Stacking_stacks_the_rows()
    {
        var a = RandomData.Uniform(1, 2 * 64);
        var b = RandomData.Uniform(2, 3 * 64);
        foreach (var type in new[] { WeightType.F16, WeightType.Q8, WeightType.Q4 })
        {
            var stacked = PackedMatrix.Stack([PackedMatrix.Pack(type, a, 2, 64), PackedMatrix.Pack(type, b, 3, 64)]);
            var all = PackedMatrix.Pack(type, [.. a, .. b], 5, 64);
            Assert.Equal(all.Data, stacked.Data);
        }
    }

    [Fact]
    public void Block_types_of_a_width_that_is_not_whole_blocks_fall_back_to_f16()
    {
        Assert.Equal(WeightType.F16, PackedMatrix.Pack(WeightType.Q4, new float[2 * 48], 2, 48).Type);
        Assert.Equal(WeightType.Q8, PackedMatrix.Pack(WeightType.Q8, new float[2 * 64], 2, 64).Type);
    }

    [Fact]
    public void BFloat16_rounds_to_nearest_even()
    {
        Assert.Equal(0x3F80, ElementConversion.ToBFloat16(1f));
        Assert.Equal(0x3F80, ElementConversion.ToBFloat16(BitConverter.Int32BitsToSingle(0x3F808000))); // tie, even below
        Assert.Equal(0x3F82, ElementConversion.ToBFloat16(BitConverter.Int32BitsToSingle(0x3F818000))); // tie, even above
        Assert.Equal(0x3F81, ElementConversion.ToBFloat16(BitConverter.Int32BitsToSingle(0x3F808001)));
    }

    [Fact]
    public void Weight_type_names_parse_and_unknown_ones_are_a_clear_error()
    {
        foreach (var type in WeightTypes.All) Assert.Equal(type, WeightTypes.Parse(type.Name()));
        Assert.Contains("f32, f16, bf16, q8, q4", Assert.Throws<MusicGenException>(() => WeightTypes.Parse("q3")).Message);
    }
}

/// <summary>How the weight reader packs checkpoint matrices.</summary>
public sealed class WeightReaderMatrixTests
{
    private const string Fc1 = "decoder.model.decoder.layers.0.fc1.weight";

    private static CheckpointFolder Open(string caseName) => CheckpointFolder.Open(Path.Combine(TestPaths.Golden(caseName), "model"));

    [Fact]
    public void A_float16_checkpoint_is_taken_as_stored_for_f16()
    {
        using var checkpoint = Open("musicgen-mono-f16");
        var entry = checkpoint.Weights.Entry(Fc1);
        var matrix = checkpoint.AllWeights.WithMatrixType(WeightType.F16).Matrix(Fc1, entry.Shape[0], entry.Shape[1]);
        Assert.Equal(WeightType.F16, matrix.Type);
        Assert.Equal(checkpoint.Weights.FileOf(Fc1).Bytes(entry).ToArray(), matrix.Data);
    }

    [Theory]
    [InlineData(WeightType.BF16)]
    [InlineData(WeightType.Q8)]
    [InlineData(WeightType.Q4)]
    public void Reading_a_few_rows_at_a_time_packs_what_the_whole_matrix_packs(WeightType type)
    {
        foreach (string caseName in new[] { "musicgen-mono", "musicgen-mono-f16" })
        {
            using var checkpoint = Open(caseName);
            var entry = checkpoint.Weights.Entry(Fc1);
            int rows = entry.Shape[0], columns = entry.Shape[1];
            var whole = PackedMatrix.Pack(type, checkpoint.AllWeights.Float(Fc1).Data, rows, columns);
            var streamed = checkpoint.AllWeights.WithMatrixType(type).Matrix(Fc1, rows, columns);
            Assert.Equal(whole.Type, streamed.Type);
            Assert.Equal(whole.Data, streamed.Data);
        }
    }

    [Fact]
    public void A_matrix_of_the_wrong_shape_is_an_error_naming_it_and_both_shapes()
    {
        using var checkpoint = Open("musicgen-mono");
        var error = Assert.Throws<MusicGenException>(() => checkpoint.AllWeights.WithMatrixType(WeightType.Q8).Matrix(Fc1, 64, 128));
        Assert.Contains(Fc1, error.Message);
        Assert.Contains("[128, 64]", error.Message);
        Assert.Contains("[64, 128]", error.Message);
    }
}
