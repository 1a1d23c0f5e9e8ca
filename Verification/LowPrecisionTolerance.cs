using MusicGen.Engine.Backends;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Safetensors;

namespace MusicGen.Verification;

/// <summary>
/// How tensors of the text encoder and the decoder compare with the float32 reference when the linear layers run
/// with low-precision weights or the decoder's key/value cache is held in a low-precision type: float tensors by relative RMS error, integer ones (token ids, greedy codes,
/// delayed ids) by the share of elements that differ. Greedy decoding amplifies a small logit difference into a
/// different code whenever two codes are nearly tied, and every later step then differs too (in a long-form
/// piece, every later window), so the code tolerance is wider than the logits'. The generated audio follows the generated codes: it is compared by
/// relative RMS too, but passes whenever the codes pass, since a different code makes a different sound.
/// The table holds the worst figure over every golden case on the CPU with some margin (golden/README.md lists
/// them): the golden models are tiny random ones whose rows are one to four quantization blocks long and whose
/// logits are nearly tied, which makes their errors and code changes larger than a trained model's. q8 and q4
/// multiplied with integer dot products (the CPU with AVX-VNNI) have rows of their own: the activations are
/// rounded to 8 bits per block of 32 too.
/// </summary>
public sealed record LowPrecisionTolerance(double RelativeRms, double Disagreement)
{
    /// <summary>
    /// Weights of one type beside a key/value cache of another, on <paramref name="backend"/> (its kind of products):
    /// each figure the looser of the weights' row and the cache's. The cache's error is well below the low-precision
    /// weights' own (golden/README.md), so beside them it barely moves the results; it has rows of its own for
    /// float32 weights.
    /// </summary>
    public static LowPrecisionTolerance For(WeightType weights, WeightType cache, IBackend backend)
    {
        if (weights == WeightType.F32 && cache == WeightType.F32) throw new ArgumentOutOfRangeException(nameof(weights), "float32 uses the exact comparison");
        if (weights == WeightType.F32) return ForCache(cache);
        var row = For(weights, MultipliesWithIntegers(weights, backend));
        if (cache == WeightType.F32) return row;
        var cacheRow = ForCache(cache);
        return new(Math.Max(row.RelativeRms, cacheRow.RelativeRms), Math.Max(row.Disagreement, cacheRow.Disagreement));
    }

    /// <summary>A key/value cache in <paramref name="cache"/> (f16 or q8) beside float32 weights.</summary>
    public static LowPrecisionTolerance ForCache(WeightType cache) => cache switch
    {
        WeightType.F16 => new(0.002, 0.10),
        WeightType.Q8 => new(0.01, 0.45),
        _ => throw new ArgumentOutOfRangeException(nameof(cache), "a key/value cache is f32 (exact), f16 or q8"),
    };

    /// <summary>The row of <paramref name="type"/> for products in float32 or (q8, q4 only) with integer dot products.</summary>
    public static LowPrecisionTolerance For(WeightType type, bool integerProducts = false) => (type, integerProducts) switch
    {
        (WeightType.Q8, true) => new(0.045, 0.40),
        (WeightType.Q4, true) => new(0.35, 0.80),
        (WeightType.F16, _) => new(0.01, 0.20),
        (WeightType.BF16, _) => new(0.02, 0.35),
        (WeightType.Q8, _) => new(0.03, 0.40),
        (WeightType.Q4, _) => new(0.35, 0.80),
        _ => throw new ArgumentOutOfRangeException(nameof(type), "float32 uses the exact comparison"),
    };

    /// <summary>Whether <paramref name="backend"/> multiplies <paramref name="type"/> weights with integer dot products.</summary>
    public static bool MultipliesWithIntegers(WeightType type, IBackend backend) =>
        type is WeightType.Q8 or WeightType.Q4 && backend.Capabilities.IntegerProducts;

    /// <summary>
    /// The codec beside low-precision weights, whose only change is its LSTMs' bfloat16 recurrent matrices: its
    /// tensors' worst relative RMS error on the golden cases is a small fraction of this tolerance and no code
    /// differs (golden/README.md has the figures). The golden cases encode 3 to 26 frames, so one code in 20 that
    /// flips on a near tie is 5%: the code tolerance leaves room for one.
    /// </summary>
    public static LowPrecisionTolerance Codec { get; } = new(0.001, 0.10);

    public VerificationRow CompareFloat(string name, int[] expectedShape, ReadOnlySpan<float> expected, int[] shape, ReadOnlySpan<float> actual)
    {
        if (!ShapeText.Equal(expectedShape, shape))
            return new VerificationRow(name, ShapeText.Format(expectedShape), double.NaN, RelativeRms, false, $"engine gave shape {ShapeText.Format(shape)}", ErrorMetric.RelativeRms);
        double difference = 0, reference = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = (double)actual[i] - expected[i];
            difference += d * d;
            reference += (double)expected[i] * expected[i];
        }
        double error = reference == 0 ? (difference == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(difference / reference);
        if (double.IsNaN(error)) error = double.PositiveInfinity;
        return new VerificationRow(name, ShapeText.Format(shape), error, RelativeRms, error <= RelativeRms, null, ErrorMetric.RelativeRms);
    }

    public VerificationRow CompareInt(string name, int[] expectedShape, ReadOnlySpan<long> expected, int[] shape, ReadOnlySpan<long> actual)
    {
        if (!ShapeText.Equal(expectedShape, shape))
            return new VerificationRow(name, ShapeText.Format(expectedShape), double.NaN, Disagreement, false, $"engine gave shape {ShapeText.Format(shape)}", ErrorMetric.Disagreement);
        int mismatches = 0;
        for (int i = 0; i < expected.Length; i++)
            if (actual[i] != expected[i]) mismatches++;
        double share = expected.Length == 0 ? 0 : (double)mismatches / expected.Length;
        return new VerificationRow(name, ShapeText.Format(shape), share, Disagreement, share <= Disagreement,
            mismatches == 0 ? null : $"{mismatches} of {expected.Length} differ", ErrorMetric.Disagreement);
    }
}
