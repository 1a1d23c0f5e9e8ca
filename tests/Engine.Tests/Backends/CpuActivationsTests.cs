using MusicGen.Engine.Backends.Cpu;

namespace MusicGen.Tests.Backends;

public class CpuActivationsTests
{
    /// <summary>
    /// GELU with the exact erf, 16 lanes at a time and through the narrower vectors (the tail, CPUs without AVX-512),
    /// against erf in double precision from −12 to 12, where e^(−z²) underflows in the far negative tail.
    /// </summary>
    [Fact]
    public void Gelu_stays_within_the_erf_approximations_error_in_both_vector_widths_and_the_tails()
    {
        var x = Enumerable.Range(0, 2401).Select(i => -12f + i / 100f).ToArray();
        var wide = new float[x.Length];
        var narrow = new float[x.Length];
        CpuActivations.MapWide<GeluActivation>(x, wide);
        CpuActivations.Map<GeluActivation>(x, narrow);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = 0.5 * x[i] * (1 + MathNet.Numerics.SpecialFunctions.Erf(x[i] / Math.Sqrt(2)));
            // erf's approximation is within 1.5e-7, times |x| / 2; and a few float roundings of a result near |x|.
            double tolerance = 2e-7 * Math.Max(1, Math.Abs(x[i]));
            Assert.True(Math.Abs(wide[i] - exact) <= tolerance, $"GELU({x[i]}) = {wide[i]}, expected {exact}");
            Assert.True(Math.Abs(narrow[i] - exact) <= tolerance, $"GELU({x[i]}) = {narrow[i]} (narrow), expected {exact}");
        }
    }
}
