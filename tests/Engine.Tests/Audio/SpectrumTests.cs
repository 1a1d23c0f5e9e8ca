using MusicGen.Engine.Audio;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Audio;

/// <summary>The FFT and the spectrogram of the chroma features, against the definitions evaluated term by term.</summary>
public class SpectrumTests
{
    [Fact]
    public void The_real_FFT_is_the_discrete_Fourier_transform()
    {
        Properties.ForAll(Properties.Ints((1, 11), (0, 10_000)), values =>
        {
            int n = 1 << values[0];
            double[] signal = Array.ConvertAll(RandomData.Uniform(values[1], n), v => (double)v);
            var fft = new RealFft(n);
            double[] re = new double[n / 2 + 1], im = new double[n / 2 + 1];

            fft.Forward(signal, re, im, new double[fft.ScratchLength]);

            for (int k = 0; k <= n / 2; k++)
            {
                var (expectedRe, expectedIm) = Dft(signal, k);
                // float64 rounding grows like log2(n) in the FFT and like n in the direct sums it is checked against.
                Assert.True(Math.Abs(re[k] - expectedRe) < 1e-12 * n && Math.Abs(im[k] - expectedIm) < 1e-12 * n,
                    $"n {n} bin {k}: ({re[k]}, {im[k]}) instead of ({expectedRe}, {expectedIm})");
            }
        }, cases: 40);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(12)]
    public void The_FFT_refuses_lengths_that_are_not_powers_of_two(int length)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RealFft(length));
    }

    /// <summary>
    /// torchaudio's spectrogram written out: reflect-pad n/2, frames every hop, periodic Hann window, |DFT|² / Σw².
    /// n = 64 goes through the FFT above, n = 48 through MathNet's.
    /// </summary>
    [Theory]
    [InlineData(64, 16, 200)]
    [InlineData(48, 10, 97)]
    public void The_spectrogram_is_torchaudios_definition(int n, int hop, int length)
    {
        float[] signal = RandomData.Uniform(n + length, length);
        var spectrogram = new PowerSpectrogram(n, hop);
        float[] centred = spectrogram.Centre(signal);
        var power = new double[spectrogram.Bins];
        var scratch = new double[spectrogram.ScratchLength];
        float[] window = [.. Enumerable.Range(0, n).Select(i => (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * i / n)))];
        double energy = window.Sum(w => (double)w * w);

        Assert.Equal(1 + length / hop, spectrogram.FrameCount(length));
        for (int frame = 0; frame < spectrogram.FrameCount(length); frame++)
        {
            spectrogram.Power(centred, frame, power, scratch);
            double[] windowed = [.. Enumerable.Range(0, n).Select(i => (double)Reflected(signal, frame * hop + i - n / 2) * window[i])];
            for (int k = 0; k < spectrogram.Bins; k++)
            {
                var (re, im) = Dft(windowed, k);
                double expected = (re * re + im * im) / energy;
                Assert.True(Math.Abs(power[k] - expected) <= 1e-6 * (1 + expected), $"frame {frame} bin {k}: {power[k]} instead of {expected}");
            }
        }
    }

    [Fact]
    public void Centring_needs_more_samples_than_half_a_frame()
    {
        Assert.Throws<ArgumentException>(() => new PowerSpectrogram(64, 16).Centre(new float[32]));
    }

    /// <summary>Sample <paramref name="i"/> of the signal reflected about its first and last samples.</summary>
    private static float Reflected(float[] signal, int i) =>
        signal[i < 0 ? -i : i >= signal.Length ? 2 * (signal.Length - 1) - i : i];

    private static (double Re, double Im) Dft(double[] signal, int k)
    {
        double re = 0, im = 0;
        for (int t = 0; t < signal.Length; t++)
        {
            double angle = -2 * Math.PI * ((long)k * t % signal.Length) / signal.Length;
            re += signal[t] * Math.Cos(angle);
            im += signal[t] * Math.Sin(angle);
        }
        return (re, im);
    }
}
