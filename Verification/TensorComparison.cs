using MusicGen.Loaders;

namespace MusicGen.Verification;

/// <summary>How a verification row measures the error (the row passes when it is at most its tolerance).</summary>
public enum ErrorMetric
{
    /// <summary>max |engine − reference| (float32 weights: golden/FORMAT.md).</summary>
    MaxAbs,
    /// <summary>‖engine − reference‖₂ / ‖reference‖₂ (low-precision weights, float tensors).</summary>
    RelativeRms,
    /// <summary>The share of elements that differ (low-precision weights, integer tensors such as greedy codes).</summary>
    Disagreement,
}

/// <summary>One line of a verification report: how far the engine's tensor is from the reference.</summary>
public sealed record VerificationRow(string Name, string Shape, double MaxAbsError, double Tolerance, bool Passed, string? Note = null,
    ErrorMetric Metric = ErrorMetric.MaxAbs);

/// <summary>The comparison rules of golden/FORMAT.md.</summary>
public static class TensorComparison
{
    public const double AbsoluteTolerance = 1e-4;
    public const double RelativeTolerance = 1e-4;

    /// <summary>float32: max |engine − reference| ≤ 1e-4 + 1e-4 · max |reference|.</summary>
    public static VerificationRow CompareFloat(string name, int[] expectedShape, ReadOnlySpan<float> expected, int[] shape, ReadOnlySpan<float> actual)
    {
        double scale = 0;
        foreach (float v in expected) scale = Math.Max(scale, Math.Abs(v));
        double tolerance = AbsoluteTolerance + RelativeTolerance * scale;
        if (!ShapeText.Equal(expectedShape, shape))
            return new VerificationRow(name, ShapeText.Format(expectedShape), double.NaN, tolerance, false, $"engine gave shape {ShapeText.Format(shape)}");
        double maxError = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(error)) error = double.PositiveInfinity;
            maxError = Math.Max(maxError, error);
        }
        return new VerificationRow(name, ShapeText.Format(shape), maxError, tolerance, maxError <= tolerance);
    }

    /// <summary>int64: exactly equal.</summary>
    public static VerificationRow CompareInt(string name, int[] expectedShape, ReadOnlySpan<long> expected, int[] shape, ReadOnlySpan<long> actual)
    {
        if (!ShapeText.Equal(expectedShape, shape))
            return new VerificationRow(name, ShapeText.Format(expectedShape), double.NaN, 0, false, $"engine gave shape {ShapeText.Format(shape)}");
        long maxError = 0;
        int mismatches = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            long error = Math.Abs(actual[i] - expected[i]);
            if (error != 0) mismatches++;
            maxError = Math.Max(maxError, error);
        }
        return new VerificationRow(name, ShapeText.Format(shape), maxError, 0, mismatches == 0,
            mismatches == 0 ? null : $"{mismatches} of {expected.Length} differ");
    }
}
