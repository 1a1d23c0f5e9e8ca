using MusicGen.Loaders;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Tensors;

/// <summary>
/// Stops a run whose numbers have stopped being numbers: a checkpoint with NaN or infinite weights, or input audio
/// holding them, would otherwise write a file of NaNs and report success.
/// </summary>
public static class FiniteCheck
{
    /// <summary>Throws a <see cref="MusicGenException"/> naming <paramref name="stage"/> and the first offending position.</summary>
    public static void Require(ReadOnlySpan<float> values, string stage) => Require(values, stage, 0, values.Length);

    /// <summary>The same for a part of something longer: <paramref name="values"/> are positions [first, first + length) of <paramref name="total"/>.</summary>
    public static void Require(ReadOnlySpan<float> values, string stage, long first, long total)
    {
        // One vectorised sum is finite unless a value is NaN or infinite (or the sum overflows, which the scan clears).
        if (float.IsFinite(TensorPrimitives.SumOfMagnitudes(values))) return;
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new MusicGenException($"{stage} holds a non-finite value ({values[i]} at position {first + i} of {total})");
    }
}
