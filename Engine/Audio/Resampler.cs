using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Band-limited resampling as <c>torchaudio.functional.resample</c> does it (windowed sinc, Hann window): the
/// signal is padded with zeros on both sides and convolved with each phase of a <see cref="ResamplingKernel"/>,
/// giving ceil(length · toRate / fromRate) samples. The defaults are torchaudio's.
/// </summary>
public static class Resampler
{
    /// <summary>Output samples computed per work item: enough to amortise the scheduling, few enough to share the cores.</summary>
    private const int BlockOutputs = 16_384;

    public static float[] Resample(ReadOnlySpan<float> input, int fromRate, int toRate, int lowpassFilterWidth = 6, double rolloff = 0.99)
    {
        if (fromRate == toRate)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fromRate);
            return input.ToArray();
        }
        float[] source = input.ToArray();
        return Resample(source, new ResamplingKernel(fromRate, toRate, lowpassFilterWidth, rolloff));
    }

    /// <summary>Every channel of <paramref name="clip"/> resampled to <paramref name="toRate"/> with one kernel.</summary>
    public static AudioClip Resample(AudioClip clip, int toRate, int lowpassFilterWidth = 6, double rolloff = 0.99)
    {
        if (clip.SampleRate == toRate) return clip;
        var kernel = new ResamplingKernel(clip.SampleRate, toRate, lowpassFilterWidth, rolloff);
        return new AudioClip(toRate, Resample(clip.Channels, kernel));
    }

    public static float[] Resample(float[] input, ResamplingKernel kernel) => Resample([input], kernel)[0];

    /// <summary>Signals of any lengths through one kernel, in parallel over blocks of output of every signal.</summary>
    public static float[][] Resample(IReadOnlyList<float[]> inputs, ResamplingKernel kernel) =>
        ResampleRange(inputs, 0, kernel, 0, inputs.Select(input => kernel.OutputLength(input.Length)).ToArray());

    /// <summary>
    /// Output samples [<paramref name="outputStart"/>, outputStart + counts[s]) of signals of which
    /// <paramref name="inputs"/> hold the samples from <paramref name="inputStart"/> on: every sample those outputs
    /// read inside the signals (<see cref="InputRange"/>), the signals being zero outside. In parallel over blocks of
    /// output of every signal.
    /// </summary>
    public static float[][] ResampleRange(IReadOnlyList<float[]> inputs, long inputStart, ResamplingKernel kernel, long outputStart, IReadOnlyList<int> counts)
    {
        var outputs = new float[inputs.Count][];
        var work = new List<(int Signal, int Start)>();
        for (int s = 0; s < inputs.Count; s++)
        {
            outputs[s] = new float[counts[s]];
            for (int start = 0; start < counts[s]; start += BlockOutputs) work.Add((s, start));
        }
        Parallel.For(0, work.Count, i =>
        {
            var (signal, start) = work[i];
            float[] output = outputs[signal];
            Convolve(inputs[signal], inputStart, kernel, output.AsSpan(start, Math.Min(BlockOutputs, output.Length - start)), outputStart + start);
        });
        return outputs;
    }

    /// <summary>The input samples [first, end) that output samples [start, start + count) read (before clipping to the signal).</summary>
    public static (long First, long End) InputRange(ResamplingKernel kernel, long start, int count) =>
        (FirstInput(kernel, start), FirstInput(kernel, start + Math.Max(count, 1) - 1) + kernel.TapCount);

    /// <summary>The first input sample output <paramref name="output"/> reads; it grows with the output.</summary>
    private static long FirstInput(ResamplingKernel kernel, long output)
    {
        long block = output / kernel.Phases;
        return block * kernel.InputStride + kernel.FirstTap((int)(output - block * kernel.Phases)) - kernel.Padding;
    }

    /// <summary>
    /// Output samples [<paramref name="start"/>, start + output.Length) through <paramref name="kernel"/>, of a signal
    /// whose samples from <paramref name="inputStart"/> on are <paramref name="input"/>.
    /// </summary>
    private static void Convolve(float[] input, long inputStart, ResamplingKernel kernel, Span<float> output, long start)
    {
        for (int i = 0; i < output.Length; i++)
        {
            long o = start + i;
            output[i] = Sample(kernel.Taps((int)(o % kernel.Phases)), input, inputStart, inputStart + input.Length, FirstInput(kernel, o));
        }
    }

    /// <summary>
    /// One output sample: the dot product of <paramref name="weights"/> with the signal from <paramref name="first"/>
    /// on, reading zeros outside [0, <paramref name="signalLength"/>). <paramref name="buffer"/> holds the signal from
    /// <paramref name="bufferStart"/> on (all of it, or what a <see cref="StreamingResampler"/> still keeps).
    /// </summary>
    internal static float Sample(ReadOnlySpan<float> weights, ReadOnlySpan<float> buffer, long bufferStart, long signalLength, long first)
    {
        int taps = weights.Length;
        if (first >= 0 && first + taps <= signalLength) return TensorPrimitives.Dot(weights, buffer.Slice((int)(first - bufferStart), taps));
        int from = (int)Math.Max(0, -first), to = (int)Math.Min(taps, signalLength - first);
        return from < to ? TensorPrimitives.Dot(weights[from..to], buffer.Slice((int)(first + from - bufferStart), to - from)) : 0f;
    }
}
