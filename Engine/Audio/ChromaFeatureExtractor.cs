using MusicGen.Loaders;
using MusicGen.Loaders.Configs;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Audio;

/// <summary>
/// MusicGen-Melody's melody conditioning, as transformers' <c>MusicgenMelodyFeatureExtractor</c> computes it: a batch
/// of mono waveforms, zero-padded on the right to the longest after truncation to <see cref="MaxSamples"/>, a
/// power spectrogram (<see cref="PowerSpectrogram"/>), projected on a <see cref="ChromaFilterBank"/>, normalized by
/// each frame's largest chroma value, and reduced to a one-hot of the loudest pitch class per frame.
/// The projection is summed in float64 and rounded to float32, the type of torch's result; the normalization and
/// the argmax are float32 as in torch.
/// </summary>
public sealed class ChromaFeatureExtractor
{
    /// <summary>The extractor's resampling of audio at another rate: torchaudio with a sharper, lower filter than its defaults.</summary>
    public const int ResampleFilterWidth = 24;
    public const double ResampleRolloff = 0.945;

    /// <summary>torch.nn.functional.normalize's floor for the norm, so silent frames stay zero.</summary>
    private const float NormalizationEpsilon = 1e-6f;

    private readonly PowerSpectrogram _spectrogram;
    private readonly double[] _filters;

    public int SampleRate { get; }
    public int FftSize { get; }
    public int HopLength { get; }
    /// <summary>Seconds kept of each waveform.</summary>
    public int ChunkLength { get; }
    public int NumChroma { get; }

    /// <summary>Samples kept of each waveform (transformers' n_samples): longer ones are truncated.</summary>
    public int MaxSamples => checked(ChunkLength * SampleRate);

    /// <summary>The defaults are those of the class in transformers and of facebook/musicgen-melody.</summary>
    public ChromaFeatureExtractor(int sampleRate = 32000, int fftSize = 16384, int hopLength = 4096, int chunkLength = 30, int numChroma = 12)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkLength);
        SampleRate = sampleRate;
        FftSize = fftSize;
        HopLength = hopLength;
        ChunkLength = chunkLength;
        NumChroma = numChroma;
        _spectrogram = new PowerSpectrogram(fftSize, hopLength);
        // float32 values, as torch holds them, widened once for the float64 projection.
        _filters = Array.ConvertAll(ChromaFilterBank.Create(sampleRate, fftSize, numChroma), f => (double)f);
    }

    /// <summary>
    /// The extractor of a checkpoint folder's preprocessor_config.json; settings it lacks take the class defaults, as
    /// in transformers (which also ignores the saved n_samples and recomputes it; num_chroma is not saved at all).
    /// </summary>
    public static ChromaFeatureExtractor FromFolder(string modelFolder)
    {
        string path = Path.Combine(modelFolder, "preprocessor_config.json");
        if (!File.Exists(path))
            throw new MusicGenException($"{modelFolder}: no preprocessor_config.json; a MusicGen-Melody checkpoint needs it for its chroma features");
        using var document = ConfigReader.ParseFile(path);
        var json = new ConfigReader(document.RootElement, path);
        int sampleRate = json.Int("sampling_rate", 32000, 1, ConfigLimits.SampleRate), fftSize = json.Int("n_fft", 16384, 2, 1 << 16);
        if (fftSize % 2 != 0) throw new MusicGenException($"{path}: n_fft must be even (it is {fftSize})");
        // A hop far below the FFT size multiplies the work of a melody (hop 1 would take hours), so it is bounded too.
        int hopLength = json.Int("hop_length", 4096, Math.Max(1, fftSize / 64), 1 << 20);
        return new ChromaFeatureExtractor(sampleRate, fftSize, hopLength, json.Int("chunk_length", 30, 1, 600), json.Int("num_chroma", 12, 1, 1024));
    }

    /// <summary>The one-hot chroma [B, frames, NumChroma] of mono waveforms at <see cref="SampleRate"/>.</summary>
    public int[] Extract(IReadOnlyList<float[]> waveforms, out int frames) => OneHot(NormalizedChroma(waveforms, out frames));

    /// <summary>The one-hot chroma of clips at any rate and channel count, each first made a <see cref="MonoWaveform"/>.</summary>
    public int[] Extract(IReadOnlyList<AudioClip> melodies, out int frames) => Extract(melodies.Select(MonoWaveform).ToArray(), out frames);

    /// <summary>
    /// The waveform the extractor analyses for <paramref name="melody"/>: resampled to <see cref="SampleRate"/> as the
    /// extractor does, then the mean of the channels.
    /// </summary>
    public float[] MonoWaveform(AudioClip melody) =>
        Resampler.Resample(melody, SampleRate, ResampleFilterWidth, ResampleRolloff).ToMono().Channels[0];

    /// <summary>
    /// The chroma [B, frames, NumChroma] before the one-hot: each frame's projection divided by its largest
    /// value (or by 1e-6 when that is smaller).
    /// </summary>
    public float[] NormalizedChroma(IReadOnlyList<float[]> waveforms, out int frames)
    {
        if (waveforms.Count == 0) throw new ArgumentException("the batch is empty", nameof(waveforms));
        int longest = Math.Min(waveforms.Max(w => w.Length), MaxSamples);
        // Too short for one FFT: zero-padded to n_fft, centred (the odd sample on the right).
        int length = Math.Max(longest, FftSize), offset = (length - longest) / 2;
        frames = _spectrogram.FrameCount(length);
        int frameCount = frames, bins = _spectrogram.Bins;

        float[][] centred = waveforms.Select(w =>
        {
            var padded = new float[length];
            w.AsSpan(0, Math.Min(w.Length, longest)).CopyTo(padded.AsSpan(offset));
            return _spectrogram.Centre(padded);
        }).ToArray();

        var chroma = new float[waveforms.Count * frameCount * NumChroma];
        Parallel.For(0, waveforms.Count * frameCount,
            () => (Spectrum: new double[_spectrogram.ScratchLength], Power: new double[bins]),
            (item, _, scratch) =>
            {
                int b = item / frameCount, frame = item % frameCount;
                _spectrogram.Power(centred[b], frame, scratch.Power, scratch.Spectrum);
                Span<float> target = chroma.AsSpan(item * NumChroma, NumChroma);
                for (int c = 0; c < NumChroma; c++)
                    target[c] = (float)TensorPrimitives.Dot(_filters.AsSpan(c * bins, bins), scratch.Power);
                float norm = Math.Max(TensorPrimitives.MaxMagnitude(target), NormalizationEpsilon);
                TensorPrimitives.Divide(target, norm, target);
                return scratch;
            },
            _ => { });
        return chroma;
    }

    /// <summary>1 at each frame's largest chroma value (the first of equals, so a silent frame gives bin 0), 0 elsewhere.</summary>
    public int[] OneHot(float[] chroma)
    {
        var oneHot = new int[chroma.Length];
        for (int frame = 0; frame < chroma.Length; frame += NumChroma)
        {
            int best = 0;
            for (int c = 1; c < NumChroma; c++)
                if (chroma[frame + c] > chroma[frame + best]) best = c;
            oneHot[frame + best] = 1;
        }
        return oneHot;
    }
}
