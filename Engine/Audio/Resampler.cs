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
    public static float[][] Resample(IReadOnlyList<float[]> inputs, ResamplingKernel kernel)
    {
        var outputs = new float[inputs.Count][];
        var work = new List<(int Signal, int Start)>();
        for (int s = 0; s < inputs.Count; s++)
        {
            outputs[s] = new float[kernel.OutputLength(inputs[s].Length)];
            for (int start = 0; start < outputs[s].Length; start += BlockOutputs) work.Add((s, start));
        }
        Parallel.For(0, work.Count, i =>
        {
            var (signal, start) = work[i];
            float[] output = outputs[signal];
            Convolve(inputs[signal], kernel, output.AsSpan(start, Math.Min(BlockOutputs, output.Length - start)), start);
        });
        return outputs;
    }

    /// <summary>Output samples [<paramref name="start"/>, start + output.Length) of <paramref name="input"/> through <paramref name="kernel"/>.</summary>
    private static void Convolve(float[] input, ResamplingKernel kernel, Span<float> output, int start)
    {
        for (int i = 0; i < output.Length; i++)
        {
            int o = start + i, block = o / kernel.Phases, phase = o - block * kernel.Phases;
            long first = (long)block * kernel.InputStride + kernel.FirstTap(phase) - kernel.Padding;
            output[i] = Sample(kernel.Taps(phase), input, 0, input.Length, first);
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
