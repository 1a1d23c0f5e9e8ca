using System.Numerics;
using System.Runtime.InteropServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>An elementwise activation evaluated a whole vector at a time.</summary>
internal interface IVectorActivation
{
    static abstract Vector<float> Apply(Vector<float> x);
}

/// <summary>
/// The activations in SIMD float arithmetic. A decoding step of musicgen-small evaluates 200 000 GELUs and the
/// codec tens of millions of ELUs, too many for scalar double-precision library calls; the approximations
/// here stay within a few 1e-7 of the exact functions.
/// </summary>
internal static class CpuActivations
{
    /// <summary>output = f(input) a vector at a time; the tail goes through the same vector code, zero-padded.</summary>
    public static void Map<T>(ReadOnlySpan<float> input, Span<float> output) where T : IVectorActivation
    {
        int width = Vector<float>.Count, n = input.Length, i = 0;
        ref float source = ref MemoryMarshal.GetReference(input);
        ref float target = ref MemoryMarshal.GetReference(output);
        for (; i <= n - width; i += width)
            T.Apply(Vector.LoadUnsafe(ref source, (nuint)i)).StoreUnsafe(ref target, (nuint)i);
        if (i == n) return;
        Span<float> tail = stackalloc float[width];
        tail.Clear();
        input[i..].CopyTo(tail);
        T.Apply(new Vector<float>(tail)).CopyTo(tail);
        tail[..(n - i)].CopyTo(output[i..]);
    }

    /// <summary>
    /// ELU with alpha 1 (x for x &gt; 0, else eˣ − 1) as max(x, 0) + (e^min(x, 0) − 1), in L1-sized chunks through
    /// TensorPrimitives' exponential: the codec evaluates about 10⁸ of them per 10 s of audio, and this takes the
    /// widest vectors the machine has. output may be input.
    /// </summary>
    public static void Elu(ReadOnlySpan<float> input, Span<float> output)
    {
        const int chunk = 512;
        Span<float> exponential = stackalloc float[chunk];
        for (int i = 0; i < input.Length; i += chunk)
        {
            int n = Math.Min(chunk, input.Length - i);
            var x = input.Slice(i, n);
            var e = exponential[..n];
            var y = output.Slice(i, n);
            TensorPrimitives.Min(x, 0f, e);
            TensorPrimitives.Exp(e, e);
            TensorPrimitives.Add(e, -1f, e);
            TensorPrimitives.Max(x, 0f, y);
            TensorPrimitives.Add(y, e, y);
        }
    }
}

/// <summary>
/// GELU with the exact erf, x · Φ(x), through Abramowitz and Stegun's 7.1.26 (|error of erf| ≤ 1.5e-7): with
/// q = poly(t) · e^(−z²) = 1 − erf(z) for z = |x|/√2, Φ(x) is 1 − q/2 above zero and q/2 below, which keeps the
/// far negative tail accurate instead of cancelling 1 − 1.
/// </summary>
internal readonly struct GeluActivation : IVectorActivation
{
    public static Vector<float> Apply(Vector<float> x)
    {
        var z = Vector.Abs(x) * new Vector<float>(0.70710678f);
        var t = Vector<float>.One / (Vector<float>.One + new Vector<float>(0.3275911f) * z);
        var poly = t * (new Vector<float>(0.254829592f) + t * (new Vector<float>(-0.284496736f) + t * (new Vector<float>(1.421413741f)
            + t * (new Vector<float>(-1.453152027f) + t * new Vector<float>(1.061405429f)))));
        var q = poly * Vector.Exp(-(z * z));
        var half = new Vector<float>(0.5f);
        var cdf = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<float>.Zero), Vector<float>.One - half * q, half * q);
        return x * cdf;
    }
}

/// <summary>GELU with the tanh approximation (gelu_new): ½x(1 + tanh(√(2/π)(x + 0.044715x³))), tanh u = 1 − 2/(e^2u + 1).</summary>
internal readonly struct GeluTanhActivation : IVectorActivation
{
    public static Vector<float> Apply(Vector<float> x)
    {
        var u = new Vector<float>(0.7978845608f) * (x + new Vector<float>(0.044715f) * x * x * x);
        var tanh = Vector<float>.One - new Vector<float>(2f) / (Vector.Exp(u + u) + Vector<float>.One);
        return new Vector<float>(0.5f) * x * (Vector<float>.One + tanh);
    }
}
