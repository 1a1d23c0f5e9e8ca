using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>An elementwise activation evaluated a whole vector at a time.</summary>
internal interface IVectorActivation
{
    static abstract Vector<float> Apply(Vector<float> x);
}

/// <summary>An activation with a 16-lane body beside its <see cref="Vector{T}"/> one (256 bits where AVX-512 is there too).</summary>
internal interface IWideActivation : IVectorActivation
{
    static abstract Vector512<float> Apply(Vector512<float> x);
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

    /// <summary>output = f(input), 16 lanes at a time where AVX-512 is there, the rest through <see cref="Map{T}"/>; output may be input.</summary>
    public static void MapWide<T>(ReadOnlySpan<float> input, Span<float> output) where T : IWideActivation
    {
        int n = input.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float source = ref MemoryMarshal.GetReference(input);
            ref float target = ref MemoryMarshal.GetReference(output);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                T.Apply(Vector512.LoadUnsafe(ref source, (nuint)i)).StoreUnsafe(ref target, (nuint)i);
        }
        Map<T>(input[i..], output[i..]);
    }

    // eˣ for x ≤ 0 (Cephes' expf): x = n·ln 2 + r with |r| ≤ ½ ln 2 (ln 2 in two parts), a degree-6 polynomial for
    // eʳ, then 2ⁿ through the exponent bits; within 2 ulp. Below −87 the result is 0 to float precision. Fused
    // multiply-adds throughout: the codec's residual units spend a quarter of their time here, and GELU's e^(−z²)
    // comes from here rather than the runtime's Exp, which computes float exponentials in double precision.
    private const float Log2E = 1.44269504f, Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    internal static Vector512<float> ExpOfNonPositive(Vector512<float> x)
    {
        x = Vector512.Max(x, Vector512.Create(-87f));
        var n = Vector512.Floor(Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(0.5f)));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return p * scale;
    }

    internal static Vector<float> ExpOfNonPositive(Vector<float> x)
    {
        x = Vector.Max(x, new Vector<float>(-87f));
        var n = Vector.Floor(Vector.FusedMultiplyAdd(x, new Vector<float>(Log2E), new Vector<float>(0.5f)));
        var r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2High), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2Low), r);
        var p = Vector.FusedMultiplyAdd(new Vector<float>(P0), r, new Vector<float>(P1));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(P2));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(P3));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(P4));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(P5));
        p = Vector.FusedMultiplyAdd(p, r * r, r) + Vector<float>.One;
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23));
        return p * scale;
    }
}

/// <summary>ELU with alpha 1: x for x &gt; 0, else eˣ − 1.</summary>
internal readonly struct EluActivation : IWideActivation
{
    public static Vector<float> Apply(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x,
            CpuActivations.ExpOfNonPositive(Vector.Min(x, Vector<float>.Zero)) - Vector<float>.One);

    public static Vector512<float> Apply(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x,
            CpuActivations.ExpOfNonPositive(Vector512.Min(x, Vector512<float>.Zero)) - Vector512<float>.One);
}

/// <summary>
/// GELU with the exact erf, x · Φ(x), through Abramowitz and Stegun's 7.1.26 (|error of erf| ≤ 1.5e-7): with
/// q = poly(t) · e^(−z²) = 1 − erf(z) for z = |x|/√2, Φ(x) is 1 − q/2 above zero and q/2 below, which keeps the
/// far negative tail accurate instead of cancelling 1 − 1.
/// </summary>
internal readonly struct GeluActivation : IWideActivation
{
    private const float InverseSqrt2 = 0.70710678f, P = 0.3275911f;
    private const float A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f, A4 = -1.453152027f, A5 = 1.061405429f;

    public static Vector<float> Apply(Vector<float> x)
    {
        var z = Vector.Abs(x) * new Vector<float>(InverseSqrt2);
        var t = Vector<float>.One / Vector.FusedMultiplyAdd(new Vector<float>(P), z, Vector<float>.One);
        var poly = Vector.FusedMultiplyAdd(new Vector<float>(A5), t, new Vector<float>(A4));
        poly = Vector.FusedMultiplyAdd(poly, t, new Vector<float>(A3));
        poly = Vector.FusedMultiplyAdd(poly, t, new Vector<float>(A2));
        poly = Vector.FusedMultiplyAdd(poly, t, new Vector<float>(A1)) * t;
        var halfQ = poly * CpuActivations.ExpOfNonPositive(-(z * z)) * new Vector<float>(0.5f);
        return x * Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<float>.Zero), Vector<float>.One - halfQ, halfQ);
    }

    public static Vector512<float> Apply(Vector512<float> x)
    {
        var z = Vector512.Abs(x) * Vector512.Create(InverseSqrt2);
        var t = Vector512<float>.One / Vector512.FusedMultiplyAdd(Vector512.Create(P), z, Vector512<float>.One);
        var poly = Vector512.FusedMultiplyAdd(Vector512.Create(A5), t, Vector512.Create(A4));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(A3));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(A2));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(A1)) * t;
        var halfQ = poly * CpuActivations.ExpOfNonPositive(-(z * z)) * Vector512.Create(0.5f);
        return x * Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.One - halfQ, halfQ);
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
