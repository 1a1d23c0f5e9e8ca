using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// The windowed-sinc polyphase filter of <c>torchaudio.functional.resample</c> (method <c>sinc_interp_hann</c>) for
/// one pair of rates, reduced by their gcd to <see cref="InputStride"/> input samples per <see cref="Phases"/>
/// output samples. Output sample <c>b·Phases + j</c> is the dot product of phase j's taps with the input from
/// <c>b·InputStride + FirstTap(j) − Padding</c> on (zeros outside the signal).
/// </summary>
/// <remarks>
/// torchaudio builds the kernel in the waveform's dtype, so for float32 audio every step below is float32
/// arithmetic in torchaudio's order. torchaudio keeps <c>2·Padding + InputStride</c> taps per phase, almost all
/// of them beyond the filter's last zero crossing, where it clamps the argument and the Hann window makes the tap
/// about 1e-15 of the centre one; only the taps inside the window are kept here, which changes no output by more
/// than about 1e-12 and makes the cost independent of how far the gcd reduces the rates.
/// </remarks>
public sealed class ResamplingKernel
{
    private readonly float[] _taps;
    private readonly int[] _firstTap;

    /// <summary>Input samples consumed per block of output samples: the input rate divided by the gcd.</summary>
    public int InputStride { get; }

    /// <summary>Output samples per block, one per filter phase: the output rate divided by the gcd.</summary>
    public int Phases { get; }

    /// <summary>Zeros torchaudio pads before the signal (its <c>width</c>).</summary>
    public int Padding { get; }

    /// <summary>Taps stored per phase; phases with fewer taps inside the window end in zeros.</summary>
    public int TapCount { get; }

    /// <summary>The largest filter built (256 MiB): rates of real audio to the codec's rate need well under 64 MiB.</summary>
    private const long MaxKernelFloats = 1 << 26;

    public ResamplingKernel(int fromRate, int toRate, int lowpassFilterWidth = 6, double rolloff = 0.99)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fromRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(toRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lowpassFilterWidth);
        if (!(rolloff > 0 && rolloff <= 1)) throw new ArgumentOutOfRangeException(nameof(rolloff), rolloff, "the rolloff must be in (0, 1]");

        int gcd = Gcd(fromRate, toRate);
        int orig = fromRate / gcd, target = toRate / gcd;
        InputStride = orig;
        Phases = target;
        double baseFrequency = Math.Min(orig, target) * rolloff;
        // The kernel holds about 2·width·orig/base taps for each of the target phases: rates far apart and
        // coprime (a file that claims 123456789 Hz) would need gigabytes, so the size is checked before anything is built.
        double kernelFloats = (2.0 * lowpassFilterWidth * orig / baseFrequency + 5) * target;
        if (kernelFloats > MaxKernelFloats)
            throw new MusicGenException($"resampling from {fromRate} Hz to {toRate} Hz needs a filter of {kernelFloats * sizeof(float) / (1 << 20):0} MiB (at most {MaxKernelFloats * sizeof(float) >> 20} MiB); resample the audio to a common rate first");
        Padding = (int)Math.Ceiling(lowpassFilterWidth * orig / baseFrequency);
        int fullTaps = 2 * Padding + orig;

        // Torch's float32 arithmetic with double scalars: each scalar is rounded to float first.
        float base32 = (float)baseFrequency, pi32 = (float)Math.PI, width32 = lowpassFilterWidth;
        float scale32 = (float)(baseFrequency / orig);

        var ranges = new (int First, int End)[target];
        for (int j = 0; j < target; j++)
        {
            // t = base·((k − Padding)/orig − j/target) is increasing in k; estimate where |t| < width, then
            // settle the ends with the exact float32 value.
            double centre = Padding + (double)orig * j / target, reach = orig * lowpassFilterWidth / baseFrequency;
            int first = Math.Max(0, (int)Math.Floor(centre - reach) - 2), end = Math.Min(fullTaps, (int)Math.Ceiling(centre + reach) + 3);
            while (first < end && !(Math.Abs(Argument(first, j)) < width32)) first++;
            while (end > first && !(Math.Abs(Argument(end - 1, j)) < width32)) end--;
            ranges[j] = (first, end);
        }
        TapCount = Math.Max(1, ranges.Max(r => r.End - r.First));

        _taps = new float[target * TapCount];
        _firstTap = new int[target];
        for (int j = 0; j < target; j++)
        {
            _firstTap[j] = ranges[j].First;
            for (int k = ranges[j].First; k < ranges[j].End; k++)
            {
                float t = Argument(k, j);
                float window = MathF.Cos(t * pi32 / width32 / 2f);
                window *= window;
                t *= pi32;
                float sinc = t == 0f ? 1f : MathF.Sin(t) / t;
                _taps[j * TapCount + k - ranges[j].First] = sinc * (window * scale32);
            }
        }

        float Argument(int k, int j) => (-(float)j / target + (float)(k - Padding) / orig) * base32;
    }

    /// <summary>The taps of phase <paramref name="phase"/>, <see cref="TapCount"/> long.</summary>
    public ReadOnlySpan<float> Taps(int phase) => _taps.AsSpan(phase * TapCount, TapCount);

    /// <summary>The index of phase <paramref name="phase"/>'s first stored tap in torchaudio's full kernel.</summary>
    public int FirstTap(int phase) => _firstTap[phase];

    /// <summary>torchaudio's output length for <paramref name="inputLength"/> samples: ceil(length · Phases / InputStride).</summary>
    public long OutputLength(long inputLength) => (inputLength * Phases + InputStride - 1) / InputStride;

    /// <summary>The same for a signal held whole, which must fit in one array.</summary>
    public int OutputLength(int inputLength)
    {
        long length = OutputLength((long)inputLength);
        return length <= Array.MaxLength
            ? (int)length
            : throw new MusicGenException($"{inputLength} samples resampled by {Phases}/{InputStride} would be {length} samples, more than one signal can hold");
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}
