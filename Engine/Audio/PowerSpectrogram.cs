using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace MusicGen.Engine.Audio;

/// <summary>
/// <c>torchaudio.transforms.Spectrogram(n_fft, win_length=n_fft, hop_length, power=2, center=True,
/// pad_mode="reflect", normalized=True)</c>: frames every <see cref="HopLength"/> samples of the signal reflected
/// by n_fft/2 at both ends, times torch's periodic Hann window (float32), |FFT|² divided by the window's energy.
/// The window and the windowed frames are float32 as in torch; the FFT and the power are float64.
/// </summary>
public sealed class PowerSpectrogram
{
    private readonly float[] _window;
    private readonly double _inverseWindowEnergy;
    /// <summary>The FFT for power-of-two sizes; other sizes use MathNet's (several times slower).</summary>
    private readonly RealFft? _fft;

    public int FftSize { get; }
    public int HopLength { get; }

    /// <summary>Frequency bins per frame: n_fft/2 + 1.</summary>
    public int Bins => FftSize / 2 + 1;

    public PowerSpectrogram(int fftSize, int hopLength)
    {
        if (fftSize < 2 || fftSize % 2 != 0) throw new ArgumentOutOfRangeException(nameof(fftSize), fftSize, "n_fft must be even and at least 2");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hopLength);
        FftSize = fftSize;
        HopLength = hopLength;
        _window = HannWindow(fftSize);
        _fft = BitOperations.IsPow2(fftSize) ? new RealFft(fftSize) : null;
        double energy = 0;
        foreach (float w in _window) energy += (double)w * w;
        _inverseWindowEnergy = 1 / energy;
    }

    /// <summary>Frames of a signal of <paramref name="length"/> samples once centred: 1 + length / hop.</summary>
    public int FrameCount(int length) => 1 + length / HopLength;

    /// <summary>The signal padded by n_fft/2 reflected samples at each end (the edge sample is not repeated), as <c>center=True</c> does.</summary>
    public float[] Centre(ReadOnlySpan<float> signal)
    {
        int pad = FftSize / 2;
        if (signal.Length <= pad)
            throw new ArgumentException($"reflect padding by {pad} needs more than {pad} samples; the signal has {signal.Length}", nameof(signal));
        var centred = new float[signal.Length + 2 * pad];
        signal.CopyTo(centred.AsSpan(pad));
        for (int j = 1; j <= pad; j++)
        {
            centred[pad - j] = signal[j];
            centred[pad + signal.Length - 1 + j] = signal[signal.Length - 1 - j];
        }
        return centred;
    }

    /// <summary>
    /// The power of every bin of frame <paramref name="frame"/> of a <see cref="Centre"/>d signal, using
    /// <paramref name="scratch"/> (<see cref="ScratchLength"/> doubles).
    /// </summary>
    public void Power(ReadOnlySpan<float> centred, int frame, Span<double> power, double[] scratch)
    {
        ReadOnlySpan<float> samples = centred.Slice(frame * HopLength, FftSize);
        int bins = Bins;
        Span<double> windowed = scratch.AsSpan(0, FftSize + 2);
        for (int i = 0; i < FftSize; i++) windowed[i] = samples[i] * _window[i];
        if (_fft is not null)
        {
            Span<double> re = scratch.AsSpan(FftSize + 2, bins), im = scratch.AsSpan(FftSize + 2 + bins, bins);
            _fft.Forward(windowed[..FftSize], re, im, scratch.AsSpan(FftSize + 2 + 2 * bins));
            for (int k = 0; k < bins; k++) power[k] = (re[k] * re[k] + im[k] * im[k]) * _inverseWindowEnergy;
        }
        else
        {
            Fourier.ForwardReal(scratch, FftSize, FourierOptions.NoScaling); // interleaved re, im in place
            for (int k = 0; k < bins; k++) power[k] = (scratch[2 * k] * scratch[2 * k] + scratch[2 * k + 1] * scratch[2 * k + 1]) * _inverseWindowEnergy;
        }
    }

    /// <summary>Doubles of scratch <see cref="Power"/> needs.</summary>
    public int ScratchLength => FftSize + 2 + (_fft is null ? 0 : 2 * Bins + _fft.ScratchLength);

    /// <summary>
    /// torch.hann_window(n, periodic=True) in float32: 0.5 − 0.5·cos(i · (float)(2π/n)), each step rounded to
    /// float32 as torch's in-place ops do.
    /// </summary>
    private static float[] HannWindow(int length)
    {
        var window = new float[length];
        float step = (float)(2 * Math.PI / length);
        for (int i = 0; i < length; i++)
        {
            float cosine = (float)Math.Cos(i * step);
            window[i] = -0.5f * cosine + 0.5f;
        }
        return window;
    }
}
