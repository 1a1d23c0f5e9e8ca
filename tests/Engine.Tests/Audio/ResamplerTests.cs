using FsCheck.Fluent;
using MusicGen.Engine.Audio;
using MusicGen.Verification;
using MusicGen.Tests.Support;
using Xunit.Abstractions;

namespace MusicGen.Tests.Audio;

public class ResamplerTests
{
    private readonly ITestOutputHelper _output;

    public ResamplerTests(ITestOutputHelper output) => _output = output;

    /// <summary>
    /// torchaudio 0.13.1 on the cases of golden/resample-* (resample-32k: torchaudio's defaults; resample-melody: the
    /// melody feature extractor's width 24 and rolloff 0.945). The kernel is float32 arithmetic in torchaudio's
    /// order, so only sin/cos rounding and the convolution's summation order differ: measured ≤ 3.6e-7, far
    /// inside FORMAT.md's 1e-4 + 1e-4·max|ref|.
    /// </summary>
    [Theory]
    [InlineData("resample-32k")]
    [InlineData("resample-melody")]
    public void Matches_torchaudio_on_the_golden_signals(string caseName)
    {
        using var golden = GoldenCase.Open(TestPaths.Golden(caseName));
        int width = (int)golden.Number("lowpass_filter_width", 6);
        double rolloff = golden.Number("rolloff", 0.99);
        foreach (var signal in golden.Settings.GetProperty("signals").EnumerateArray())
        {
            string name = signal.GetProperty("name").GetString()!;
            float[] expected = golden.Float(name + ".output");
            float[] actual = Resampler.Resample(golden.Float(name + ".input"),
                signal.GetProperty("orig_freq").GetInt32(), signal.GetProperty("new_freq").GetInt32(), width, rolloff);
            _output.WriteLine($"{name}: {expected.Length} samples, max error {MaxError(expected, actual):E2}");
            RandomData.AssertClose(expected, actual, 1e-6, name);
        }
    }

    /// <summary>
    /// Against torchaudio's algorithm written out literally (every tap of the full kernel, clamped arguments
    /// included, the padding, the strided convolution summed in float64) for rate pairs the golden cases lack, gcd 1
    /// included, where almost every tap lies beyond the window and is dropped by the resampler.
    /// </summary>
    [Fact]
    public void Matches_the_literal_algorithm_for_any_pair_of_rates()
    {
        Properties.ForAll(Properties.Ints((50, 1200), (50, 1200), (1, 400), (0, 1)), values =>
        {
            int from = values[0], to = values[1], length = values[2];
            (int width, double rolloff) = values[3] == 0 ? (6, 0.99) : (24, 0.945);
            float[] input = RandomData.Uniform(from * 7 + to, length);

            float[] expected = LiteralTorchaudioResample(input, from, to, width, rolloff);

            RandomData.AssertClose(expected, Resampler.Resample(input, from, to, width, rolloff), 1e-6, $"{from} -> {to} Hz, {length} samples");
        }, cases: 60);
    }

    /// <summary>
    /// A sum of three sines below half the lower rate's cutoff (rolloff · Nyquist), taken to another rate and back,
    /// is the original signal again, except for two filters' passband ripple: with 6 zero crossings of a Hann-windowed
    /// sinc, each phase's gain departs from 1 by a few 1e-3 below half the cutoff, and the errors of the tones can add
    /// up (the worst of 3000 random round trips was 5.0e-3 of the summed amplitudes). Bound: 1e-2 of the summed
    /// amplitudes, twice that. The first and last
    /// 32 periods of the lower rate are left out, where the zero padding beyond the ends enters the filter.
    /// </summary>
    [Fact]
    public void A_band_limited_signal_survives_a_round_trip_to_another_rate()
    {
        int[] common = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000];
        var rates = Gen.OneOf(Gen.Elements(common), Gen.Choose(8000, 48000));
        var cases = from a in rates
                    from b in rates
                    from seed in Gen.Choose(0, 1_000_000)
                    select (From: a, To: b, Seed: seed);
        Properties.ForAll(cases, c =>
        {
            double cutoff = 0.99 * Math.Min(c.From, c.To) / 2;
            var random = new Random(c.Seed);
            var tones = Enumerable.Range(0, 3)
                .Select(_ => (Frequency: random.NextDouble() * cutoff / 2, Amplitude: 0.1 + 0.2 * random.NextDouble(), Phase: random.NextDouble() * 2 * Math.PI))
                .ToArray();
            int length = c.From / 5;
            float[] signal = new float[length];
            for (int i = 0; i < length; i++)
                signal[i] = (float)tones.Sum(t => t.Amplitude * Math.Sin(2 * Math.PI * t.Frequency * i / c.From + t.Phase));

            float[] back = Resampler.Resample(Resampler.Resample(signal, c.From, c.To), c.To, c.From);

            Assert.True(back.Length >= length, $"{back.Length} samples back from {length}"); // each ceiling may add some
            int edge = (int)Math.Ceiling(32.0 * c.From / Math.Min(c.From, c.To));
            double bound = 1e-2 * tones.Sum(t => t.Amplitude);
            RandomData.AssertClose(signal.AsSpan(edge, length - 2 * edge), back.AsSpan(edge, length - 2 * edge), bound,
                $"{c.From} -> {c.To} -> {c.From} Hz, tones {string.Join(", ", tones.Select(t => $"{t.Frequency:F0} Hz"))}");
        }, cases: 60);
    }

    [Fact]
    public void The_output_has_ceil_length_times_the_rate_ratio_samples()
    {
        Properties.ForAll(Properties.Ints((0, 3000), (1000, 96000), (1000, 96000)), values =>
        {
            int length = values[0], from = values[1], to = values[2];
            Assert.Equal((int)Math.Ceiling((double)length * to / from), Resampler.Resample(new float[length], from, to).Length);
        }, cases: 40);
    }

    [Fact]
    public void The_same_rate_gives_a_copy_of_the_input()
    {
        float[] input = RandomData.Uniform(1, 100);

        float[] output = Resampler.Resample(input, 32000, 32000);

        Assert.Equal(input, output);
        Assert.NotSame(input, output);
    }

    [Fact]
    public void A_clip_is_resampled_channel_by_channel()
    {
        var clip = new AudioClip(44100, [RandomData.Uniform(2, 4410), RandomData.Uniform(3, 4410)]);

        AudioClip resampled = Resampler.Resample(clip, 32000, lowpassFilterWidth: 24, rolloff: 0.945);

        Assert.Equal(32000, resampled.SampleRate);
        for (int c = 0; c < 2; c++) Assert.Equal(Resampler.Resample(clip.Channels[c], 44100, 32000, 24, 0.945), resampled.Channels[c]);
        Assert.Same(clip, Resampler.Resample(clip, 44100));
    }

    [Theory]
    [InlineData(0, 32000, 6, 0.99)]
    [InlineData(44100, -1, 6, 0.99)]
    [InlineData(44100, 32000, 0, 0.99)]
    [InlineData(44100, 32000, 6, 0.0)]
    [InlineData(44100, 32000, 6, 1.5)]
    public void Rejects_rates_widths_and_rolloffs_out_of_range(int from, int to, int width, double rolloff)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Resampler.Resample(new float[10], from, to, width, rolloff));
    }

    /// <summary>
    /// torchaudio's <c>_get_sinc_resample_kernel</c> and <c>_apply_sinc_resample_kernel</c>, line by line. The kernel
    /// is float32 arithmetic, as torchaudio computes it for a float32 waveform: the difference of the two index
    /// terms cancels, so a float64 kernel would differ from torchaudio's by about 1e-5.
    /// </summary>
    private static float[] LiteralTorchaudioResample(float[] input, int fromRate, int toRate, int lowpassFilterWidth, double rolloff)
    {
        if (fromRate == toRate) return input.ToArray(); // torchaudio.functional.resample returns the waveform as it is
        int gcd = (int)System.Numerics.BigInteger.GreatestCommonDivisor(fromRate, toRate);
        int orig = fromRate / gcd, target = toRate / gcd;
        double baseFrequency = Math.Min(orig, target) * rolloff;
        int width = (int)Math.Ceiling(lowpassFilterWidth * orig / baseFrequency);
        int taps = 2 * width + orig;
        var kernel = new float[target, taps];
        for (int j = 0; j < target; j++)
            for (int k = 0; k < taps; k++)
            {
                float t = Math.Clamp((-(float)j / target + (float)(k - width) / orig) * (float)baseFrequency, -lowpassFilterWidth, lowpassFilterWidth);
                float window = MathF.Pow(MathF.Cos(t * MathF.PI / lowpassFilterWidth / 2), 2);
                t *= MathF.PI;
                kernel[j, k] = (t == 0 ? 1 : MathF.Sin(t) / t) * (window * (float)(baseFrequency / orig));
            }
        var padded = new float[input.Length + 2 * width + orig];
        input.CopyTo(padded, width);
        int blocks = (padded.Length - taps) / orig + 1;
        var output = new float[(int)Math.Ceiling((double)target * input.Length / orig)];
        for (int b = 0; b < blocks; b++)
            for (int j = 0; j < target && b * target + j < output.Length; j++)
            {
                double sum = 0;
                for (int k = 0; k < taps; k++) sum += (double)kernel[j, k] * padded[b * orig + k];
                output[b * target + j] = (float)sum;
            }
        return output;
    }

    private static double MaxError(float[] expected, float[] actual) =>
        expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).DefaultIfEmpty(0).Max();
}
